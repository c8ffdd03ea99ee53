"""Where and how the stack runs: `stack:` (runtime, replicas, balancer, host, Docker
images, Ray), and the host check replicas and nginx rely on."""

from __future__ import annotations

import ipaddress
import re
import socket
from typing import Literal

from pydantic import Field, field_validator

from recctl.constants import LOOPBACK
from recctl.settings import Settings

# A name that becomes a folder, a container or a Ray namespace: nothing that escapes or hides.
NAME_RULE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


class DockerImages(Settings):
    base: str = "python:3.11-slim"
    redis: str = "redis:7-alpine"
    nginx: str = "nginx:1.27-alpine"


RAY_ADDRESS = re.compile(r"^(auto|ray://[^\s/:]+:\d{1,5}|[^\s/:]+:\d{1,5})$")


class RaySpec(Settings):
    """Where the Ray runtime runs the stack (`stack.runtime: ray`)."""

    address: str = Field("auto", description="auto (the cluster this machine belongs to), "
                         "ray://HOST:PORT (Ray Client) or HOST:PORT (the head's GCS)")
    namespace: str = Field("recctl", description="Ray namespace of the run's named actors")
    shards: int | None = Field(None, ge=1, le=1024,
                               description="simulation shards; one per alive node if unset")
    replica_cpus: float = Field(0.0, ge=0, description="CPUs Ray reserves per replica actor")
    shard_cpus: float = Field(1.0, ge=0, description="CPUs Ray reserves per simulation shard")

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        if not RAY_ADDRESS.match(value):
            raise ValueError("must be auto, ray://HOST:PORT or HOST:PORT (the head node's "
                             "address, as `ray start --head` prints it)")
        return value

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str) -> str:
        if not NAME_RULE.match(value):
            raise ValueError("must be letters, digits, '_', '.' or '-', e.g. recctl")
        return value


class StackSpec(Settings):
    runtime: Literal["local", "docker", "ray"] = "local"
    replicas: int = Field(2, ge=1, le=32)
    balancer: Literal["auto", "nginx", "client"] = "auto"
    host: str = LOOPBACK
    port: int | None = Field(None, ge=1, le=65535, description="balancer port; free one if unset")
    log_max_bytes: int = Field(64 * 1024 * 1024, ge=1024)
    log_backups: int = Field(50, ge=1)
    user_state_ttl: int = Field(86400, ge=1, description="seconds per-user state lives in Redis")
    images: DockerImages = DockerImages()
    docker_host: str | None = None
    ray: RaySpec = RaySpec()

    @field_validator("host")
    @classmethod
    def _resolvable_host(cls, value: str) -> str:
        return check_host(value)


def check_host(value: str) -> str:
    """An IP address, or a host name this machine resolves (what replicas and nginx bind).

    The syntax is checked first, so a malformed value never reaches the resolver.
    """
    try:
        ipaddress.ip_address(value)
        return value
    except ValueError:
        pass
    labels = value.rstrip(".").split(".")
    if labels[-1].lower() == "invalid":  # RFC 6761: never resolves, so do not ask DNS
        raise ValueError("does not resolve to an address on this machine; use an IP "
                         "address such as 127.0.0.1 (or 0.0.0.0 for every interface)")
    if (not value or len(value) > 253 or not all(HOST_LABEL.match(p) for p in labels)
            or labels[-1].isdigit()):
        raise ValueError("is neither an IP address nor a host name; use e.g. 127.0.0.1")
    try:
        socket.getaddrinfo(value, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise ValueError("does not resolve to an address on this machine; use an IP "
                         "address such as 127.0.0.1 (or 0.0.0.0 for every interface)") from None
    return value
