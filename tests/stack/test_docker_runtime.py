"""The Docker runtime end to end on a real engine: build, up, traffic through nginx,
fetch, down, and nothing of ours left behind."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import docker
import pytest
import yaml
from rich.console import Console

from recctl.errors import RecctlError
from recctl.spec import load_experiment
from recctl.stack import docker_components as parts
from recctl.stack.base import RunState
from recctl.stack.docker_engine import LABEL_EXPERIMENT, find_run
from recctl.stack.docker_images import ensure_image
from recctl.stack.docker_runtime import DockerRuntime
from recctl.stack.fetch import fetch_run
from recctl.stack.runs import new_run

try:  # tests/stack is a package in some layouts and a rootdir-less folder in others
    from .docker_fixtures import docker_client, docker_host, support_images  # noqa: F401
except ImportError:
    from docker_fixtures import docker_client, docker_host, support_images  # noqa: F401

pytestmark = [pytest.mark.docker, pytest.mark.timeout(600)]


def post(url: str, body: dict[str, object]) -> dict[str, object]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback)
        return json.loads(response.read())


def simulate(endpoint: str, users: range, steps: int) -> list[tuple[str, int]]:
    """Tiny sessions: listen to what is recommended for `steps` tracks, then leave."""
    sent: list[tuple[str, int]] = []
    for user in users:
        track = user % 50
        for step in range(steps):
            answer = post(f"{endpoint}/next/{user}",
                          {"track": track, "time": 0.9 - 0.1 * step, "session": f"s{user}"})
            assert answer["user"] == user
            track = int(answer["track"])  # type: ignore[call-overload]
            sent.append(("next", user))
        post(f"{endpoint}/last/{user}", {"track": track, "time": 0.2})
        sent.append(("last", user))
    return sent


def leftovers(client: docker.DockerClient, experiment: str) -> list[str]:
    selector = {"label": f"{LABEL_EXPERIMENT}={experiment}"}
    return ([f"container {c.name}" for c in client.containers.list(all=True, filters=selector)]
            + [f"network {n.name}" for n in client.networks.list(filters=selector)]
            + [f"volume {v.name}" for v in client.volumes.list(filters=selector)])


def docker_experiment(folder: Path, name: str, artifacts: Path, host: str,
                      images: dict[str, str], **stack: object) -> Path:
    body = {
        "name": name,
        "artifacts": str(artifacts),
        "arms": {"C": {"type": "top_pop"},
                 "T1": {"type": "indexed", "params": {"artifact": "dssm"},
                        "fallback": {"type": "top_pop"}}},
        "stack": {"runtime": "docker", "replicas": 2, "docker_host": host, "images": images,
                  **stack},
    }
    path = folder / f"{name}.yml"
    path.write_text(yaml.safe_dump(body))
    return path


def test_up_traffic_fetch_down_leaves_nothing(
    tmp_path: Path, small_artifacts: Path, docker_client: docker.DockerClient, docker_host: str,  # noqa: F811
    support_images: dict[str, str],  # noqa: F811
) -> None:
    loaded = load_experiment(docker_experiment(tmp_path, "docker-e2e", small_artifacts,
                                               docker_host, support_images))
    state = new_run(loaded, tmp_path / "runs")
    runtime = DockerRuntime(docker_host=docker_host)
    try:
        state = runtime.up(loaded, state, Console(width=100))
        assert state.endpoint and state.endpoint.startswith("http://127.0.0.1:")

        # Only nginx publishes a port: the endpoint's, on 127.0.0.1. Redis and each
        # replica (checked one by one, by name) publish nothing.
        containers = find_run(docker_client, state.run_id).containers
        by_component: dict[str, list] = {}
        for container in containers:
            by_component.setdefault(container.labels["io.recctl.component"], []).append(
                container)
        assert sorted((k, len(v)) for k, v in by_component.items()) == [
            ("nginx", 1), ("redis", 1), ("replica", 2)]
        assert len({c.name for c in by_component["replica"]}) == 2

        def bindings(container: docker.models.containers.Container) -> list[dict]:
            return [b for spec in (container.ports or {}).values() for b in (spec or [])]

        endpoint_port = state.endpoint.rsplit(":", 1)[1]
        assert [(b["HostIp"], b["HostPort"]) for b in bindings(by_component["nginx"][0])] == [
            ("127.0.0.1", endpoint_port)]
        for container in by_component["redis"] + by_component["replica"]:
            assert bindings(container) == [], f"{container.name} publishes {bindings(container)}"

        assert all(c.running for c in runtime.status(state))
        sent = simulate(state.endpoint, range(12), steps=3)

        # Redis wants the run's password, which is in no container's command line.
        password = state.redis["password"]
        redis_box = next(c for c in containers if c.labels["io.recctl.component"] == "redis")
        assert b"NOAUTH" in redis_box.exec_run(["redis-cli", "ping"]).output
        for container in containers:
            container.reload()
            assert password not in " ".join(container.attrs["Config"]["Cmd"] or [])

        # Per-user state survives a restart of the Redis container (append-only file).
        def keys() -> int:
            done = redis_box.exec_run(["redis-cli", "dbsize"],
                                      environment={"REDISCLI_AUTH": password})
            return int(done.output.strip())

        before = keys()
        redis_box.restart(timeout=10)
        probe, probe_env = parts.redis_probe(password)
        parts.wait_for(redis_box, probe, "redis", 30, environment=probe_env)
        assert before > 0 and keys() == before

        # status/down/fetch work from a fresh runtime and the saved state alone; quiesce
        # stops nginx and the replicas (logs closed) but keeps them readable for fetch.
        saved = RunState.load(state.path)
        DockerRuntime().quiesce(saved)
        assert [c.name for c in DockerRuntime().status(saved) if c.running] == ["redis"]
        result = fetch_run(saved, DockerRuntime(), root=tmp_path / "cache")
    finally:
        DockerRuntime().down(RunState.load(state.path))

    assert leftovers(docker_client, "docker-e2e") == []
    assert not any(c.running for c in DockerRuntime().status(saved))

    # The cache holds each replica's log, and together they hold every request.
    dest = tmp_path / "cache" / "docker-e2e" / state.run_id
    manifest = json.loads((dest / "manifest.json").read_text())
    assert manifest["runtime"] == "docker" and set(manifest["replicas"]) == {
        "replica-1", "replica-2"}
    events = [json.loads(line) for replica in ("replica-1", "replica-2")
              for line in (dest / replica / "data.json").read_text().splitlines()]
    assert result.lines == len(events) == len(sent)
    assert sorted((e["message"], e["user"]) for e in events) == sorted(sent)
    assert all(e["experiments"].keys() == {"docker-e2e"} for e in events)
    for replica in ("replica-1", "replica-2"):  # nginx spread the sessions over both
        assert manifest["replicas"][replica]["lines"] > 0


def test_a_container_that_cannot_start_fails_up_and_cleans_up(
    tmp_path: Path, small_artifacts: Path, docker_client: docker.DockerClient, docker_host: str,  # noqa: F811
    support_images: dict[str, str],  # noqa: F811
) -> None:
    # The nginx image has no redis-server: the Redis container cannot start.
    images = {**support_images, "redis": support_images["nginx"]}
    loaded = load_experiment(docker_experiment(tmp_path, "docker-broken", small_artifacts,
                                               docker_host, images, replicas=1))
    state = new_run(loaded, tmp_path / "runs")
    with pytest.raises(RecctlError) as failure:
        DockerRuntime().up(loaded, state, Console(width=100))
    assert "redis-server" in failure.value.message
    assert "stack.images" in (failure.value.hint or "")
    assert leftovers(docker_client, "docker-broken") == []
    # Nothing of it is left running: the run is marked stopped, so it blocks no later `up`.
    assert RunState.load(state.path).stopped


def test_a_missing_image_says_which_key_to_set(
    docker_client: docker.DockerClient,  # noqa: F811
) -> None:
    with pytest.raises(RecctlError) as failure:
        ensure_image(docker_client, "localhost/recctl-no-such-image:none", "nginx")
    assert "localhost/recctl-no-such-image:none" in failure.value.message
    assert "stack.images.nginx" in (failure.value.hint or "")
    assert "config/docker/nginx.Dockerfile" in (failure.value.hint or "")
