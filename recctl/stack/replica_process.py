"""A botify replica as a managed process (`python -m recctl.botify ...`): ready on /ready.

Used by the local runtime and by the tests alike. The Redis URL (it carries the run's
password) goes in the environment, never on the command line where `ps` shows it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from recctl.eventlog import LOG_BASENAME
from recctl.stack.managed import ManagedProcess
from recctl.stack.probes import free_port, http_probe, http_url

READY_TIMEOUT = 120.0  # loading large artifacts into an empty Redis takes a while
REPLICA_HEADER = "x-botify-replica"  # every answer of a replica names it


class ReplicaProcess(ManagedProcess):
    """One replica on its own port; `url` reaches it from this machine."""

    def __init__(self, *, name: str, experiment: Path, redis_url: str, log_dir: Path,
                 service_log: Path, artifacts: Path | None = None, host: str = "127.0.0.1",
                 port: int | None = None, seed: int | None = None,
                 endpoint_port: int | None = None, ready_path: str = "/ready",
                 extra_args: Sequence[str] = (), env: Mapping[str, str] | None = None,
                 ready_timeout: float = READY_TIMEOUT) -> None:
        """Args:
            log_dir: the replica's event-log folder (data.json ...).
            service_log: its stdout and stderr.
            endpoint_port: also listen on this shared port (SO_REUSEPORT balancing).
            ready_path: "/ready" (artifacts loaded, Redis reachable) or "/health" (up).
            env: variables added to this process's environment (RECCTL_* limits).
        """
        self.host = host
        self.port = port or free_port(host)
        self.log_dir = Path(log_dir)
        argv = [sys.executable, "-m", "recctl.botify", "--experiment", str(experiment),
                "--host", host, "--port", str(self.port), "--replica", name,
                "--log-dir", str(self.log_dir)]
        if artifacts is not None:
            argv += ["--artifacts", str(artifacts)]
        if seed is not None:  # the experiment's seed also fixes the service's choices
            argv += ["--seed", str(seed)]
        if endpoint_port is not None:
            argv += ["--endpoint-port", str(endpoint_port)]
        argv += list(extra_args)
        environ = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {}),
                   "RECCTL_REDIS": redis_url}
        super().__init__(argv, name=name, log_file=Path(service_log), env=environ,
                         # Its name in the answer: ready means this process answers.
                         probe=http_probe(self.url + ready_path, (REPLICA_HEADER, name)),
                         ready_timeout=ready_timeout,
                         stop_timeout=15.0)  # the service's graceful drain takes up to 10 s

    @property
    def url(self) -> str:
        return http_url(self.host, self.port)

    @property
    def event_log(self) -> Path:
        """The current event-log file."""
        return self.log_dir / LOG_BASENAME
