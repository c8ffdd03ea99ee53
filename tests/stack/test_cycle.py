"""The whole local cycle on a small world: run, and a replica killed mid-simulation."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest
from local_fixtures import build_small_world, write_experiment
from rich.console import Console
from typer.testing import CliRunner

from recctl.cli.main import app
from recctl.errors import RecctlError
from recctl.eventlog import read_events
from recctl.spec import load_experiment
from recctl.stack.fetch import fetch_run
from recctl.stack.lifecycle import stack_down, stack_up
from recctl.stack.runs import runtime_for
from recctl.workflow import simulate

QUIET = Console(file=open(os.devnull, "w"))  # noqa: SIM115


@pytest.fixture(scope="module")
def small_world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A 2,000-track world and artifacts over its catalog (plumbing, not quality)."""
    return build_small_world(tmp_path_factory.mktemp("data"))


def test_run_end_to_end(tmp_path: Path, small_world: tuple[Path, Path], workspace: Path) -> None:
    world, artifacts = small_world
    path = write_experiment(tmp_path, "cycle", artifacts, world=str(world),
                            simulation={"episodes": 400, "seed": 11, "concurrency": 16})
    result = CliRunner().invoke(app, ["run", str(path)])
    assert result.exit_code == 0, result.output
    assert "mean_time_per_session" in result.output
    cache_runs = list((workspace / "cache" / "cycle").iterdir())
    assert len(cache_runs) == 1
    manifest = json.loads((cache_runs[0] / "manifest.json").read_text())
    assert manifest["seed"] == 11 and manifest["simulation"]["failed_episodes"] == 0
    # Every acknowledged request is one line in the fetched logs, across both replicas.
    assert manifest["lines"] == manifest["simulation"]["acked_requests"]
    assert set(manifest["replicas"]) == {"replica-1", "replica-2"}
    # The simulator's own per-episode view travels with the logs.
    import pandas as pd

    episodes = pd.read_csv(cache_runs[0] / "episodes.csv")
    assert len(episodes) == 400 and not episodes["failed"].any()
    assert episodes["steps"].sum() == manifest["simulation"]["acked_requests"] - 400
    assert all(r["lines"] > 0 and r["lines_dropped"] == 0
               for r in manifest["replicas"].values())
    # Acknowledgements per replica (x-botify-replica) are that replica's lines.
    assert manifest["simulation"]["acked_by_replica"] == {
        name: r["lines"] for name, r in manifest["replicas"].items()}
    assert manifest["report"]["primary_metric"] == "mean_time_per_session"
    report = workspace / "reports" / "cycle" / cache_runs[0].name
    assert {"report.md", "report.json", "effects.png", "manifest.json"} <= {
        p.name for p in report.iterdir()}
    written = json.loads((report / "report.json").read_text())
    assert written["valid"] is True and written["invalid_reasons"] == []
    assert written["reconciliation"]["total"]["read"] == manifest["lines"]
    assert "Verdict valid" in (report / "report.md").read_text()
    # The stack is gone.
    status = CliRunner().invoke(app, ["status", str(path)])
    assert "running" not in status.output.replace("not running", "")


def test_a_fetch_that_cannot_write_keeps_the_stack_and_its_logs(
        tmp_path: Path, small_world: tuple[Path, Path], workspace: Path) -> None:
    """`recctl run` whose fetch fails (here a file where the cache folder should be; a
    full disk alike) must not run `down`, which takes a Docker or Ray replica's logs with
    it: it says so, and a later `fetch` gets every acknowledged request."""
    world, artifacts = small_world
    path = write_experiment(tmp_path, "keptlogs", artifacts, world=str(world),
                            simulation={"episodes": 200, "seed": 11, "concurrency": 8})
    in_the_way = workspace / "cache" / "keptlogs"
    in_the_way.parent.mkdir()
    in_the_way.write_text("not a folder")
    result = CliRunner().invoke(app, ["run", str(path)])
    # The error reaches the console script's boundary (exit 1, the message and its hint).
    assert isinstance(result.exception, RecctlError), result.output
    assert f"cannot create {in_the_way}" in result.exception.message
    assert "`recctl fetch` again" in (result.exception.hint or "")
    assert "stopped but kept" in " ".join(result.output.split())
    state = json.loads(next((workspace / ".recctl" / "runs" / "keptlogs").glob(
        "*/state.json")).read_text())
    assert state["stopped"] is False
    in_the_way.unlink()
    fetched = CliRunner().invoke(app, ["fetch", str(path)])
    assert fetched.exit_code == 0, fetched.output
    manifest = json.loads(next(in_the_way.iterdir()).joinpath("manifest.json").read_text())
    assert manifest["lines"] == manifest["simulation"]["acked_requests"] > 0
    report = CliRunner().invoke(app, ["report", str(path)])
    assert report.exit_code == 0 and "Verdict valid" in report.output, report.output
    down = CliRunner().invoke(app, ["down", str(path)])
    assert down.exit_code == 0, down.output


