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
import shutil
import socket
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import ray

from recctl.errors import RecctlError
from recctl.stack.base import private_dir, replica_log_files, write_private
from recctl.stack.managed import ManagedProcess
from recctl.stack.redis_server import RedisServer
from recctl.stack.replica_process import ReplicaProcess
from recctl.stack.safe_tar import safe_extract

READY_TIMEOUT = 120.0
REDIS_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0
ARCHIVE = "logs.tar"  # the packed log folder, read by the driver in pieces


def node_address() -> str:
    """The address this node is known by in the cluster."""
    return ray.util.get_node_ip_address()


def work_root() -> Path:
    return Path(tempfile.gettempdir()) / "recctl-ray"


class ProcessOwner:
    """One stack component's process on this node (see the module docstring)."""

    def __init__(self, key: str) -> None:
        # key: "<experiment>/<run-id>/<component>" (names checked by the spec: no '..').
        self.home = private_dir(work_root() / key)
        self.output = self.home / "process.log"
        self.process: ManagedProcess | None = None
        self.log_dir: Path | None = None
        self.kind = ""

    # -- start ------------------------------------------------------------------------
    def node(self) -> dict[str, str]:
        return {"address": node_address(), "node_id": ray.get_runtime_context().get_node_id(),
                "hostname": socket.gethostname()}

    def _start(self, process: ManagedProcess) -> ManagedProcess:
        # Deliberately in the actor's own process group: ray.kill of the actor ends it too.
        process.own_session = False
        self.process = process.start()  # stopped again if it does not get ready
        return process

    def _exit_reason(self) -> str | None:
        return self.process.exit_reason() if self.process is not None else None

    def start_redis(self, password: str) -> dict[str, Any]:
        """Redis on this node's address with the run's password and an append-only file."""
        self.kind = "redis"
        host = node_address()
        # The password goes in the 0600 config file, never on argv.
        server = self._start(RedisServer(host=host, workdir=self.home / "redis",
                                         password=password, persist=True,
                                         ready_timeout=REDIS_TIMEOUT))
        assert isinstance(server, RedisServer)
        return {"host": host, "port": server.port, "url": server.public_url,
                "pid": server.pid, "node_id": self.node()["node_id"]}

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
        replica = self._start(ReplicaProcess(
            name=name, experiment=experiment, redis_url=redis_url, log_dir=self.log_dir,
            service_log=self.output, artifacts=artifacts, host=host, seed=seed,
            ready_timeout=READY_TIMEOUT))
        assert isinstance(replica, ReplicaProcess)
        return {"url": replica.url, "pid": replica.pid, "log_dir": str(self.log_dir),
                "output": str(self.output), "node_id": self.node()["node_id"],
                "address": host}

    # -- inspect and stop --------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        running = self.process is not None and self.process.running
        return {"running": running, "pid": self.process.pid if self.process else None,
                "address": node_address(), "node_id": self.node()["node_id"],
                "kind": self.kind,
                "exit": None if running else self._exit_reason()}

    def stop(self, timeout: float = STOP_TIMEOUT) -> bool:
        """SIGTERM (a replica then writes out its buffered log lines), then SIGKILL.
        False when there was nothing running to stop."""
        if self.process is None or not self.process.running:
            return False
        self.process.stop(timeout)
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
            for path in replica_log_files(self.log_dir):
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
