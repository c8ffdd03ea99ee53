"""The Ray runtime: Redis and N replicas as processes owned by actors on a Ray cluster.

`up` connects to `stack.ray.address`, puts Redis on the head node and the replicas on
the alive nodes in turn (replica i on node i mod n, pinned with node affinity, so two
replicas on a two-node cluster land on two nodes), each process started and owned by a
named, detached actor (recctl.stack.ray_actors). The balancer is nginx on this machine
(the driver's) when it is installed, listening on stack.host:port, else the simulator
spreads requests over the replica URLs itself. The run state records every actor's name
and node: `status`, `down` and `fetch` find them again by name, from any shell that can
reach the cluster. `down` stops each process, deletes its folder on its node and kills
its actor; it also kills any other actor named for the run in the namespace.
"""

from __future__ import annotations

import contextlib
import io
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rich.console import Console

from recctl.errors import RecctlError
from recctl.spec import LoadedExperiment
from recctl.stack.base import ComponentStatus, ReplicaInfo, RunState, private_dir
from recctl.stack.managed import ManagedProcess
from recctl.stack.nginx import NginxProcess, want_nginx
from recctl.stack.probes import check_port_free, free_port
from recctl.stack.ray_cluster import (
    actor_name,
    alive_nodes,
    check_fits,
    connect,
    get_actor,
    run_actor_names,
    wait_for,
)
from recctl.stack.redis_server import new_password
from recctl.stack.safe_tar import safe_extract

CALL_TIMEOUT = 30.0     # seconds for an actor's status or stop answer
START_TIMEOUT = 180.0   # seconds for every replica to load its artifacts and be ready
FETCH_TIMEOUT = 120.0   # seconds per piece of a log archive (or to pack it)
PIECE = 4 << 20         # bytes per piece of a log archive


