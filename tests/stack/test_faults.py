"""Faults during `recctl run` (real processes): a replica SIGKILLed, Redis stopped for 5 s,
nginx killed or reloaded. Each time the run completes with no failed episode, the report's
reconciliation shows every acknowledged request read exactly once (duplicates dropped and
counted), and contextual_mod never recommends a track the user already heard. A run with
too many failed episodes exits non-zero and its report says the verdict is invalid."""

from __future__ import annotations

import json
import os
import resource
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from local_fixtures import Fault, assert_exactly_once, build_small_world, write_experiment
from rich.console import Console
from typer.testing import CliRunner

from recctl.cli.main import app
from recctl.eventlog import find_log_files, read_events
from recctl.stack.base import RunState
from recctl.stack.managed import ManagedProcess
from recctl.stack.nginx import find_nginx
from recctl.stack.probes import Probe, tcp_probe
from recctl.workflow import RunOutcome, run_experiment

QUIET = Console(file=open(os.devnull, "w"))  # noqa: SIM115
needs_nginx = pytest.mark.skipif(find_nginx() is None, reason="nginx is not installed")


@pytest.fixture(scope="module")
def small_world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return build_small_world(tmp_path_factory.mktemp("data"))


def _kill_replica(state: RunState, fault: Fault) -> None:
    victim = state.replicas[0]
    ManagedProcess.attach({"pid": victim.pid, "started": victim.started},
                          name=victim.name).kill()


def _restart_redis(state: RunState, fault: Fault) -> None:
    """Stop Redis, wait 5 s, start it again with the same arguments (port, password, data)."""
    import redis

    ManagedProcess.attach(state.redis, name="redis").stop()
    time.sleep(5)

    def pings() -> bool:
        with redis.Redis(host="127.0.0.1", port=int(state.redis["port"]),
                         password=state.redis.get("password"), socket_timeout=1.0) as client:
            try:
                return bool(client.ping())
            except redis.ConnectionError:
                return False

    restarted = ManagedProcess(state.redis["argv"], name="redis",
                               log_file=state.path / "redis" / "restart.log",
                               probe=Probe("PING", pings), ready_timeout=15)
    fault.started.append(restarted)
    restarted.start()


def _nginx_argv(state: RunState) -> list[str]:
    conf = Path(state.nginx["conf"])
    return [find_nginx() or "nginx", "-c", str(conf), "-p", str(conf.parent),
            "-e", str(conf.parent / "error.log")]


def _restart_nginx(state: RunState, fault: Fault) -> None:
    """SIGKILL nginx (master and workers) and start it again with the same config."""
    ManagedProcess.attach(state.nginx, name="nginx").kill()
    time.sleep(0.5)
    restarted = ManagedProcess(_nginx_argv(state), name="nginx",
                               log_file=Path(state.nginx["conf"]).parent / "restart.log",
                               probe=tcp_probe("127.0.0.1", int(state.nginx["port"])))
    fault.started.append(restarted)
    restarted.start()


def _reload_nginx(state: RunState, fault: Fault) -> None:
    """`nginx -s reload` twice, a second apart: new workers, old ones drain."""
    import subprocess

    for _ in range(2):
        subprocess.run([*_nginx_argv(state), "-s", "reload"], check=True,
                       capture_output=True, timeout=10)
        time.sleep(1)


def _run_with(tmp_path: Path, workspace: Path, small_world: tuple[Path, Path], name: str,
              inject: Callable[[RunState, Fault], None], balancer: str = "client",
              episodes: int = 1500) -> RunOutcome:
    world, artifacts = small_world
    path = write_experiment(tmp_path, name, artifacts, world=str(world),
                            stack={"balancer": balancer},
                            simulation={"episodes": episodes, "seed": 4, "concurrency": 16})
    with Fault(workspace, name, inject) as fault:
        outcome = run_experiment(path, QUIET)
        assert fault.done.wait(60)
    if fault.error is not None:
        raise fault.error
    return outcome