@pytest.mark.parametrize("balancer", ["client", "nginx"])
def test_killed_replica_mid_simulation(tmp_path: Path, small_world: tuple[Path, Path],
                                       workspace: Path, balancer: str) -> None:
    from recctl.stack.nginx import find_nginx

    if balancer == "nginx" and find_nginx() is None:
        pytest.skip("nginx is not installed")
    world, artifacts = small_world
    path = write_experiment(tmp_path, f"kill_{balancer}", artifacts, world=str(world),
                            stack={"balancer": balancer},
                            simulation={"episodes": 1500, "seed": 5, "concurrency": 16})
    loaded = load_experiment(path)
    state = stack_up(loaded, QUIET)
    victim = state.replicas[0]
    log = Path(victim.log_dir) / "data.json"

    def kill_when_busy() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if log.exists() and log.stat().st_size > 50_000:
                os.killpg(victim.pid, signal.SIGKILL)
                return
            time.sleep(0.01)

    killer = threading.Thread(target=kill_when_busy)
    killer.start()
    try:
        summary = simulate(loaded, state, QUIET)
        killer.join()
        runtime = runtime_for("local")
        runtime.quiesce(state)
        fetched = fetch_run(state, runtime, workspace / "cache")
    finally:
        stack_down(loaded.spec.name)
    assert summary["failed_episodes"] == 0
    assert summary["episodes"] == 1500
    events, read = read_events([fetched.dest])
    by_replica = events.groupby("replica").size().to_dict()
    assert by_replica.get("replica-2", 0) > 0 and by_replica.get("replica-1", 0) > 0
    # The crash lost nothing that was acknowledged, and nothing is counted twice: a
    # request logged by the victim just before it died and answered by the other replica
    # is one event.
    assert len(events) == summary["acked_requests"]
    assert fetched.lines == len(events) + read.duplicates
    # Each session closed exactly once, wherever its `last` was logged (and re-logged).
    assert int((events["message"] == "last").sum()) == 1500