def folder_archive(folder: Path) -> bytes:
    """A folder's regular files as tar bytes (links refused: they may point anywhere)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_symlink():
                raise RecctlError(f"{path} is a link; the Ray runtime ships only regular files",
                                  "copy the file into the folder instead of linking it")
            if path.is_file():
                archive.add(path, arcname=path.relative_to(folder).as_posix(), recursive=False)
    return buffer.getvalue()


class RayRuntime:
    name = "ray"

    def _connect(self, state: RunState) -> Any:
        return connect(state.ray.get("address", "auto"), state.ray.get("namespace", "recctl"))

    # -- up ---------------------------------------------------------------------------
    def up(self, loaded: LoadedExperiment, state: RunState, console: Console) -> RunState:
        spec = loaded.spec
        config = spec.stack.ray
        state.runtime = "ray"
        state.ray = {"address": config.address, "namespace": config.namespace, "actors": []}
        state.save()
        try:
            use_nginx = want_nginx(spec.stack.balancer)
            if spec.stack.port:
                check_port_free(spec.stack.host, spec.stack.port)
            with console.status(f"Connecting to the Ray cluster ({config.address})...",
                                spinner="dots"):
                ray = self._connect(state)
                nodes = alive_nodes(ray)
                check_fits(nodes, config.replica_cpus, "stack.ray.replica_cpus")
            from recctl.stack.ray_actors import actor_class

            owner = actor_class(config.replica_cpus)
            with console.status(f"Starting Redis on {nodes[0]['NodeManagerAddress']}...",
                                spinner="dots"):
                redis = self._create(ray, owner, state, "redis", nodes[0], cpus=0)
                password = new_password()
                info = wait_for(ray, redis.start_redis.remote(password),
                                timeout=START_TIMEOUT, what="starting Redis")
                state.redis = {"url": info["url"], "port": info["port"], "password": password,
                               "node": info["host"], "node_id": info["node_id"],
                               "pid": info["pid"],
                               "actor": actor_name(state.experiment, state.run_id, "redis")}
                state.ray["nodes"] = {"redis": info["node_id"]}  # component -> Ray node id
                state.save()
            with console.status(f"Starting {spec.stack.replicas} replica(s) on "
                                f"{len(nodes)} node(s), loading artifacts...", spinner="dots"):
                self._start_replicas(ray, owner, loaded, state, nodes, config.replica_cpus)
            if use_nginx:
                with console.status("Starting nginx...", spinner="dots"):
                    self._start_nginx(state, spec.stack.host, spec.stack.port)
            else:
                state.balancer = "client"
                state.endpoint = None
            state.save()
        except BaseException:
            self.down(state)
            raise
        return state

    def _create(self, ray: Any, owner: Any, state: RunState, component: str,
                node: dict[str, Any], cpus: float) -> Any:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        name = actor_name(state.experiment, state.run_id, component)
        state.ray["actors"].append(name)  # recorded first: `down` looks for it whatever happens
        state.save()
        actor = owner.options(
            name=name, namespace=state.ray["namespace"], lifetime="detached", num_cpus=cpus,
            scheduling_strategy=NodeAffinitySchedulingStrategy(node["NodeID"], soft=False),
        ).remote(name)
        return actor

    def _start_replicas(self, ray: Any, owner: Any, loaded: LoadedExperiment, state: RunState,
                        nodes: list[dict[str, Any]], cpus: float) -> None:
        spec = loaded.spec
        # Shipped once into the object store; every replica's node unpacks its own copy.
        artifacts = ray.put(folder_archive(spec.artifacts_dir))
        experiment_text = loaded.path.read_text(encoding="utf-8")
        names, calls = [], []
        for index in range(1, spec.stack.replicas + 1):
            name = f"replica-{index}"
            node = nodes[(index - 1) % len(nodes)]  # spread: one node after the other
            actor = self._create(ray, owner, state, name, node, cpus)
            names.append(name)
            calls.append(actor.start_replica.remote(name, experiment_text, artifacts,
                                                    state.redis_url, spec.simulation.seed))
        infos = wait_for(ray, calls, timeout=START_TIMEOUT, what="starting the replicas")
        for name, info in zip(names, infos, strict=True):
            state.replicas.append(ReplicaInfo(
                name=name, url=info["url"], pid=info["pid"], service_log=info["output"],
                log_dir=info["log_dir"], node=info["address"],
                actor=actor_name(state.experiment, state.run_id, name)))
            state.replica_urls.append(info["url"])
            state.ray["nodes"][name] = info["node_id"]
        state.save()

    def _start_nginx(self, state: RunState, host: str, port: int | None) -> None:
        """nginx on this (the driver's) machine in front of the replicas' node addresses."""
        nginx = NginxProcess(private_dir(state.path / "nginx"), host=host,
                             port=port or free_port(host),
                             upstreams=[u.removeprefix("http://") for u in state.replica_urls])
        state.balancer = "nginx"
        state.endpoint = nginx.endpoint
        try:
            nginx.start()
        finally:  # recorded even when it failed, for `status` and `down`
            state.nginx = nginx.record

    # -- inspect and stop --------------------------------------------------------------
    def _actor(self, ray: Any, state: RunState, name: str | None) -> Any | None:
        return get_actor(ray, name, state.ray.get("namespace", "recctl")) if name else None

    def _ask(self, ray: Any, actor: Any, method: str) -> Any:
        """An actor's answer, or None when the actor is gone or does not answer."""
        from ray.exceptions import GetTimeoutError, RayActorError

        try:
            return ray.get(getattr(actor, method).remote(), timeout=CALL_TIMEOUT)
        except (RayActorError, GetTimeoutError):
            return None

    def status(self, state: RunState) -> list[ComponentStatus]:
        rows = [("redis", "redis", state.redis.get("actor"), state.redis.get("url"))]
        rows += [(r.name, "replica", r.actor, r.url) for r in state.replicas]
        try:
            ray = self._connect(state)
        except RecctlError as exc:  # shown as down, so a new `up` elsewhere is not blocked
            return [ComponentStatus(name, kind, False, f"unknown: {exc.message}")
                    for name, kind, _, _ in rows]
        out = []
        for name, kind, actor_id, url in rows:
            actor = self._actor(ray, state, actor_id)
            answer = self._ask(ray, actor, "status") if actor is not None else None
            if answer is None:
                out.append(ComponentStatus(name, kind, False, "its Ray actor is gone"))
                continue
            detail = (f"node {answer['node_id'][:12]} ({answer['address']}), "
                      f"pid {answer['pid']}, {url}")
            if answer.get("exit"):
                detail += f" ({answer['exit']})"
            out.append(ComponentStatus(name, kind, bool(answer["running"]), detail))
        if state.balancer == "nginx":
            nginx = ManagedProcess.attach(state.nginx, name="nginx")
            out.append(ComponentStatus("nginx", "balancer", nginx.running,
                                       f"this machine, pid {state.nginx.get('pid')}, "
                                       f"{state.endpoint}"))
        return out

    def quiesce(self, state: RunState) -> None:
        # The balancer first; SIGTERM makes each replica write out its buffered lines.
        ManagedProcess.attach(state.nginx, name="nginx").stop()
        if not state.replicas:
            return
        ray = self._connect(state)
        actors = [self._actor(ray, state, r.actor) for r in state.replicas]
        # A crashed actor has no process left to stop; `down` kills a hung one.
        self._settle(ray, [a.stop.remote() for a in actors if a is not None])

    def down(self, state: RunState) -> None:
        ManagedProcess.attach(state.nginx, name="nginx").stop()
        if state.ray.get("actors"):  # none recorded: nothing was created, no cluster to ask
            ray = self._connect(state)
            namespace = state.ray.get("namespace", "recctl")
            names = set(state.ray.get("actors", []))
            names |= set(run_actor_names(ray, namespace, state.experiment, state.run_id))
            actors = [a for a in (get_actor(ray, n, namespace) for n in sorted(names)) if a]
            # Each stops its process gracefully and deletes its folder on its node ...
            self._settle(ray, [a.cleanup.remote() for a in actors])
            for actor in actors:  # ... then the actor, and its process group with it, goes.
                ray.kill(actor, no_restart=True)
            self._wait_gone(ray, namespace, state)
        state.stopped = True
        state.save()

    @staticmethod
    def _settle(ray: Any, calls: list[Any]) -> None:
        from ray.exceptions import GetTimeoutError, RayActorError

        for call in calls:
            with contextlib.suppress(RayActorError, GetTimeoutError):  # ray.kill ends it
                ray.get(call, timeout=CALL_TIMEOUT)

    @staticmethod
    def _wait_gone(ray: Any, namespace: str, state: RunState, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while run_actor_names(ray, namespace, state.experiment, state.run_id):
            if time.monotonic() > deadline:
                left = ", ".join(run_actor_names(ray, namespace, state.experiment, state.run_id))
                raise RecctlError(f"Ray actors of run {state.run_id} are still alive: {left}",
                                  "kill them with `ray kill` or retry `recctl down`")
            time.sleep(0.1)

    def fetch_replica_logs(self, state: RunState, replica: ReplicaInfo, dest: Path) -> None:
        ray = self._connect(state)
        actor = self._actor(ray, state, replica.actor)
        if actor is None:
            raise RecctlError(f"{replica.name}: its Ray actor is gone, and its logs with it",
                              "fetch before `recctl down` (`recctl run` does)")
        size = wait_for(ray, actor.pack_logs.remote(), timeout=FETCH_TIMEOUT,
                        what=f"packing {replica.name}'s logs")

        def pieces() -> Iterator[bytes]:  # a piece at a time: memory stays bounded
            for offset in range(0, size, PIECE):
                yield wait_for(ray, actor.read_part.remote(offset, PIECE),
                               timeout=FETCH_TIMEOUT, what=f"fetching {replica.name}'s logs")

        safe_extract(pieces(), dest)  # trusts nothing in the archive
