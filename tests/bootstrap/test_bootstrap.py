from __future__ import annotations

import shutil
from pathlib import Path

import orjson
import pytest
import yaml
from rich.console import Console

from recctl.artifacts import ArtifactSet
from recctl.bootstrap import ab_experiment, bootstrap, load_bootstrap_config
from recctl.bootstrap.build import build_key
from recctl.bootstrap.config import default_ab_arms, default_arms
from recctl.errors import RecctlError
from recctl.paths import config_dir

USER_CLASS = {"type": "bootstrap_user_recs:FreshI2I", "fallback": {"type": "top_pop"}}
SMALL = dict(
    world={"tracks": 3000, "users": 400, "genres": 8},
    cold_start_episodes=3000,
    days=1,
    episodes_per_day=2000,
    ab_episodes=2000,
    train={"dssm": {"epochs": 4}},
    # The day loop and the A/B serve a user's own class too, in-process.
    arms={**default_arms(0.7), "fresh": USER_CLASS},
    arm_shares={"random": 0.1, "dssm": 0.2, "i2i": 0.2, "contextual_mod": 0.3, "fresh": 0.2},
    ab_arms={**default_ab_arms(0.7), "fresh": USER_CLASS},
)


def _quiet() -> Console:
    return Console(file=open("/dev/null", "w"))  # noqa: SIM115


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("boot") / "data"
    bootstrap(out, seed=4, config=load_bootstrap_config(**SMALL), console=_quiet())
    return out


def test_bootstrap_lays_out_world_logs_artifacts_and_manifest(built: Path) -> None:
    assert (built / "world" / "tracks.json").is_file()
    assert sorted(p.parent.name for p in (built / "logs").rglob("data.json")) == [
        "day-000",
        "day-001",
    ]
    art = ArtifactSet(built / "artifacts")
    assert {"tracks", "top_tracks", "i2i", "i2i_diverse", "dssm", "lfm"} <= set(art.names())
    assert len(list(art.tracks())) == 3000
    manifest = orjson.loads((built / "manifest.json").read_bytes())
    ab = manifest["in_process_ab"]
    # Trained recommenders beat random in the simulated world.
    assert ab["contextual_mod"]["session_time"] > ab["random"]["session_time"]
    assert ab["dssm"]["session_time"] > ab["random"]["session_time"]
    assert [d["day"] for d in manifest["days"]] == [0, 1]
    assert manifest["environment"]["blas"], "the BLAS kernel decides the models' last bits"
    assert set(manifest["days"][1]["session_time"]) == {"random", "dssm", "i2i",
                                                        "contextual_mod", "fresh"}
    assert ab["fresh"]["session_time"] > ab["random"]["session_time"]
    assert ab["lfm"]["session_time"] > ab["random"]["session_time"]
    # LFM serves no arm of the loop, so it is fitted on the last day only: yesterday's
    # models, scored on day 1, hold none.
    assert "lfm" not in {row["artifact"] for row in manifest["days"][1]["evaluation"]}


def test_an_experiments_arms_with_a_user_class_ab_tested_in_process(built: Path,
                                                                     tmp_path: Path) -> None:
    path = tmp_path / "exp.yml"
    path.write_text(yaml.safe_dump({
        "name": "fresh_vs_dssm", "data": str(built),
        "arms": {"C": {"type": "indexed", "params": {"artifact": "dssm"},
                       "fallback": {"type": "top_pop"}},
                 "T1": USER_CLASS},
        "simulation": {"episodes": 500, "seed": 3}}))
    first = ab_experiment(path)
    assert set(first) == {"C", "T1"}
    assert first["T1"]["session_time"] > 0 and first["C"]["steps"] >= 1
    assert ab_experiment(path) == first  # deterministic for the file's seed
    assert ab_experiment(path, seed=4) != first


def _outputs(folder: Path) -> dict[str, bytes]:
    """Every artifact (its manifest aside: it holds the A/B) and every log, by path."""
    files = [*(folder / "artifacts").glob("*.json"), *(folder / "logs").rglob("data.json")]
    return {str(f.relative_to(folder)): f.read_bytes() for f in files
            if f.name != "manifest.json"}


