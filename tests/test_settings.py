"""Settings files and options: pydantic models, one clear error naming source, key, value."""

from __future__ import annotations

from pathlib import Path

import pytest

from recctl.botify.main import main as botify_main
from recctl.botify.settings import Limits, ServiceSettings
from recctl.errors import RecctlError
from recctl.sim.user_model import UserModel, load_user_model, user_model_from_mapping
from recctl.sim.world import WorldParams
from recctl.sim.world_io import load_world_params
from recctl.train.config import TrainConfig, load_train_config


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_files_match_the_models_defaults() -> None:
    # The code's defaults and config/*.yml say the same thing, so neither drifts unseen.
    assert load_train_config() == TrainConfig()
    assert load_user_model() == UserModel()
    assert load_world_params() == WorldParams()


def test_one_problem_is_one_line_with_file_key_and_value(tmp_path: Path) -> None:
    path = _write(tmp_path, "train.yml", "dssm:\n  dim: 0\n")
    with pytest.raises(RecctlError) as caught:
        load_train_config(path)
    message = caught.value.message
    assert "\n" not in message
    assert message.startswith(f"{path}: dssm.dim:") and "(got 0)" in message
    assert caught.value.hint


def test_unknown_keys_list_the_known_ones(tmp_path: Path) -> None:
    path = _write(tmp_path, "train.yml", "dssm:\n  epoch: 2\ni2i:\n  windw: 3\n")
    with pytest.raises(RecctlError) as caught:
        load_train_config(path)
    lines = caught.value.message.splitlines()
    assert lines[0] == f"{path}: invalid training config"
    assert any(line.strip().startswith("dssm.epoch: unknown key") and "epochs" in line
               for line in lines)
    assert any(line.strip().startswith("i2i.windw: unknown key") and "window" in line
               for line in lines)


def test_values_are_checked_not_coerced(tmp_path: Path) -> None:
    # The old validators truncated 2.5 to 2 and took 1 for true; a model refuses both.
    with pytest.raises(RecctlError, match=r"session_budget: .*\(got 2.5\)"):
        user_model_from_mapping({"session_budget": 2.5})
    with pytest.raises(RecctlError, match=r"lfm.enabled: .*\(got 1\)"):
        load_train_config(overrides={"lfm": {"enabled": 1}})
    assert load_train_config(overrides={"dssm": {"learning_rate": 1}}).dssm.learning_rate == 1.0


def test_a_section_of_another_file_is_named_with_its_prefix() -> None:
    with pytest.raises(RecctlError) as caught:
        load_train_config(overrides={"dssm": {"epochs": -1}}, source="boot.yml", prefix="train")
    assert caught.value.message.startswith("boot.yml: train.dssm.epochs:")
    with pytest.raises(RecctlError, match=r"^boot.yml: world.tracks:"):
        load_world_params(None, source="boot.yml", prefix="world", tracks=2)


def test_world_parameter_files(tmp_path: Path) -> None:
    backwards = _write(tmp_path, "world.yml", "consume_bias_range: [5, 1]\n")
    with pytest.raises(RecctlError, match="consume_bias_range: must be .low, high."):
        load_world_params(backwards)
    with pytest.raises(RecctlError, match="not found"):
        load_world_params(tmp_path / "missing.yml")  # named but absent: not the defaults
    twice = _write(tmp_path, "twice.yml", "tracks: 10\nusers: 5\ntracks: 20\n")
    with pytest.raises(RecctlError, match="line 3: key 'tracks' appears twice"):
        load_world_params(twice)


def test_replica_variables_are_named_in_errors() -> None:
    with pytest.raises(RecctlError) as caught:
        ServiceSettings.from_environ({"RECCTL_EXPERIMENT": "x.yml", "RECCTL_PORT": "http"})
    assert caught.value.message.startswith("environment: RECCTL_PORT:")
    assert "'http'" in caught.value.message
    # An empty variable is unset: the default applies.
    assert Limits.from_environ({"RECCTL_REDIS_POOL": ""}).redis_pool == Limits().redis_pool
    settings = ServiceSettings.from_environ({"RECCTL_EXPERIMENT": "x.yml", "RECCTL_PORT": "5003",
                                             "RECCTL_SEED": "7"})
    assert (settings.port, settings.seed, settings.experiment) == (5003, 7, Path("x.yml"))


def test_replica_entry_prints_one_error_and_exits_1(tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as done:
        botify_main(["--experiment", str(tmp_path / "x.yml"), "--port", "70000"])
    assert done.value.code == 1
    err = capsys.readouterr().err
    assert err.splitlines()[0].startswith("Error: options: --port: ")
    assert "hint: " in err and "Traceback" not in err
