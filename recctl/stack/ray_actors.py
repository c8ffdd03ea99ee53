"""The Ray actor that owns one process of the stack (Redis or a replica) on its node.

`recctl up` creates one named, detached actor per component; the actor starts the
process as its own child (no new session: `ray.kill` of the actor then takes the
process's group with it, so nothing escapes cleanup) and answers `status`, `stop`,
`pack_logs`/`read_part` and `cleanup` for as long as the run lives, from whichever shell asks.

Everything the process needs crosses as plain bytes and strings: the artifacts folder as
a tar archive (extracted with the project's safe extraction), the experiment file as
text, the Redis URL with its password in the child's environment, never on its command
line. The process listens on the node's address (what the other nodes reach), Redis with
the run's password. Files live in a private folder (0700) under the node's temp folder.
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import ray

from recctl.errors import RecctlError
from recctl.stack.base import private_dir, write_private
from recctl.stack.probes import free_port, http_ok, http_url, poll
from recctl.stack.redis_server import RedisServer
from recctl.stack.safe_tar import safe_extract

READY_TIMEOUT = 120.0
REDIS_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0
LOG_PREFIX = "data.json"  # the event log, its rotated files and the writer's sidecar
ARCHIVE = "logs.tar"  # the packed log folder, read by the driver in pieces


def node_address() -> str:
    """The address this node is known by in the cluster."""
    return ray.util.get_node_ip_address()


def work_root() -> Path:
    return Path(tempfile.gettempdir()) / "recctl-ray"


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return "(no log)"
    return "\n    ".join(text) if text else "(empty log)"


class ProcessOwner:
    """One stack component's process on this node (see the module docstring)."""

    def __init__(self, key: str) -> None:
        # key: "<experiment>/<run-id>/<component>" (names checked by the spec: no '..').
        self.home = private_dir(work_root() / key)
        self.output = self.home / "process.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.log_dir: Path | None = None
        self.kind = ""

    # -- start ------------------------------------------------------------------------
    def node(self) -> dict[str, str]:
        return {"address": node_address(), "node_id": ray.get_runtime_context().get_node_id(),
                "hostname": socket.gethostname()}

    def _spawn(self, argv: list[str], env: dict[str, str] | None = None) -> None:
        with open(self.output, "ab") as log:
            # Deliberately the actor's own process group: ray.kill of the actor ends it too.
            self.process = subprocess.Popen(  # noqa: S603 (argv built by recctl)
                argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                cwd=self.home, env=env)

    def _exit_reason(self) -> str | None:
        if self.process is not None and self.process.poll() is not None:
            return f"exited with code {self.process.returncode}"
        return None

    def start_redis(self, password: str) -> dict[str, Any]:
        """Redis on this node's address with the run's password and an append-only file."""
        self.kind = "redis"
        host = node_address()
        server = RedisServer(host=host, workdir=self.home / "redis", password=password,
                             persist=True)
        server.write_config()  # the password goes in the 0600 config, not on argv
        self._spawn(server.command())
        try:
            server.wait_until_ready(REDIS_TIMEOUT, abort=self._exit_reason)
        except BaseException:
            self.stop()
            raise
        assert self.process is not None
        return {"host": host, "port": server.port, "url": server.public_url,
                "pid": self.process.pid, "node_id": self.node()["node_id"]}

    def start_replica(self, name: str, experiment_text: str, artifacts_tar: bytes,
                      redis_url: str, seed: int) -> dict[str, Any]:
        """Unpack the artifacts, start `python -m recctl.botify`, wait until /ready."""
        self.kind = "replica"
        artifacts = private_dir(self.home / "artifacts")
        safe_extract(io.BytesIO(artifacts_tar), artifacts)
        experiment = self.home / "experiment.yml"
        write_private(experiment, experiment_text)
        self.log_dir = private_dir(self.home / "logs")
        host = node_address()
        port = free_port(host)
        argv = [sys.executable, "-m", "recctl.botify", "--artifacts", str(artifacts),
                "--experiment", str(experiment), "--host", host, "--port", str(port),
                "--replica", name, "--log-dir", str(self.log_dir), "--seed", str(seed)]
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "RECCTL_REDIS": redis_url}
        self._spawn(argv, env)
        url = http_url(host, port)
        try:
            poll(lambda: http_ok(f"{url}/ready"), timeout=READY_TIMEOUT, interval=0.1,
                 what=f"{name} ({url}) on node {host}", abort=self._exit_reason,
                 on_timeout_hint=lambda: f"{name} log:\n    " + _tail(self.output))
        except BaseException:
            self.stop()
            raise
        assert self.process is not None
        return {"url": url, "pid": self.process.pid, "log_dir": str(self.log_dir),
                "output": str(self.output), "node_id": self.node()["node_id"],
                "address": host}

    # -- inspect and stop --------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        running = self.process is not None and self.process.poll() is None
        return {"running": running, "pid": self.process.pid if self.process else None,
                "address": node_address(), "node_id": self.node()["node_id"],
                "kind": self.kind,
                "exit": None if running else self._exit_reason()}

    def stop(self, timeout: float = STOP_TIMEOUT) -> bool:
        """SIGTERM (a replica then writes out its buffered log lines), then SIGKILL."""
        process = self.process
        if process is None or process.poll() is not None:
            return False
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        return True

    def pack_logs(self) -> int:
        """Put the event-log files in one tar archive on the node; returns its size.

        Regular files named data.json* only: never a link, which could point anywhere.
        The driver then reads it in pieces (`read_part`), so memory stays bounded, and
        plain calls work through Ray Client too (streaming methods do not)."""
        if self.log_dir is None or not self.log_dir.is_dir():
            raise RecctlError(f"no log folder on node {node_address()}",
                              "was this replica started? nothing to fetch")
        archive_path = self.home / ARCHIVE
        with tarfile.open(archive_path, mode="w") as archive:
            for path in sorted(self.log_dir.iterdir()):
                if (path.name.startswith(LOG_PREFIX) and not path.is_symlink()
                        and path.is_file()):
                    archive.add(path, arcname=path.name, recursive=False)
        return archive_path.stat().st_size

    def read_part(self, offset: int, size: int) -> bytes:
        """Up to `size` bytes of the packed archive from `offset`."""
        with open(self.home / ARCHIVE, "rb") as archive:
            archive.seek(offset)
            return archive.read(size)

    def cleanup(self) -> None:
        """Stop the process and delete this component's folder on the node."""
        self.stop()
        shutil.rmtree(self.home, ignore_errors=True)
        for parent in (self.home.parent, self.home.parent.parent):
            try:
                parent.rmdir()  # the run's and the experiment's folders, once empty
            except OSError:
                break


def actor_class(cpus: float) -> Any:
    """ProcessOwner as a Ray actor class reserving `cpus` CPUs."""
    return ray.remote(num_cpus=cpus, max_restarts=0)(ProcessOwner)
