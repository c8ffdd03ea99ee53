"""A replica container killed mid-run on the Docker runtime (a real engine): nginx and the
simulator's retries move its traffic to the other replica, its log is still fetched from
the stopped container, and every acknowledged request is read exactly once."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import docker
import pytest
from local_fixtures import Fault, assert_exactly_once, build_small_world, write_experiment
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


def _container_logged_bytes(client: docker.DockerClient) -> Callable[[RunState], int]:
    """What the first replica has logged, read inside its container."""
    def logged(state: RunState) -> int:
        container = client.containers.get(state.replicas[0].container)
        done = container.exec_run(["stat", "-c", "%s", f"{parts.LOG_DIR}/data.json"])
        size = (done.output or b"").strip()  # Podman's exec now and then returns nothing
        return int(size) if done.exit_code == 0 and size.isdigit() else 0
    return logged


def _kill_first_replica(client: docker.DockerClient) -> Callable[[RunState, Fault], None]:
    def kill(state: RunState, fault: Fault) -> None:
        client.containers.get(state.replicas[0].container).kill()
    return kill


def test_a_replica_container_killed_mid_run(
    tmp_path: Path, workspace: Path, docker_client: docker.DockerClient,  # noqa: F811
    docker_host: str, support_images: dict[str, str],  # noqa: F811
) -> None:
    world, artifacts = build_small_world(tmp_path / "data")
    path = write_experiment(
        tmp_path, "dockerkill", artifacts, world=str(world),
        stack={"runtime": "docker", "docker_host": docker_host, "images": support_images},
        simulation={"episodes": 3000, "seed": 4, "concurrency": 16})
    with Fault(workspace, "dockerkill", _kill_first_replica(docker_client), after_bytes=20_000,
               logged_bytes=_container_logged_bytes(docker_client)) as fault:
        outcome = run_experiment(path, QUIET)
        finished = time.monotonic()
        assert fault.done.wait(60)
    if fault.error is not None:
        raise fault.error
    assert fault.injected_at is not None and fault.injected_at < finished
    assert_exactly_once(outcome)
    # The killed replica's log came out of its stopped container: the lines it wrote
    # before the kill; the other replica took the rest of the run (nginx passes a refused
    # connection on to it, the simulator retries what was lost in flight).
    lines = {r.replica: r.read for r in outcome.report.reconciliation.replicas}
    assert set(lines) == {"replica-1", "replica-2"}
    assert 0 < lines["replica-1"] < lines["replica-2"] / 2, lines
