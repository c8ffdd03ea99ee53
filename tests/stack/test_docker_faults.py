"""A replica container killed mid-run on the Docker runtime (a real engine): nginx and the
simulator's retries move its traffic to the other replica, its log is still fetched from
the stopped container, and every acknowledged request is read exactly once."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import docker
import pytest
from local_fixtures import assert_exactly_once, build_small_world, write_experiment
from rich.console import Console

from recctl.stack import docker_components as parts
from recctl.stack.base import RunState
from recctl.workflow import run_experiment

try:  # tests/stack is a package in some layouts and a rootdir-less folder in others
    from .docker_fixtures import docker_client, docker_host, support_images  # noqa: F401
except ImportError:
    from docker_fixtures import docker_client, docker_host, support_images  # noqa: F401

pytestmark = [pytest.mark.docker, pytest.mark.timeout(900)]
QUIET = Console(file=open(os.devnull, "w"))  # noqa: SIM115


class ContainerKiller:
    """Kills the first replica's container once its log holds `after_bytes` (the users
    are listening), from a thread; records when, so the test can check it was mid-run."""

    def __init__(self, client: docker.DockerClient, runs: Path, after_bytes: int = 40_000):
        self.client, self.runs, self.after_bytes = client, runs, after_bytes
        self.killed_at: float | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _state(self) -> RunState | None:
        for path in self.runs.glob("*/state.json"):
            try:
                state = RunState.load(path.parent)
            except (ValueError, OSError):
                continue  # being written
            if state.endpoint and state.replicas:
                return state
        return None

    def _log_bytes(self, container: docker.models.containers.Container) -> int:
        done = container.exec_run(["stat", "-c", "%s", f"{parts.LOG_DIR}/data.json"])
        size = (done.output or b"").strip()  # Podman's exec now and then returns nothing
        return int(size) if done.exit_code == 0 and size.isdigit() else 0

    def _run(self) -> None:
        try:
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                state = self._state()
                if state is not None:
                    victim = self.client.containers.get(state.replicas[0].container)
                    if self._log_bytes(victim) > self.after_bytes:
                        victim.kill()
                        self.killed_at = time.monotonic()
                        return
                time.sleep(0.2)
            raise AssertionError("the simulation never started")
        except BaseException as exc:  # reported by the test
            self.error = exc


def test_a_replica_container_killed_mid_run(
    tmp_path: Path, workspace: Path, docker_client: docker.DockerClient,  # noqa: F811
    docker_host: str, support_images: dict[str, str],  # noqa: F811
) -> None:
    world, artifacts = build_small_world(tmp_path / "data")
    path = write_experiment(
        tmp_path, "dockerkill", artifacts, world=str(world),
        stack={"runtime": "docker", "docker_host": docker_host, "images": support_images},
        simulation={"episodes": 3000, "seed": 4, "concurrency": 16})
    killer = ContainerKiller(docker_client, workspace / ".recctl" / "runs" / "dockerkill")
    killer.thread.start()
    outcome = run_experiment(path, QUIET)
    finished = time.monotonic()
    killer.thread.join(timeout=30)
    if killer.error is not None:
        raise killer.error
    assert killer.killed_at is not None and killer.killed_at < finished
    assert_exactly_once(outcome)
    # The killed replica's log came out of its stopped container: the lines it wrote
    # before the kill; the other replica took the rest of the run (nginx passes a refused
    # connection on to it, the simulator retries what was lost in flight).
    lines = {r.replica: r.read for r in outcome.report.reconciliation.replicas}
    assert set(lines) == {"replica-1", "replica-2"}
    assert 0 < lines["replica-1"] < lines["replica-2"] / 2, lines
