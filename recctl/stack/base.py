"""What every runtime shares: the run state on disk and the Runtime interface.

A run folder (`.recctl/runs/<experiment>/<run-id>/`) holds `state.json`, so that
`status`, `down` and `fetch` work from another shell. `.recctl/runs/<experiment>/current`
names the run that `up` started last. The state holds the run's Redis password, so the
file is 0600 and the run folders (and every folder below) are 0700.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from rich.console import Console

from recctl.errors import RecctlError
from recctl.eventlog import LOG_BASENAME
from recctl.spec import LoadedExperiment

STATE_FILE = "state.json"
PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def private_dir(path: Path) -> Path:
    """Create `path` readable by this user only, and any missing parent likewise; tighten
    `path` if it already exists. Parents that already existed keep their mode."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for folder in reversed(missing):
        folder.mkdir(mode=PRIVATE_DIR, exist_ok=True)
        folder.chmod(PRIVATE_DIR)  # whatever the umask
    path.chmod(PRIVATE_DIR)
    return path


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path` atomically, mode 0600 from the first byte (no window in
    which another user could open it)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    os.replace(tmp, path)


def replica_log_files(folder: Path) -> list[Path]:
    """What fetch copies of a replica's log folder: the event log, its rotated files and
    the writer's sidecar, as regular files only (a symlink could point anywhere)."""
    return [path for path in sorted(folder.iterdir())
            if path.name.startswith(LOG_BASENAME) and path.is_file() and not path.is_symlink()]


@dataclass
class ReplicaInfo:
    name: str                      # "replica-1", ...
    url: str | None = None         # reachable from this machine (local runtime), else None
    pid: int | None = None         # local runtime
    started: float | None = None   # local runtime: the process's start time (pid reuse check)
    service_log: str | None = None # local runtime: the replica's stdout/stderr
    log_dir: str | None = None     # local: a folder here; docker: a path in the container
    container: str | None = None   # docker runtime: container id
    node: str | None = None        # ray runtime: the node's address
    actor: str | None = None       # ray runtime: the named actor that owns the process


@dataclass
class RunState:
    experiment: str
    run_id: str
    runtime: Literal["local", "docker", "ray"]
    experiment_file: str
    config_hash: str
    seed: int
    run_dir: str
    created: str = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc).isoformat())
    endpoint: str | None = None                    # where clients send requests
    balancer: Literal["nginx", "client"] = "client"
    replica_urls: list[str] = field(default_factory=list)  # for client-side balancing
    replicas: list[ReplicaInfo] = field(default_factory=list)
    # url (no password: safe to print), password, port, argv and pid (local), container
    redis: dict[str, Any] = field(default_factory=dict)
    nginx: dict[str, Any] = field(default_factory=dict)    # pid, conf (local); container (docker)
    docker: dict[str, Any] = field(default_factory=dict)   # network, labels, images, ...
    ray: dict[str, Any] = field(default_factory=dict)      # address, namespace, actors, nodes
    stopped: bool = False
    served: dict[str, str] | None = None  # hashes of the file's arms, split, ... at `up`

    @property
    def path(self) -> Path:
        return Path(self.run_dir)

    @property
    def redis_url(self) -> str:
        """The Redis URL with the run's password (for clients; never print it)."""
        url = str(self.redis.get("url", ""))
        password = self.redis.get("password")
        if password and url.startswith("redis://"):
            return url.replace("redis://", f"redis://:{password}@", 1)
        return url

    def save(self) -> None:
        private_dir(self.path)
        write_private(self.path / STATE_FILE, json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, run_dir: Path) -> RunState:
        try:
            raw = json.loads((run_dir / STATE_FILE).read_text())
        except FileNotFoundError:
            raise RecctlError(f"no stack state in {run_dir}",
                              "start the stack with `recctl up EXPERIMENT.yml`") from None
        raw["replicas"] = [ReplicaInfo(**r) for r in raw.get("replicas", [])]
        return cls(**raw)


def new_run_id() -> str:
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{secrets.token_hex(3)}"


@dataclass
class ComponentStatus:
    name: str           # "redis", "replica-1", "nginx"
    kind: str           # "redis" | "replica" | "balancer"
    running: bool
    detail: str = ""    # pid, port, container id, why it is down


class Runtime(Protocol):
    """Brings up the same stack on some substrate (local processes, Docker)."""

    name: str

    def up(self, loaded: LoadedExperiment, state: RunState, console: Console) -> RunState:
        """Start Redis, the replicas and the balancer; wait until each replica is ready
        (artifacts loaded); fill in and save `state`. On failure stop what started."""

    def status(self, state: RunState) -> list[ComponentStatus]:
        """What is running now (a crashed process shows as not running)."""

    def down(self, state: RunState) -> None:
        """Stop and remove exactly what `up` started for this run."""

    def quiesce(self, state: RunState) -> None:
        """Stop the balancer and the replicas gracefully (each flushes its event log) but
        keep their logs readable, so a fetch afterwards sees every acknowledged request.
        `down` then removes the rest."""

    def fetch_replica_logs(self, state: RunState, replica: ReplicaInfo, dest: Path) -> None:
        """Copy the replica's event-log files (data.json, data.json.N) into `dest`, which
        exists and is empty. Must not follow links out of the log folder."""