def test_a_complete_folder_is_reused_and_a_changed_config_rebuilds(
        built: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = _outputs(built)
    again = bootstrap(built, seed=4, config=load_bootstrap_config(**SMALL), console=_quiet())
    assert again.reused
    # The lists' top-k runs on threads: one thread must give the same bytes.
    monkeypatch.setattr("recctl.topk.THREADS", 1)
    other = bootstrap(
        built,
        seed=4,
        config=load_bootstrap_config(**{**SMALL, "ab_episodes": 500}),
        console=_quiet(),
    )
    assert not other.reused
    # Same seed and traffic parameters: the same artifacts and logs (the A/B size changes
    # no training; the second thread fitting LFM and scoring the days changes nothing).
    after = _outputs(built)
    assert {"artifacts/dssm.json", "artifacts/lfm.json", "logs/day-001/data.json"} <= set(after)
    assert after == before
    assert (
        orjson.loads((built / "manifest.json").read_bytes())["config"]["loop"]["ab_episodes"] == 500
    )


def test_bootstrap_refuses_a_folder_with_foreign_files(tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("keep me")
    with pytest.raises(RecctlError, match="did not write"):
        bootstrap(tmp_path, config=load_bootstrap_config(**SMALL), console=_quiet())
    assert (tmp_path / "mine.txt").is_file()


def test_bad_bootstrap_config_names_the_key() -> None:
    with pytest.raises(RecctlError, match="unknown key"):
        load_bootstrap_config(episodes_per_dya=3)
    with pytest.raises(RecctlError, match=r": arm_shares: must give a share >= 0 .* random, dssm"):
        load_bootstrap_config(arm_shares={"random": 1.0})
    with pytest.raises(RecctlError, match=r"arms\.x\.fallback\.type: unknown recommender"):
        load_bootstrap_config(arms={"x": {"type": "random", "fallback": {"type": "nope"}}})
    with pytest.raises(RecctlError, match=r"ab_arms\.y\.params\.k: .* \(got 0\)"):
        load_bootstrap_config(ab_arms={"y": {"type": "top_pop", "params": {"k": 0}}})
    with pytest.raises(RecctlError, match=r"arms\.z\.params\.kk: unknown parameter.*artifact, k\)"):
        load_bootstrap_config(arms={"z": {"type": "top_pop", "params": {"kk": 5}}})
    with pytest.raises(RecctlError, match="explore"):
        load_bootstrap_config(explore=2)


def test_bootstrap_file_is_read_like_every_settings_file(tmp_path: Path) -> None:
    # A key given twice is refused (plain YAML would keep the last one silently), the
    # file's own name is in every error, and a missing file says so.
    twice = tmp_path / "twice.yml"
    twice.write_text("days: 1\nexplore: 0.2\ndays: 2\n")
    with pytest.raises(RecctlError, match=r"twice\.yml: line 3: key 'days' appears twice"):
        load_bootstrap_config(twice)
    bad = tmp_path / "bad.yml"
    bad.write_text("explore: 2\n")
    with pytest.raises(RecctlError, match=r"bad\.yml: explore: .* \(got 2\)"):
        load_bootstrap_config(bad)
    with pytest.raises(RecctlError, match="not found"):
        load_bootstrap_config(tmp_path / "missing.yml")


def test_a_changed_shipped_default_changes_the_build_key(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A folder built before a default moved (in config/*.yml or in the code) must not be
    # reused: the key covers the settings the file resolves to, not only the file.
    config = load_bootstrap_config(**SMALL)
    before = build_key(4, config)
    shipped = config_dir()
    copy = tmp_path / "config"
    shutil.copytree(shipped, copy)
    world_yml = copy / "world.yml"
    world_yml.write_text(world_yml.read_text().replace("sound_norm: 3.9", "sound_norm: 2.0"))
    monkeypatch.setattr("recctl.paths.config_dir", lambda: copy)
    assert build_key(4, config) != before
    monkeypatch.setattr("recctl.paths.config_dir", lambda: shipped)
    assert build_key(4, config) == before


def test_a_folder_built_before_a_default_moved_is_reported_with_its_rebuild_command(
        built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `recctl run` and `up` reuse an existing folder; when a shipped default has moved
    # since it was built, they say so and how to rebuild it, seed included.
    from recctl.bootstrap.build import outdated
    from recctl.workflow import warn_if_outdated

    assert outdated(built) is None
    assert outdated(tmp_path) is None  # not a bootstrap folder: nothing to say
    copy = tmp_path / "config"
    shutil.copytree(config_dir(), copy)
    train_yml = copy / "train.yml"
    train_yml.write_text(train_yml.read_text().replace("  k: 3 ", "  k: 7 ", 1))
    monkeypatch.setattr("recctl.paths.config_dir", lambda: copy)
    assert outdated(built) == 4
    console = Console(record=True, width=400, file=open("/dev/null", "w"))  # noqa: SIM115
    warn_if_outdated(built, console)
    said = console.export_text()
    assert f"recctl bootstrap --out {built} --seed 4" in said
    assert "config/train.yml" in said
