from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from recctl.artifacts import ArtifactSet
from recctl.cli.main import app
from recctl.errors import RecctlError


def test_train_command_writes_artifacts(synthetic_logs: Path, tmp_path: Path) -> None:
    config = tmp_path / "fast.yml"
    config.write_text("dssm:\n  epochs: 2\nevaluation:\n  holdout_fraction: 0.1\n")
    result = CliRunner().invoke(
        app,
        [
            "train",
            str(synthetic_logs),
            "--out",
            str(tmp_path / "a"),
            "--seed",
            "1",
            "--config",
            str(config),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "artifacts written" in result.output
    assert ArtifactSet(tmp_path / "a").manifest["parameters"]["dssm"]["epochs"] == 2


def test_train_command_raises_recctl_error_for_the_boundary(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["train", str(tmp_path / "nope"), "--out", str(tmp_path / "a")]
    )
    assert isinstance(result.exception, RecctlError)
    assert "does not exist" in result.exception.message


def test_bad_training_config_key_is_an_error(synthetic_logs: Path, tmp_path: Path) -> None:
    config = tmp_path / "bad.yml"
    config.write_text("dssm:\n  epoch: 2\n")
    result = CliRunner().invoke(
        app, ["train", str(synthetic_logs), "--out", str(tmp_path / "a"), "--config", str(config)]
    )
    assert isinstance(result.exception, RecctlError)
    assert "epoch" in result.exception.message
