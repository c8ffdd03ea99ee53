"""Talking to the Docker Engine: connecting with clear errors, and finding a run by label.

Every resource `up` creates carries the run's labels, so `status`, `down` and `fetch`
find them from another shell (or after a crash) without trusting saved ids alone.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field

import docker
import docker.errors
from docker.models.containers import Container
from docker.models.networks import Network
from docker.models.volumes import Volume

from recctl.errors import RecctlError

LABEL_PREFIX = "io.recctl"
LABEL_EXPERIMENT = f"{LABEL_PREFIX}.experiment"
LABEL_RUN = f"{LABEL_PREFIX}.run"
LABEL_COMPONENT = f"{LABEL_PREFIX}.component"   # redis | replica | nginx | network
LABEL_REPLICA = f"{LABEL_PREFIX}.replica"       # replica-1, ...

ENGINE_HINT = (
    "start the Docker daemon (or Podman's Docker API: `.ci/container-engine setup` in a "
    "recctl checkout), or point stack.docker_host / DOCKER_HOST at the engine's socket, "
    "e.g. unix:///run/recctl-engine/podman.sock"
)


def run_labels(experiment: str, run_id: str, component: str, **extra: str) -> dict[str, str]:
    labels = {LABEL_EXPERIMENT: experiment, LABEL_RUN: run_id, LABEL_COMPONENT: component}
    labels.update({f"{LABEL_PREFIX}.{key}": value for key, value in extra.items()})
    return labels


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        item = todo.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        todo.extend([item.__cause__, item.__context__])
        todo.extend(a for a in item.args if isinstance(a, BaseException))


def unreachable_error(host: str, exc: BaseException) -> RecctlError:
    """Say why the engine did not answer (no socket, no permission, refused) and the fix."""
    text = " ".join(str(e) for e in _causes(exc))
    if any(isinstance(e, PermissionError) for e in _causes(exc)) or "Permission denied" in text:
        return RecctlError(
            f"no permission to use the Docker engine at {host}",
            "add your user to the `docker` group (then log in again), run as a user who may "
            "use the socket, or point stack.docker_host at a rootless engine's socket",
        )
    if any(isinstance(e, FileNotFoundError) for e in _causes(exc)) or "No such file" in text:
        return RecctlError(f"no Docker engine at {host}: the socket does not exist", ENGINE_HINT)
    if any(isinstance(e, ConnectionRefusedError) for e in _causes(exc)) or "refused" in text:
        return RecctlError(f"the Docker engine at {host} refused the connection", ENGINE_HINT)
    return RecctlError(f"cannot talk to the Docker engine at {host}: {exc}", ENGINE_HINT)


def connect(docker_host: str | None = None, *, timeout: int = 300) -> docker.DockerClient:
    """A client for `docker_host`, else DOCKER_HOST, else the default socket; pinged.

    `timeout` is generous because image builds stream through the same client.
    """
    host = docker_host or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    try:
        client = docker.DockerClient(base_url=host, timeout=timeout)
        client.ping()
    except docker.errors.DockerException as exc:
        raise unreachable_error(host, exc) from None
    except OSError as exc:
        raise unreachable_error(host, exc) from None
    return client


@dataclass
class RunResources:
    """What the engine holds for one run, found by the run label."""

    containers: list[Container] = field(default_factory=list)
    networks: list[Network] = field(default_factory=list)
    volumes: list[Volume] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.containers or self.networks or self.volumes)


def find_run(client: docker.DockerClient, run_id: str) -> RunResources:
    selector = {"label": f"{LABEL_RUN}={run_id}"}
    return RunResources(
        containers=client.containers.list(all=True, filters=selector),
        networks=client.networks.list(filters=selector),
        volumes=client.volumes.list(filters=selector),
    )


def remove_run(client: docker.DockerClient, run_id: str, *, stop_timeout: int = 10) -> None:
    """Remove the run's containers (with their anonymous volumes), volumes, then networks.

    Idempotent: what is already gone is skipped, so `down` can be repeated after a crash.
    """
    found = find_run(client, run_id)
    for container in found.containers:
        try:
            if container.status == "running":
                container.stop(timeout=stop_timeout)
            # v=True: images such as redis declare a VOLUME; leave no anonymous volume.
            container.remove(v=True, force=True)
        except docker.errors.NotFound:
            pass
    for volume in found.volumes:
        with contextlib.suppress(docker.errors.NotFound):
            volume.remove(force=True)
    for network in found.networks:
        with contextlib.suppress(docker.errors.NotFound):
            network.remove()