def _repeats_of_heard_tracks(dest: Path, experiment: str, arm: str = "T1") -> int:
    """How many times the arm recommended a track the user had already heard (any session:
    the service's per-user state spans sessions)."""
    events, _ = read_events([dest])
    events = events[events[f"exp:{experiment}"] == arm].sort_values(
        ["user", "timestamp_us", "file_order"])
    repeats = 0
    for _user, rows in events.groupby("user", sort=False):
        heard: set[int] = set()
        for message, track, recommendation in zip(rows["message"], rows["track"],
                                                  rows["recommendation"], strict=True):
            heard.add(int(track))
            if message == "next" and int(recommendation) in heard:
                repeats += 1
    return repeats


def _fill_replica_disk(state: RunState, fault: Fault) -> None:
    """The first replica's disk is full for 2 s, then has room again. A file-size limit on
    its process, 100 bytes past its log's size, makes the kernel take part of the next
    line and refuse the rest, then refuse every line, as a full disk (ENOSPC) does."""
    victim = state.replicas[0]
    pid = int(victim.pid or 0)
    log_size = (Path(victim.log_dir or "") / "data.json").stat().st_size
    soft, hard = resource.prlimit(pid, resource.RLIMIT_FSIZE)
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (log_size + 100, hard))
    time.sleep(2)
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (soft, hard))


@pytest.mark.parametrize("balancer", ["client", pytest.param("nginx", marks=needs_nginx)])
def test_replica_killed_mid_run(tmp_path: Path, workspace: Path,
                                small_world: tuple[Path, Path], balancer: str) -> None:
    outcome = _run_with(tmp_path, workspace, small_world, f"kill_{balancer}", _kill_replica,
                        balancer=balancer)
    assert_exactly_once(outcome)
    assert outcome.fetched is not None
    assert _repeats_of_heard_tracks(outcome.fetched.dest, f"kill_{balancer}") == 0


def test_redis_stopped_for_five_seconds(tmp_path: Path, workspace: Path,
                                        small_world: tuple[Path, Path]) -> None:
    outcome = _run_with(tmp_path, workspace, small_world, "redis_restart", _restart_redis,
                        episodes=2500)
    assert_exactly_once(outcome)
    assert outcome.simulation is not None and outcome.simulation["retried_requests"] > 0
    assert outcome.fetched is not None
    assert _repeats_of_heard_tracks(outcome.fetched.dest, "redis_restart") == 0


@needs_nginx
@pytest.mark.parametrize("inject", [_restart_nginx, _reload_nginx], ids=["kill", "reload"])
def test_nginx_restarted_mid_run(tmp_path: Path, workspace: Path,
                                 small_world: tuple[Path, Path],
                                 inject: Callable[[RunState, Fault], None]) -> None:
    name = f"nginx_{inject.__name__.strip('_')}"
    outcome = _run_with(tmp_path, workspace, small_world, name, inject, balancer="nginx")
    assert_exactly_once(outcome)
    assert outcome.fetched is not None
    assert _repeats_of_heard_tracks(outcome.fetched.dest, name) == 0


