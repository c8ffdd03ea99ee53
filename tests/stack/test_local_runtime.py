"""The local runtime with real processes: Redis, two replicas, nginx (when installed)."""

from __future__ import annotations

import json
import os
import signal
import urllib.request
from pathlib import Path

import pytest
from local_fixtures import write_experiment
from rich.console import Console

from recctl.errors import RecctlError
from recctl.spec import load_experiment
from recctl.stack import processes
from recctl.stack.lifecycle import stack_down, stack_status, stack_up
from recctl.stack.nginx import find_nginx

QUIET = Console(file=open(os.devnull, "w"))  # noqa: SIM115


def post(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


@pytest.mark.parametrize("balancer", ["client", "nginx"])
def test_up_status_down(tmp_path: Path, small_artifacts: Path, workspace: Path,
                        balancer: str) -> None:
    if balancer == "nginx" and find_nginx() is None:
        pytest.skip("nginx is not installed (apt-get install nginx-light)")
    path = write_experiment(tmp_path, f"up_{balancer}", small_artifacts,
                            stack={"balancer": balancer})
    loaded = load_experiment(path)
    state = stack_up(loaded, QUIET)
    try:
        assert len(state.replicas) == 2 and state.balancer == balancer
        answer = post(f"{state.endpoint}/next/1", {"track": 3, "time": 0.9})
        assert answer["user"] == 1 and 0 <= answer["track"] < 200
        # Another shell sees the same run through the state on disk.
        found = stack_status(loaded.spec.name)
        assert found.healthy and found.state.run_id == state.run_id
        # A second `up` of the same experiment is refused while this one runs.
        with pytest.raises(RecctlError, match="already running"):
            stack_up(loaded, QUIET)
    finally:
        stack_down(loaded.spec.name)
    after = stack_status(loaded.spec.name)
    assert not any(c.running for c in after.components)
    assert after.state.stopped and after.stale == []


def test_crashed_replica_is_reported_stale(tmp_path: Path, small_artifacts: Path,
                                           workspace: Path) -> None:
    path = write_experiment(tmp_path, "crash", small_artifacts, stack={"balancer": "client"})
    loaded = load_experiment(path)
    state = stack_up(loaded, QUIET)
    try:
        victim = state.replicas[0]
        os.killpg(victim.pid, signal.SIGKILL)
        processes.stop({"pid": victim.pid, "started": victim.started}, timeout=0.1)
        found = stack_status(loaded.spec.name)
        assert [c.name for c in found.stale] == [victim.name]
    finally:
        stack_down(loaded.spec.name)
    assert not any(c.running for c in stack_status(loaded.spec.name).components)


def test_two_experiments_side_by_side(tmp_path: Path, small_artifacts: Path,
                                      workspace: Path) -> None:
    first = load_experiment(write_experiment(tmp_path, "side_a", small_artifacts,
                                             stack={"balancer": "client", "replicas": 1}))
    second = load_experiment(write_experiment(tmp_path, "side_b", small_artifacts,
                                              stack={"balancer": "client", "replicas": 1}))
    a = stack_up(first, QUIET)
    try:
        b = stack_up(second, QUIET)
        try:
            assert a.redis["port"] != b.redis["port"]
            assert post(f"{a.endpoint}/next/5", {"track": 1, "time": 0.1})["user"] == 5
            assert post(f"{b.endpoint}/next/5", {"track": 1, "time": 0.1})["user"] == 5
        finally:
            stack_down("side_b")
        # Stopping one leaves the other running.
        assert stack_status("side_a").healthy
    finally:
        stack_down("side_a")


def test_failed_start_cleans_up(tmp_path: Path, small_artifacts: Path, workspace: Path) -> None:
    path = write_experiment(tmp_path, "broken", small_artifacts, stack={"balancer": "client"})
    loaded = load_experiment(path)
    # The artifacts disappear after validation: replicas die at start-up and up must fail
    # with their log, leaving nothing running.
    for file in small_artifacts.iterdir():
        file.unlink()
    small_artifacts.rmdir()
    with pytest.raises(RecctlError) as info:
        stack_up(loaded, QUIET)
    assert "replica-1" in str(info.value)
    found = stack_status("broken")
    assert found.state.stopped
    assert found.components and not any(c.running for c in found.components)
