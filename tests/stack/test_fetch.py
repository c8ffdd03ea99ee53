"""log2local: fetch copies every replica's log, rotated files too; it never loses data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recctl.eventlog import dumps_event, make_event
from recctl.stack.base import ReplicaInfo, RunState
from recctl.stack.fetch import fetch_run
from recctl.stack.local_runtime import LocalRuntime


def lines(count: int, start: int = 0) -> bytes:
    return b"".join(
        dumps_event(make_event("next", 1_000_000 + i, i % 7, i, 0.5, 0.001, i + 1, {"E": "C"}))
        for i in range(start, start + count)
    )


@pytest.fixture()
def state(tmp_path: Path) -> RunState:
    replicas = []
    for name, files in {"replica-1": {"data.json": 3, "data.json.1": 5},
                        "replica-2": {"data.json": 4}}.items():
        log_dir = tmp_path / "run" / name / "logs"
        log_dir.mkdir(parents=True)
        for file, count in files.items():
            (log_dir / file).write_bytes(lines(count))
        replicas.append(ReplicaInfo(name=name, log_dir=str(log_dir)))
    experiment_file = tmp_path / "exp.yml"
    experiment_file.write_text("name: E\n")
    return RunState(experiment="E", run_id="r1", runtime="local",
                    experiment_file=str(experiment_file), config_hash="abc", seed=5,
                    run_dir=str(tmp_path / "run"), replicas=replicas)


def test_fetch_copies_every_file_with_a_manifest(state: RunState, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    result = fetch_run(state, LocalRuntime(), cache)
    dest = cache / "E" / "r1"
    assert result.dest == dest
    assert sorted(p.name for p in (dest / "replica-1").iterdir()) == ["data.json", "data.json.1"]
    manifest = json.loads((dest / "manifest.json").read_text())
    assert manifest["seed"] == 5 and manifest["config_hash"] == "abc"
    assert manifest["replicas"]["replica-1"]["lines"] == 8
    assert manifest["replicas"]["replica-2"]["files"]["data.json"]["lines"] == 4
    assert manifest["lines"] == result.lines == 12
    assert (dest / "experiment.yml").read_text() == "name: E\n"


def test_fetch_is_idempotent_and_picks_up_appends(state: RunState, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    fetch_run(state, LocalRuntime(), cache)
    again = fetch_run(state, LocalRuntime(), cache)
    assert again.copied == [] and len(again.unchanged) == 3 and again.lines == 12

    log = Path(state.replicas[1].log_dir) / "data.json"
    log.write_bytes(log.read_bytes() + lines(2, start=100))
    grown = fetch_run(state, LocalRuntime(), cache)
    assert grown.copied == ["replica-2/data.json"]
    assert grown.lines == 14


def test_fetch_never_overwrites_different_data(state: RunState, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    fetch_run(state, LocalRuntime(), cache)
    first = (cache / "E" / "r1" / "replica-2" / "data.json").read_bytes()
    # The replica's log rotated: data.json now holds other lines.
    (Path(state.replicas[1].log_dir) / "data.json").write_bytes(lines(2, start=500))
    result = fetch_run(state, LocalRuntime(), cache)
    assert result.conflicts == ["replica-2/data.json"]
    assert (cache / "E" / "r1" / "replica-2" / "data.json").read_bytes() == first
    aside = list((cache / "E" / "r1" / "conflicts").rglob("data.json"))
    assert len(aside) == 1 and aside[0].read_bytes() == lines(2, start=500)


def test_fetch_does_not_follow_symlinks(state: RunState, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("not a log")
    (Path(state.replicas[0].log_dir) / "data.json.2").symlink_to(secret)
    result = fetch_run(state, LocalRuntime(), tmp_path / "cache")
    assert "replica-1/data.json.2" not in result.copied
    assert not (tmp_path / "cache" / "E" / "r1" / "replica-1" / "data.json.2").exists()


def test_fetch_records_lines_lost_to_rotation_from_the_sidecar(state: RunState,
                                                               tmp_path: Path) -> None:
    log_dir = Path(state.replicas[0].log_dir or "")
    (log_dir / "data.json.stats").write_text(json.dumps(
        {"lines_written": 20, "lines_dropped": 12, "files_dropped": 1}))
    (log_dir / "data.json.stats.tmp").write_text("{}")  # a sidecar being rewritten
    result = fetch_run(state, LocalRuntime(), tmp_path / "cache")
    manifest = json.loads((result.dest / "manifest.json").read_text())
    one = manifest["replicas"]["replica-1"]
    assert one["lines_dropped"] == 12 and one["lines"] == 8  # the sidecar is not a log
    assert set(one["files"]) == {"data.json", "data.json.1"}
    assert manifest["replicas"]["replica-2"]["lines_dropped"] == 0
    assert result.lines == 12 and result.lines_dropped == {"replica-1": 12, "replica-2": 0}
    assert len(result.warnings()) == 1 and "replica-1: 12 logged line(s)" in result.warnings()[0]
    assert not (result.dest / "replica-1" / "data.json.stats.tmp").exists()


def test_fetch_keeps_the_simulation_summary_and_the_report_block(
        state: RunState, tmp_path: Path, small_artifacts: Path) -> None:
    from local_fixtures import write_experiment

    state.experiment_file = str(write_experiment(tmp_path, "E", small_artifacts,
                                                 report={"alpha": 0.01, "control": "C"}))
    state.path.mkdir(parents=True, exist_ok=True)
    summary = {"episodes": 3, "failed_episodes": 0, "acked_requests": 12,
               "acked_by_replica": {"replica-1": 8, "replica-2": 4}, "max_failed_fraction": 0.01}
    (state.path / "simulation.json").write_text(json.dumps(summary))
    result = fetch_run(state, LocalRuntime(), tmp_path / "cache")
    manifest = json.loads((result.dest / "manifest.json").read_text())
    assert manifest["simulation"] == summary
    assert manifest["report"]["alpha"] == 0.01 and manifest["report"]["correction"] == "holm"


def test_an_interrupted_simulate_marks_the_fetched_run(state: RunState, tmp_path: Path) -> None:
    state.path.mkdir(parents=True, exist_ok=True)
    (state.path / "simulation.json").write_text('{"seed": 5, "interrupted": true}')
    result = fetch_run(state, LocalRuntime(), tmp_path / "cache")
    assert json.loads((result.dest / "manifest.json").read_text())["interrupted"] is True


def test_a_replica_that_cannot_be_reached_does_not_stop_the_others(
        state: RunState, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    fetch_run(state, LocalRuntime(), cache)  # a first fetch got replica-2's 4 lines
    gone = Path(state.replicas[1].log_dir)
    for path in gone.iterdir():
        path.unlink()
    gone.rmdir()
    (Path(state.replicas[0].log_dir) / "data.json").write_bytes(lines(6))  # grew 3 -> 6
    result = fetch_run(state, LocalRuntime(), cache)
    assert list(result.unreachable) == ["replica-2"]
    assert "log folder" in result.unreachable["replica-2"]
    assert result.copied == ["replica-1/data.json"]  # the reachable one was still fetched
    assert result.lines == 6 + 5 + 4  # and the earlier copy of the lost one is kept
    manifest = json.loads((result.dest / "manifest.json").read_text())
    assert manifest["replicas"]["replica-2"]["lines"] == 4
    assert "log folder" in manifest["replicas"]["replica-2"]["unreachable"]
    assert "unreachable" not in manifest["replicas"]["replica-1"]
    assert any(w.startswith("replica-2: its logs could not be fetched")
               for w in result.warnings())