def test_same_seed_same_run_through_the_service(tmp_path: Path, small_world: tuple[Path, Path],
                                                workspace: Path) -> None:
    """One seed fixes the whole run: users, sessions, the service's random choices and
    the per-user state, whatever the concurrency and however nginx spreads requests."""
    world, artifacts = small_world
    runs = []
    for concurrency in (24, 3):
        folder = tmp_path / f"c{concurrency}"
        folder.mkdir()
        # The same experiment name (the hash key): users land in the same arms.
        name = "repro"
        path = write_experiment(folder, name, artifacts, world=str(world),
                                simulation={"episodes": 300, "seed": 8,
                                            "concurrency": concurrency})
        loaded = load_experiment(path)
        state = stack_up(loaded, QUIET)
        try:
            simulate(loaded, state, QUIET)
            runtime = runtime_for("local")
            runtime.quiesce(state)
            fetched = fetch_run(state, runtime, workspace / "cache")
        finally:
            stack_down(name)
        events, _ = read_events([fetched.dest])
        events["session"] = events["session"].astype(str)
        events = events.sort_values(["session", "timestamp_us"])
        runs.append(events[["session", "message", "user", "track", "time",
                            "recommendation"]].reset_index(drop=True))
    first, second = runs
    assert len(first) > 300
    # Every session's tracks, listen times and recommendations are the same.
    assert first.astype(str).equals(second.astype(str))


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_during_run_tears_down_and_keeps_the_logs(
        tmp_path: Path, small_world: tuple[Path, Path], workspace: Path, sig: int) -> None:
    """Ctrl-C, and SIGTERM (`timeout`, a cancelled CI job) the same way: before, SIGTERM
    killed `recctl run` outright and left the whole stack running."""
    import subprocess
    import sys

    world, artifacts = small_world
    path = write_experiment(tmp_path, "interrupted", artifacts, world=str(world),
                            simulation={"episodes": 50_000, "seed": 2, "concurrency": 8})
    env = {**os.environ, "RECCTL_HOME": str(workspace)}
    process = subprocess.Popen([sys.executable, "-m", "recctl", "run", str(path)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    runs = workspace / ".recctl" / "runs" / "interrupted"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # wait until the users are listening
        logs = list(runs.glob("*/replicas/*/logs/data.json"))
        if logs and sum(p.stat().st_size for p in logs) > 20_000:
            break
        time.sleep(0.05)
    else:
        process.kill()
        pytest.fail("the simulation never started: " + process.communicate()[0].decode())
    process.send_signal(sig)  # SIGINT: what Ctrl-C sends to the foreground process
    output = process.communicate(timeout=60)[0].decode()
    assert process.returncode == 130, output

    state = json.loads(next(runs.glob("*/state.json")).read_text())
    assert state["stopped"] is True
    from recctl.stack.managed import ManagedProcess

    records = [state["redis"]] + [{"pid": r["pid"], "started": r["started"]}
                                  for r in state["replicas"]]
    assert not any(ManagedProcess.attach(r, name="component").running for r in records)
    fetched = next((workspace / "cache" / "interrupted").iterdir())
    manifest = json.loads((fetched / "manifest.json").read_text())
    assert manifest["interrupted"] is True and manifest["lines"] > 0
    # The report on what was fetched says that the run was cut short.
    from recctl.analysis import build_report, write_outputs

    report = build_report([fetched])
    assert not report.valid and report.reconciliation.interrupted
    written = json.loads(write_outputs(report, tmp_path / "r", ["json"])["json"].read_text())
    assert written["interrupted"] is True and written["valid"] is False


def test_a_simulate_killed_outright_leaves_the_run_marked_unfinished(
        tmp_path: Path, small_world: tuple[Path, Path], workspace: Path) -> None:
    """SIGKILL (or the OOM killer) gives simulate no chance to say anything: it marks the
    run unfinished before it starts, so the report on what is fetched is not a quiet,
    valid-looking table (before: "Verdict valid" on a quarter of the run)."""
    import subprocess
    import sys

    from recctl.analysis import build_report

    world, artifacts = small_world
    path = write_experiment(tmp_path, "killed", artifacts, world=str(world),
                            simulation={"episodes": 50_000, "seed": 2, "concurrency": 8})
    loaded = load_experiment(path)
    state = stack_up(loaded, QUIET)
    try:
        process = subprocess.Popen([sys.executable, "-m", "recctl", "simulate", str(path)],
                                   env={**os.environ, "RECCTL_HOME": str(workspace)},
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        logs = [Path(r.log_dir) / "data.json" for r in state.replicas]
        deadline = time.monotonic() + 60
        while sum(p.stat().st_size for p in logs if p.exists()) < 20_000:
            assert time.monotonic() < deadline, "the simulation never started"
            time.sleep(0.05)
        process.kill()
        process.wait(timeout=10)
        runtime = runtime_for("local")
        runtime.quiesce(state)
        fetched = fetch_run(state, runtime, workspace / "cache")
    finally:
        stack_down(loaded.spec.name)
    report = build_report([fetched.dest])
    assert fetched.lines > 0 and not report.valid
    assert report.invalid_reasons[0].startswith(
        "the simulation did not finish: it is still running, or it was killed")


def test_an_experiment_file_edited_after_up_is_refused_where_it_matters(
        tmp_path: Path, small_world: tuple[Path, Path], workspace: Path) -> None:
    """Arms swapped in the file after `up`: the replicas still serve the old ones, so the
    report would put the new names on the old arms. simulate refuses; a change to the
    simulation itself is fine; fetch files the experiment as it was served."""
    import yaml

    from recctl.errors import RecctlError

    world, artifacts = small_world
    path = write_experiment(tmp_path, "edited", artifacts, world=str(world),
                            simulation={"episodes": 40, "seed": 2, "concurrency": 4})
    served = path.read_text()
    state = stack_up(load_experiment(path), QUIET)
    try:
        body = yaml.safe_load(served)
        body["arms"]["C"], body["arms"]["T1"] = body["arms"]["T1"], body["arms"]["C"]
        path.write_text(yaml.safe_dump(body))
        with pytest.raises(RecctlError, match="arms changed since `recctl up`"):
            simulate(load_experiment(path), state, QUIET)

        body = yaml.safe_load(served)
        body["simulation"]["episodes"] = 30
        path.write_text(yaml.safe_dump(body))
        summary = simulate(load_experiment(path), state, QUIET)
        assert summary["episodes"] == 30
        runtime = runtime_for("local")
        runtime.quiesce(state)
        fetched = fetch_run(state, runtime, workspace / "cache")
    finally:
        stack_down("edited")
    assert (fetched.dest / "experiment.yml").read_text() == served
