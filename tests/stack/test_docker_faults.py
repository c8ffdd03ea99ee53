"""Faults on the Docker runtime (a real engine). A replica container killed mid-run: nginx
and the simulator's retries move its traffic to the other replica, its log is still
fetched from the stopped container, and every acknowledged request is read exactly once.
The network's DNS stuck while every Redis connection is dropped: the replicas reconnect
to the address they resolved before, and keep answering."""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import docker
import psutil
import pytest
from local_fixtures import Fault, assert_exactly_once, build_small_world, write_experiment
from rich.console import Console

from recctl.errors import RecctlError
from recctl.spec import load_experiment
from recctl.stack import docker_components as parts
from recctl.stack.base import RunState
from recctl.stack.docker_engine import find_run
from recctl.stack.docker_runtime import DockerRuntime
from recctl.stack.fetch import fetch_run
from recctl.stack.runs import new_run
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


def _next_statuses(endpoint: str, users: range | list[int]) -> list[int]:
    """POST /next for each user through the endpoint: the HTTP statuses."""
    statuses = []
    for user in users:
        body = json.dumps({"track": user % 50, "time": 0.9, "session": f"s{user}"}).encode()
        request = urllib.request.Request(f"{endpoint}/next/{user}", data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                statuses.append(response.status)
        except urllib.error.HTTPError as error:
            statuses.append(error.code)
    return statuses


def test_replicas_keep_reaching_redis_while_the_network_dns_is_stuck(
    tmp_path: Path, small_artifacts: Path, docker_client: docker.DockerClient,  # noqa: F811
    docker_host: str, support_images: dict[str, str],  # noqa: F811
) -> None:
    """Seen under Podman: its DNS (aardvark-dns) stopped answering for ~40 s after a
    container of the network was killed, and replicas that resolved Redis's name for
    each new connection answered 503 meanwhile. Here the DNS is frozen (SIGSTOP) and
    Redis drops every client connection (CLIENT KILL): the replicas must reconnect."""
    path = write_experiment(tmp_path, "dockerdns", small_artifacts, stack={
        "runtime": "docker", "docker_host": docker_host, "images": support_images})
    loaded = load_experiment(path)
    state = new_run(loaded, tmp_path / "runs")
    frozen: list[psutil.Process] = []
    try:
        state = DockerRuntime(docker_host=docker_host).up(loaded, state, QUIET)
        assert state.endpoint is not None
        assert _next_statuses(state.endpoint, range(40)) == [200] * 40
        resolvers = [p for p in psutil.process_iter(["name"])
                     if p.info["name"] == "aardvark-dns"]
        if not resolvers:
            pytest.skip("this engine's network DNS is not Podman's aardvark-dns")
        for resolver in resolvers:
            resolver.suspend()
            frozen.append(resolver)
        redis_box = docker_client.containers.get(state.redis["container"])
        killed = redis_box.exec_run(["redis-cli", "client", "kill", "type", "normal"],
                                    environment={"REDISCLI_AUTH": state.redis["password"]})
        assert killed.exit_code == 0 and int(killed.output.strip()) >= 2, killed.output
        # Half of these users are contextual_mod's: every request reads and writes Redis.
        statuses = _next_statuses(state.endpoint, range(40, 120))
        assert statuses == [200] * len(statuses), Counter(statuses)
    finally:
        for resolver in frozen:
            resolver.resume()
        DockerRuntime().down(RunState.load(state.path))


def test_a_failed_fetch_keeps_the_containers_and_their_logs(
    tmp_path: Path, workspace: Path, docker_client: docker.DockerClient,  # noqa: F811
    docker_host: str, support_images: dict[str, str],  # noqa: F811
) -> None:
    """On Docker the logs live in the containers, which `down` removes: `recctl run`
    whose fetch fails (a file where the cache folder goes; a full disk alike) keeps
    them, and a later fetch gets every acknowledged request."""
    world, artifacts = build_small_world(tmp_path / "data")
    path = write_experiment(
        tmp_path, "dockerkeep", artifacts, world=str(world),
        stack={"runtime": "docker", "docker_host": docker_host, "images": support_images},
        simulation={"episodes": 300, "seed": 4, "concurrency": 8})
    in_the_way = workspace / "cache" / "dockerkeep"
    in_the_way.parent.mkdir()
    in_the_way.write_text("not a folder")
    with pytest.raises(RecctlError, match="cannot create"):
        run_experiment(path, QUIET)
    state = RunState.load(next(
        (workspace / ".recctl" / "runs" / "dockerkeep").glob("*/state.json")).parent)
    try:
        kept = find_run(docker_client, state.run_id).containers
        assert len(kept) == 4 and not state.stopped  # Redis, 2 replicas, nginx
        in_the_way.unlink()
        fetched = fetch_run(state, DockerRuntime())
        acked = json.loads((state.path / "simulation.json").read_text())["acked_requests"]
        assert fetched.lines == acked > 0 and not fetched.unreachable
    finally:
        DockerRuntime().down(state)
    assert find_run(docker_client, state.run_id).containers == []


def test_replicas_follow_redis_restarted_at_a_new_address(
    tmp_path: Path, small_artifacts: Path, docker_client: docker.DockerClient,  # noqa: F811
    docker_host: str, support_images: dict[str, str],  # noqa: F811
) -> None:
    """Podman gives a restarted container a new address. The replicas, which connect to
    the address Redis's name last resolved to, must follow it (1.5-10 s here; the bound
    is loose because Podman's DNS can stall for tens of seconds). Before the address
    pin, replicas resolved the name per connection, and 3 restarts in 4 still had 503s
    30 s later; a first version of the pin left pooled connections at the old address
    for good."""
    path = write_experiment(tmp_path, "dockermove", small_artifacts, stack={
        "runtime": "docker", "docker_host": docker_host, "images": support_images})
    loaded = load_experiment(path)
    state = new_run(loaded, tmp_path / "runs")
    try:
        state = DockerRuntime(docker_host=docker_host).up(loaded, state, QUIET)
        assert state.endpoint is not None
        assert _next_statuses(state.endpoint, range(20)) == [200] * 20
        redis_box = docker_client.containers.get(state.redis["container"])
        redis_box.restart(timeout=5)
        probe, probe_env = parts.redis_probe(state.redis["password"])
        parts.wait_for(redis_box, probe, "redis", 30, environment=probe_env)
        deadline, users = time.monotonic() + 60, iter(range(100, 100_000))
        while (statuses := _next_statuses(state.endpoint, [next(users) for _ in range(10)])) \
                != [200] * 10:
            assert time.monotonic() < deadline, f"still failing 60 s on: {Counter(statuses)}"
            time.sleep(0.5)
    finally:
        DockerRuntime().down(RunState.load(state.path))