def test_too_many_failed_episodes_make_the_run_invalid(tmp_path: Path, workspace: Path,
                                                       tmp_path_factory: pytest.TempPathFactory
                                                       ) -> None:
    # 5% of the world's tracks are missing from the service's catalog: a session that
    # starts on one gets a 404 and fails, well above the default 1%.
    world, artifacts = build_small_world(tmp_path_factory.mktemp("holes"), missing_tracks=100)
    path = write_experiment(tmp_path, "lossy", artifacts, world=str(world),
                            simulation={"episodes": 600, "seed": 3, "concurrency": 16})
    result = CliRunner().invoke(app, ["run", str(path)])
    assert result.exit_code == 1, result.output
    assert "VERDICT INVALID" in result.output
    cache = next((workspace / "cache" / "lossy").iterdir())
    manifest = json.loads((cache / "manifest.json").read_text())
    failed = manifest["simulation"]["failed_episodes"]
    assert failed > 6 and manifest["simulation"]["failed_too_many"] is True
    # Once more failed than the whole run allows (6 of 600), no new episode started:
    # the answer could no longer be valid (a dead service would otherwise take an hour).
    assert manifest["simulation"]["gave_up"] is True
    assert failed <= 6 + 16  # the allowance, plus the episodes already in flight
    assert manifest["simulation"]["episodes"] < 600
    assert "Stopped after" in result.output
    report = workspace / "reports" / "lossy" / cache.name
    written = json.loads((report / "report.json").read_text())
    assert written["valid"] is False
    assert any("episodes failed" in reason for reason in written["invalid_reasons"])
    assert "VERDICT INVALID" in (report / "report.md").read_text()
    # The report alone says so too, and exits 1 after writing its outputs.
    alone = CliRunner().invoke(app, ["report", str(cache), "--out", str(tmp_path / "again")])
    assert alone.exit_code == 1, alone.output
    assert (tmp_path / "again" / "report.json").is_file()
    # simulate alone exits 1 as well (on a fresh stack).
    assert CliRunner().invoke(app, ["up", str(path)]).exit_code == 0
    try:
        simulated = CliRunner().invoke(app, ["simulate", str(path)])
        assert simulated.exit_code == 1, simulated.output
        assert "above simulation.max_failed_fraction" in simulated.output
    finally:
        CliRunner().invoke(app, ["down", str(path)])


def test_lines_lost_to_rotation_are_detected(tmp_path: Path, workspace: Path,
                                             small_world: tuple[Path, Path]) -> None:
    # 20 KB files, one backup: most of the run's lines are deleted before the fetch.
    world, artifacts = small_world
    path = write_experiment(tmp_path, "rotated", artifacts, world=str(world),
                            stack={"log_max_bytes": 20_000, "log_backups": 1},
                            simulation={"episodes": 200, "seed": 6, "concurrency": 8})
    result = CliRunner().invoke(app, ["run", str(path)])
    assert result.exit_code == 1, result.output
    assert "lost to log rotation" in result.output  # warned at fetch time
    cache = next((workspace / "cache" / "rotated").iterdir())
    manifest = json.loads((cache / "manifest.json").read_text())
    dropped = sum(r["lines_dropped"] for r in manifest["replicas"].values())
    assert dropped > 0 and manifest["simulation"]["failed_episodes"] == 0
    # What was lost is exactly what is missing.
    assert manifest["lines"] + dropped == manifest["simulation"]["acked_requests"]
    written = json.loads((workspace / "reports" / "rotated" / cache.name
                          / "report.json").read_text())
    assert written["valid"] is False
    assert written["reconciliation"]["total"]["lost_to_rotation"] == dropped
    assert any("lost to log rotation" in r for r in written["invalid_reasons"])
    assert any("acknowledged but" in r for r in written["invalid_reasons"])


@pytest.mark.skipif(not hasattr(resource, "prlimit"), reason="needs Linux's prlimit")
@pytest.mark.parametrize("balancer", ["client", pytest.param("nginx", marks=needs_nginx)])
def test_replica_disk_full_mid_run(tmp_path: Path, workspace: Path,
                                   small_world: tuple[Path, Path], balancer: str) -> None:
    """One replica cannot write its log for a while: it answers 503, the other one takes
    the retries, the torn line is cut back, and every acknowledged request is still read
    exactly once (none glued to a torn line once there is room again)."""
    name = f"diskfull_{balancer}"
    outcome = _run_with(tmp_path, workspace, small_world, name, _fill_replica_disk,
                        balancer=balancer)
    assert_exactly_once(outcome)
    assert outcome.fetched is not None
    files = find_log_files([outcome.fetched.dest])
    assert files and all(f.read_bytes().endswith(b"\n") for f in files)
    by_replica = {r.replica: r for r in outcome.report.reconciliation.replicas}
    assert len(by_replica) == 2 and all(r.read > 0 for r in by_replica.values())
