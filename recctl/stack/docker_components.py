"""The stack's containers, one function each: Redis, a botify replica, nginx.

Each is created on the run's private network under a short alias (`redis`,
`replica-1`, `nginx`) that only that network resolves, so two runs never clash;
files go in with put_archive before the container starts, so nothing on this
machine is mounted into a container.
"""

from __future__ import annotations

import io
import tarfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors
from docker.models.containers import Container

from recctl.stack.managed import tail_text
from recctl.stack.nginx import render_nginx_conf
from recctl.stack.probes import poll

SERVICE_PORT = 8000
NGINX_PORT = 8080
REDIS_PORT = 6379
RUN_FILES = "/opt/recctl-run"          # experiment file and artifacts, copied in
REDIS_CONF = "/etc/recctl/redis.conf"
REDIS_DATA = "/var/lib/recctl-redis"   # its append-only file: survives a container restart
LOG_DIR = "/var/log/recctl"            # the replica's event log, read back by get_archive
NGINX_CONF = "/etc/recctl/nginx.conf"
NGINX_TEMP = "/tmp/recctl-nginx"


@dataclass(frozen=True)
class Placement:
    """Where a container goes: the engine, the network, and the run's labels."""

    client: docker.DockerClient
    network: str
    prefix: str                       # container names: <prefix>-redis, <prefix>-replica-1
    labels: Callable[..., dict[str, str]]


def _create(place: Placement, image: str, alias: str, command: list[str],
            component: str, **kwargs: object) -> Container:
    extra = {"replica": alias} if component == "replica" else {}
    return place.client.containers.create(
        image, command=command, name=f"{place.prefix}-{alias}", hostname=alias,
        labels=place.labels(component, **extra), network=place.network,
        networking_config={place.network: place.client.api.create_endpoint_config(
            aliases=[alias])},
        detach=True, **kwargs,
    )


