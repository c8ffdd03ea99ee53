"""What one replica needs to know, from CLI options or from an environ mapping."""

from __future__ import annotations

import math
import os
import resource
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from recctl.errors import RecctlError

# File descriptors kept for Redis, the event log and the loader when the connection cap
# is derived from the process's limit.
RESERVED_FDS = 256
# More open connections than one Python replica can serve, whatever the descriptor limit
# (a container's may be a million): beyond it each idle one is only memory.
MAX_CONNECTIONS = 10_000


def _default_max_connections() -> int:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return MAX_CONNECTIONS
    return max(64, min(MAX_CONNECTIONS, soft - RESERVED_FDS))


LIMIT_VARIABLES = {
    "redis_pool": "RECCTL_REDIS_POOL", "pool_wait": "RECCTL_REDIS_POOL_WAIT",
    "max_inflight": "RECCTL_MAX_INFLIGHT", "max_connections": "RECCTL_MAX_CONNECTIONS",
    "header_timeout": "RECCTL_HEADER_TIMEOUT", "body_timeout": "RECCTL_BODY_TIMEOUT",
    "keep_alive": "RECCTL_KEEP_ALIVE",
}


@dataclass(frozen=True)
class Limits:
    """How much load a replica takes, and how long it waits for slow clients.

    Tuning knobs, not experiment settings: each has a RECCTL_* environment variable
    (read by `recctl serve` and by containers alike).
    """

    redis_pool: int = 64  # pooled Redis connections; more requests wait for one
    pool_wait: float = 5.0  # seconds a request waits for a pooled connection, then "busy"
    max_inflight: int = 2048  # requests being answered at once; beyond: 503 busy
    max_connections: int = field(default_factory=_default_max_connections)
    header_timeout: float = 10.0  # a request's headers (and a new connection's first bytes)
    body_timeout: float = 10.0  # a request's body, once its headers arrived
    # Longer than nginx's upstream keepalive_timeout (60 s) and aiohttp's (15 s): the
    # client always closes an idle connection first, so it never reuses one we closed.
    keep_alive: float = 75.0

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Limits:
        env = os.environ if environ is None else environ
        values: dict[str, float | int] = {}
        for name, variable in LIMIT_VARIABLES.items():
            raw = env.get(variable)
            if not raw:
                continue
            kind = int if name in ("redis_pool", "max_inflight", "max_connections") else float
            try:
                value = kind(raw)
            except ValueError:
                raise RecctlError(f"{variable}={raw[:80]!r} is not a number",
                                  f"set {variable} to a positive {kind.__name__}") from None
            if not (value > 0 and math.isfinite(value)):
                raise RecctlError(f"{variable}={raw[:80]!r} must be positive",
                                  f"set {variable} to a positive {kind.__name__}")
            values[name] = value
        return cls(**values)  # type: ignore[arg-type]


@dataclass(frozen=True)
class ServiceSettings:
    experiment: Path
    artifacts: Path | None = None  # None: the experiment file's artifacts folder
    redis_url: str = "redis://127.0.0.1:6379/0"
    replica: str = ""  # "" means the host name (a container's id under Docker)
    log_dir: Path = Path("logs")
    host: str = "127.0.0.1"
    port: int = 5000
    cache_mb: int = 48  # process cache of artifact lists
    seed: int | None = None  # keys the generator of each request with a session; None: OS
    limits: Limits = field(default_factory=Limits.from_environ)

    @property
    def replica_name(self) -> str:
        return self.replica or socket.gethostname()

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> ServiceSettings:
        """Settings from RECCTL_* variables (what `uvicorn --factory` and containers use)."""
        env = os.environ if environ is None else environ
        if "RECCTL_EXPERIMENT" not in env:
            raise RecctlError("RECCTL_EXPERIMENT is not set",
                              "set it to the experiment file, or run `recctl serve --experiment`")
        try:
            return cls(
                experiment=Path(env["RECCTL_EXPERIMENT"]),
                artifacts=Path(env["RECCTL_ARTIFACTS"]) if env.get("RECCTL_ARTIFACTS") else None,
                redis_url=env.get("RECCTL_REDIS", cls.redis_url),
                replica=env.get("RECCTL_REPLICA", ""),
                log_dir=Path(env.get("RECCTL_LOG_DIR", "logs")),
                host=env.get("RECCTL_HOST", cls.host),
                port=int(env.get("RECCTL_PORT", cls.port)),
                cache_mb=int(env.get("RECCTL_CACHE_MB", cls.cache_mb)),
                seed=int(env["RECCTL_SEED"]) if env.get("RECCTL_SEED") else None,
                limits=Limits.from_environ(env),
            )
        except ValueError as exc:
            raise RecctlError(f"bad RECCTL_* setting: {exc}",
                              "ports and sizes are integers") from None
