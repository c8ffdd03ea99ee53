"""A Ray node lost in the middle of `recctl run`: the run stops with a clear error, keeps
what the surviving replica logged, marks the verdict invalid and exits 1.

Its own two-node cluster (the other Ray module's is gone by then): a node is removed for
good here, which would spoil a shared one.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
from local_fixtures import build_small_world, two_ray_nodes, write_experiment

ray = pytest.importorskip(
    "ray", reason="Ray is not installed here: pip install -e '.[ray]' (CI installs it)")

from recctl.stack.ray_actors import work_root  # noqa: E402

NAME = "raynodeloss"


@pytest.fixture(scope="module")
def cluster() -> Any:
    with two_ray_nodes() as nodes:
        yield nodes


def _wait_for(found: Any, what: str, timeout: float = 120.0) -> Any:
    deadline = time.monotonic() + timeout
    while (value := found()) is None or value is False:
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)
    return value


def _state(workspace: Path) -> dict[str, Any] | None:
    for path in (workspace / ".recctl" / "runs" / NAME).glob("*/state.json"):
        state = json.loads(path.read_text())
        if state.get("ray", {}).get("nodes", {}).get("replica-2"):
            return state
    return None


def _logged(state: dict[str, Any]) -> bool:
    logs = work_root() / NAME / state["run_id"]
    return any(p.stat().st_size > 10_000 for p in logs.glob("replica-*/**/data.json"))


def _lose_node(nodes: Any, node: Any) -> None:
    """The node goes as a machine does: every process on it dies at once. remove_node
    kills Ray's own processes, but a worker it started (the replica's actor) may live on
    for a moment and still answer direct actor calls: the fetch then read the lost
    replica's logs in about one run of four, and this test did not test a loss."""
    on_node = [child for _, process in node.live_processes()
               for child in psutil.Process(process.pid).children(recursive=True)]
    nodes.remove_node(node, allow_graceful=False)
    for process in on_node:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()


def test_a_node_lost_mid_run_gives_an_invalid_verdict_and_keeps_the_rest(
        tmp_path: Path, cluster: Any, workspace: Path) -> None:
    nodes, second = cluster
    world, artifacts = build_small_world(tmp_path / "data")
    path = write_experiment(
        tmp_path, NAME, artifacts, world=str(world),
        stack={"runtime": "ray", "replicas": 2, "balancer": "client",
               "ray": {"address": nodes.address, "namespace": "recctl-node-loss"}},
        # far more than can finish before the node goes
        simulation={"episodes": 50_000, "seed": 8, "concurrency": 8})
    env = {**os.environ, "RECCTL_HOME": str(workspace)}
    run = subprocess.Popen([sys.executable, "-m", "recctl", "run", str(path)], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        state = _wait_for(lambda: _state(workspace), "the run's state")
        placed = state["ray"]["nodes"]
        assert placed["replica-1"] != placed["replica-2"]  # one replica on each node
        lost = next(name for name in ("replica-1", "replica-2")
                    if placed[name] == second.node_id)
        kept = "replica-2" if lost == "replica-1" else "replica-1"
        _wait_for(lambda: _logged(state), "the replicas' first logged lines")
        _lose_node(nodes, second)
        output, _ = run.communicate(timeout=300)
    finally:
        if run.poll() is None:
            run.kill()
    text = " ".join(output.split())
    assert run.returncode == 1, output
    assert "Traceback" not in output
    assert "The simulation stopped" in text and "NodeDiedError" in text
    assert f"{lost}: its logs could not be fetched" in text, output

    cache = next((workspace / "cache" / NAME).iterdir())
    manifest = json.loads((cache / "manifest.json").read_text())
    assert manifest["interrupted"] is True
    assert "NodeDiedError" in manifest["simulation"]["error"]
    assert manifest["replicas"][lost]["unreachable"]
    assert manifest["replicas"][kept]["lines"] > 0  # the survivor's logs are kept
    report = json.loads((workspace / "reports" / NAME / cache.name / "report.json")
                        .read_text())
    assert report["valid"] is False
    reasons = " ".join(report["invalid_reasons"])
    assert "the simulation did not finish" in reasons and f"the logs of {lost}" in reasons

    # Read again from the experiment file alone: the latest fetched run, the same verdict.
    again = subprocess.run([sys.executable, "-m", "recctl", "report", str(path)], env=env,
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 1, again.stdout + again.stderr
    assert "VERDICT INVALID" in " ".join(again.stdout.split())
    state_after = json.loads(next((workspace / ".recctl" / "runs" / NAME).glob(
        "*/state.json")).read_text())
    assert state_after["stopped"] is True