def tar_of(files: dict[str, bytes], folders: dict[str, int] | None = None,
           trees: dict[str, Path] | None = None) -> bytes:
    """A tar for put_archive: in-memory files, empty folders (with modes), and local trees."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, mode in (folders or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, mode, int(time.time())
            archive.addfile(info)
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, int(time.time())
            archive.addfile(info, io.BytesIO(data))
        for name, path in (trees or {}).items():
            # Owned by root, world-readable: the service runs as an unprivileged user.
            archive.add(path, arcname=name, filter=_readable)
    return buffer.getvalue()


def _readable(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    if not (info.isfile() or info.isdir()):
        return None  # artifacts are plain files; links are not followed into containers
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    info.mode = 0o755 if info.isdir() else 0o644
    return info


def redis_config(password: str) -> str:
    """Redis for the run's private network: a password, an append-only file (per-user
    state survives a restart of the container), no RDB snapshots."""
    return "\n".join([
        f"port {REDIS_PORT}",
        "protected-mode yes",
        'save ""',
        "appendonly yes",
        "appendfsync everysec",
        f"dir {REDIS_DATA}",
        f"requirepass {password}",
    ]) + "\n"


def redis_url(password: str) -> str:
    return f"redis://:{password}@redis:{REDIS_PORT}/0"


def start_redis(place: Placement, image: str, password: str) -> Container:
    # No published port: only the network's replicas reach it, and they need the password.
    # The config goes in as a file, so the password is not in the container's command.
    container = _create(place, image, "redis", ["redis-server", REDIS_CONF], component="redis")
    # World-writable data folder: the official image runs Redis as its own user.
    folders = {"etc/recctl": 0o755, REDIS_DATA.lstrip("/"): 0o777}
    config = {REDIS_CONF.lstrip("/"): redis_config(password).encode()}
    put_files(container, "/", tar_of(config, folders=folders))
    container.start()
    return container


def redis_probe(password: str) -> tuple[list[str], dict[str, str]]:
    """PING with the password from the environment (redis-cli reads REDISCLI_AUTH)."""
    return (["sh", "-c", "redis-cli ping | grep -q PONG"], {"REDISCLI_AUTH": password})


def put_files(container: Container, path: str, archive: bytes, attempts: int = 3) -> None:
    """Extract a tar into a created container. Retried on an engine error: Podman's copier
    now and then loses its helper process ("passing bulk input to subprocess: ... broken
    pipe": once in 11 runs of a Docker test here), and extracting the same tar again is
    harmless."""
    for attempt in range(1, attempts + 1):
        try:
            container.put_archive(path, archive)
            return
        except docker.errors.APIError:
            if attempt == attempts:
                raise
            time.sleep(0.5 * attempt)


def exec_ok(container: Container, command: list[str],
            environment: dict[str, str] | None = None) -> bool:
    """True when `command` exits 0 in the container (a readiness probe)."""
    try:
        result = container.exec_run(command, stdout=True, stderr=False, environment=environment)
    except docker.errors.APIError as exc:
        raise OSError(f"exec failed: {exc}") from None
    return bool(result.exit_code == 0)


def exit_reason(container: Container) -> str | None:
    """Why the container is not running any more (for poll's abort), or None."""
    container.reload()
    if container.status in ("created", "running"):
        return None
    code = container.attrs.get("State", {}).get("ExitCode")
    return f"container {container.name} is {container.status} (exit code {code})"


def log_tail(container: Container, lines: int = 30) -> str:
    try:
        text = container.logs(tail=lines).decode(errors="replace").rstrip()
    except docker.errors.APIError as exc:
        return f"(no logs: {exc})"
    return f"{container.name} log:\n    " + tail_text(text, lines)


def wait_for(container: Container, command: list[str], what: str, timeout: float,
             environment: dict[str, str] | None = None) -> None:
    poll(lambda: exec_ok(container, command, environment), timeout=timeout, interval=0.3, what=what,
         abort=lambda: exit_reason(container), on_timeout_hint=lambda: log_tail(container))


def start_replica(place: Placement, image: str, name: str, *, experiment_file: Path,
                  artifacts: Path, seed: int, redis: str) -> Container:
    command = [
        "recctl", "serve",
        "--experiment", f"{RUN_FILES}/experiment/{experiment_file.name}",
        "--artifacts", f"{RUN_FILES}/artifacts",
        "--host", "0.0.0.0", "--port", str(SERVICE_PORT),
        "--replica", name, "--log-dir", LOG_DIR, "--seed", str(seed),
    ]
    # The Redis URL (with its password) by environment: `recctl serve` reads RECCTL_REDIS.
    container = _create(place, image, name, command, component="replica",
                        environment={"RECCTL_REDIS": redis})
    put_files(container, RUN_FILES, _run_files(experiment_file, artifacts))
    container.start()
    return container


def _run_files(experiment_file: Path, artifacts: Path) -> bytes:
    return tar_of(
        {f"experiment/{experiment_file.name}": experiment_file.read_bytes()},
        folders={"experiment": 0o755},
        trees={"artifacts": artifacts},
    )


READY_PROBE = [
    "python3", "-c",
    "import sys, urllib.request as u; "
    f"sys.exit(0 if u.urlopen('http://127.0.0.1:{SERVICE_PORT}/ready', timeout=2).status == 200"
    " else 1)",
]


def start_nginx(place: Placement, image: str, upstreams: list[str], *, host: str,
                port: int) -> Container:
    conf = render_nginx_conf(
        listen=str(NGINX_PORT), upstreams=[f"{u}:{SERVICE_PORT}" for u in upstreams],
        pid_file="/tmp/recctl-nginx.pid", error_log="stderr", temp_dir=NGINX_TEMP,
    )
    # The only published port of the stack, bound to `host` (127.0.0.1 by default).
    container = _create(place, image, "nginx", ["nginx", "-c", NGINX_CONF],
                        component="nginx", ports={f"{NGINX_PORT}/tcp": (host, port)})
    # nginx creates the temp folders below NGINX_TEMP itself, owned by its worker user.
    folders = {"etc/recctl": 0o755, NGINX_TEMP.lstrip("/"): 0o755}
    put_files(container, "/", tar_of({NGINX_CONF.lstrip("/"): conf.encode()}, folders=folders))
    container.start()
    return container
