"""The Docker runtime: the stack as containers on one engine, through the Docker SDK.

`up` builds the service image from the project's Dockerfile, creates a private network,
starts Redis (no published port, a per-run password the replicas get by environment,
an append-only file), N replicas and nginx (publishing only
stack.host:port, 127.0.0.1 by default). Every container and the network carry the run's
labels; `status`, `down` and `fetch` find them by label, so they work from another
shell and after a crash, and `down` removes exactly what `up` created. Built images are
kept: they are the build cache, tagged by content.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from functools import partial
from pathlib import Path, PurePosixPath

import docker
import docker.errors
from docker.models.containers import Container
from rich.console import Console

from recctl.errors import RecctlError
from recctl.spec import LoadedExperiment
from recctl.stack import docker_components as parts
from recctl.stack.base import ComponentStatus, ReplicaInfo, RunState
from recctl.stack.docker_engine import (
    LABEL_COMPONENT,
    LABEL_REPLICA,
    connect,
    find_run,
    remove_run,
    run_labels,
)
from recctl.stack.docker_images import build_service_image, ensure_image
from recctl.stack.probes import check_port_free, free_port, http_ok, http_url, poll
from recctl.stack.redis_server import new_password
from recctl.stack.safe_tar import safe_extract

READY_TIMEOUT = 120.0   # a replica loads its artifacts into Redis before /ready says 200
REDIS_TIMEOUT = 30.0
EVENT_LOG = re.compile(r"^data\.json(\.\d+|\.stats)?$")  # logs + the writer's sidecar


class DockerRuntime:
    name = "docker"

    def __init__(self, docker_host: str | None = None) -> None:
        self.docker_host = docker_host
        self._client: docker.DockerClient | None = None

    def client(self, state: RunState | None = None) -> docker.DockerClient:
        if self._client is None:
            self._client = connect(self._host(state))
        return self._client

    def _host(self, state: RunState | None) -> str | None:
        """This runtime's host, else the one the run was started on, else DOCKER_HOST."""
        saved = state.docker.get("host") if state else None
        return self.docker_host or saved or os.environ.get("DOCKER_HOST")

    # -- up ---------------------------------------------------------------------------

    def up(self, loaded: LoadedExperiment, state: RunState, console: Console) -> RunState:
        try:
            return self._up(loaded, state, console)
        except BaseException:
            # `_up` removed whatever it created (or nothing was created yet): this run
            # holds nothing, so it must not block the next `up` of the experiment.
            state.stopped = True
            state.save()
            raise

    def _up(self, loaded: LoadedExperiment, state: RunState, console: Console) -> RunState:
        spec = loaded.spec
        self.docker_host = self.docker_host or spec.stack.docker_host
        engine = self._host(state) or "unix://"
        if spec.stack.port and engine.startswith("unix://"):  # the engine publishes here
            check_port_free(spec.stack.host, spec.stack.port)
        client = self.client(state)
        images = spec.stack.images
        with console.status("building the service image (cached after the first time)"):
            service_image = build_service_image(client, images.base)
        ensure_image(client, images.redis, "redis")
        ensure_image(client, images.nginx, "nginx")

        prefix = f"recctl-{state.experiment}-{state.run_id}"
        labels = partial(run_labels, state.experiment, state.run_id)
        state.docker = {
            "host": self._host(state),
            "network": prefix,
            "images": {"service": service_image, "redis": images.redis, "nginx": images.nginx},
            "labels": labels("network"),
        }
        state.save()  # from here on, `down` can clean up whatever got created
        try:
            self._start(client, loaded, state, service_image, prefix, console)
        except docker.errors.APIError as exc:
            remove_run(client, state.run_id, stop_timeout=2)
            raise RecctlError(
                f"the Docker engine could not start the stack: {exc.explanation or exc}",
                "check stack.images (each image must provide the command the runtime runs: "
                "redis-server, nginx, recctl); everything this run created was removed",
            ) from None
        except BaseException:
            remove_run(client, state.run_id, stop_timeout=2)
            raise
        state.save()
        return state

    def _start(self, client: docker.DockerClient, loaded: LoadedExperiment, state: RunState,
               service_image: str, prefix: str, console: Console) -> None:
        spec = loaded.spec
        client.networks.create(prefix, driver="bridge", labels=state.docker["labels"])
        place = parts.Placement(client=client, network=prefix, prefix=prefix,
                                labels=partial(run_labels, state.experiment, state.run_id))
        password = new_password()
        redis = parts.start_redis(place, spec.stack.images.redis, password)
        state.redis = {"container": redis.id, "url": f"redis://redis:{parts.REDIS_PORT}/0",
                       "password": password}
        probe, probe_env = parts.redis_probe(password)
        parts.wait_for(redis, probe, "redis", REDIS_TIMEOUT, environment=probe_env)

        replicas: list[Container] = []
        for index in range(1, spec.stack.replicas + 1):
            name = f"replica-{index}"
            container = parts.start_replica(
                place, service_image, name, experiment_file=loaded.path,
                artifacts=spec.artifacts_dir, seed=state.seed, redis=parts.redis_url(password))
            replicas.append(container)
            state.replicas.append(ReplicaInfo(name=name, log_dir=parts.LOG_DIR,
                                              container=container.id))
        state.save()
        with console.status(f"waiting for {len(replicas)} replicas to load the artifacts"):
            for info, container in zip(state.replicas, replicas, strict=True):
                parts.wait_for(container, parts.READY_PROBE, info.name, READY_TIMEOUT)

        port = spec.stack.port or free_port(spec.stack.host)
        nginx = parts.start_nginx(place, spec.stack.images.nginx,
                                  [r.name for r in state.replicas],
                                  host=spec.stack.host, port=port)
        state.nginx = {"container": nginx.id, "host": spec.stack.host, "port": port}
        state.balancer = "nginx"
        state.endpoint = http_url(spec.stack.host, port)
        poll(lambda: http_ok(f"{state.endpoint}/ready"), timeout=30, interval=0.2,
             what=f"nginx ({state.endpoint})", abort=lambda: parts.exit_reason(nginx),
             on_timeout_hint=lambda: parts.log_tail(nginx))
        console.print(f"[green]stack up[/green]: {len(replicas)} replicas behind "
                      f"{state.endpoint} (network {prefix})")

    # -- status, down -----------------------------------------------------------------

    def status(self, state: RunState) -> list[ComponentStatus]:
        found = find_run(self.client(state), state.run_id).containers
        by_role: dict[str, Container] = {}
        for container in found:
            role = container.labels.get(LABEL_COMPONENT, "")
            by_role[container.labels.get(LABEL_REPLICA) or role] = container
        wanted = [("redis", "redis")] + [(r.name, "replica") for r in state.replicas]
        if state.nginx:
            wanted.append(("nginx", "balancer"))
        out: list[ComponentStatus] = []
        for name, kind in wanted:
            container = by_role.get(name)
            if container is None:
                out.append(ComponentStatus(name, kind, False, "container is gone"))
                continue
            detail = f"container {container.short_id} {container.status}"
            if kind == "balancer" and state.endpoint:
                detail += f", {state.endpoint}"
            out.append(ComponentStatus(name, kind, container.status == "running", detail))
        return out

    def quiesce(self, state: RunState) -> None:
        """Stop nginx, then the replicas (SIGTERM: each closes its log); keep the
        containers, so `fetch` can still read their logs before `down` removes them."""
        containers = find_run(self.client(state), state.run_id).containers
        order = {"nginx": 0, "replica": 1}
        for container in sorted(containers, key=lambda c: order.get(
                c.labels.get(LABEL_COMPONENT, ""), 9)):
            if container.labels.get(LABEL_COMPONENT) in order and container.status == "running":
                container.stop(timeout=10)

    def down(self, state: RunState) -> None:
        remove_run(self.client(state), state.run_id)

    # -- fetch ------------------------------------------------------------------------

    def _replica_container(self, state: RunState, replica: ReplicaInfo) -> Container:
        client = self.client(state)
        for container in find_run(client, state.run_id).containers:
            if container.labels.get(LABEL_REPLICA) == replica.name:
                return container
        raise RecctlError(
            f"the container of {replica.name} (run {state.run_id}) is gone",
            "fetch before `recctl down`: the event logs live inside the containers",
        )

    def fetch_replica_logs(self, state: RunState, replica: ReplicaInfo, dest: Path) -> None:
        container = self._replica_container(state, replica)
        log_dir = replica.log_dir or parts.LOG_DIR
        try:
            stream, _stat = container.get_archive(log_dir)
        except docker.errors.NotFound:
            return  # no log folder yet: the replica has written nothing
        # Extract everything into a scratch folder inside dest, keep only the event log.
        with tempfile.TemporaryDirectory(prefix=".extract-", dir=dest) as scratch:
            written = safe_extract(stream, Path(scratch),
                                   strip_prefix=PurePosixPath(log_dir).name)
            for path in written:
                if path.parent == Path(scratch).resolve() and EVENT_LOG.match(path.name):
                    shutil.move(str(path), dest / path.name)
