"""What one replica needs to know, from command-line options or RECCTL_* variables.

Both are settings models (recctl.settings): a bad value is one RecctlError naming the
option or variable, the value and the fix, before anything starts.
"""

from __future__ import annotations

import os
import resource
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import Field

from recctl.constants import LOOPBACK
from recctl.errors import RecctlError
from recctl.settings import Settings, validate

# File descriptors kept for Redis, the event log and the loader when the connection cap
# is derived from the process's limit.
RESERVED_FDS = 256
# More open connections than one Python replica can serve, whatever the descriptor limit
# (a container's may be a million): beyond it each idle one is only memory.
MAX_CONNECTIONS = 10_000

# The defaults of `recctl serve` / `python -m recctl.botify` and of the variables alike.
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_PORT = 5000
DEFAULT_CACHE_MB = 48
DEFAULT_LOG_DIR = Path("logs")


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
SERVICE_VARIABLES = {
    "experiment": "RECCTL_EXPERIMENT", "artifacts": "RECCTL_ARTIFACTS",
    "redis_url": "RECCTL_REDIS", "replica": "RECCTL_REPLICA", "log_dir": "RECCTL_LOG_DIR",
    "host": "RECCTL_HOST", "port": "RECCTL_PORT", "cache_mb": "RECCTL_CACHE_MB",
    "seed": "RECCTL_SEED",
}
ENVIRONMENT = "environment"  # the source named in errors about RECCTL_* variables


def _from_environ(names: Mapping[str, str], env: Mapping[str, str]) -> dict[str, Any]:
    # An empty variable counts as unset, as a shell's `VAR=` usually means.
    return {field: env[variable] for field, variable in names.items() if env.get(variable)}


class Limits(Settings):
    """How much load a replica takes, and how long it waits for slow clients.

    Tuning knobs, not experiment settings: each has a RECCTL_* environment variable
    (read by `recctl serve` and by containers alike). All are positive and finite.
    """

    model_config = Settings.model_config | {"allow_inf_nan": False}

    redis_pool: int = Field(64, gt=0)  # pooled Redis connections; more requests wait
    pool_wait: float = Field(5.0, gt=0)  # seconds a request waits for one, then "busy"
    max_inflight: int = Field(2048, gt=0)  # requests being answered at once; beyond: 503
    max_connections: int = Field(default_factory=_default_max_connections, gt=0)
    header_timeout: float = Field(10.0, gt=0)  # headers (and a new connection's first bytes)
    body_timeout: float = Field(10.0, gt=0)  # a request's body, once its headers arrived
    # Longer than nginx's upstream keepalive_timeout (60 s) and aiohttp's (15 s): the
    # client always closes an idle connection first, so it never reuses one we closed.
    keep_alive: float = Field(75.0, gt=0)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Limits:
        env = os.environ if environ is None else environ
        return validate(cls, _from_environ(LIMIT_VARIABLES, env), ENVIRONMENT,
                        what="RECCTL_* limits", names=LIMIT_VARIABLES,
                        hint="set the variable to a positive number, or unset it")


class ServiceSettings(Settings):
    experiment: Path
    artifacts: Path | None = None  # None: the experiment file's artifacts folder
    redis_url: str = DEFAULT_REDIS_URL
    replica: str = ""  # "" means the host name (a container's id under Docker)
    log_dir: Path = DEFAULT_LOG_DIR
    host: str = LOOPBACK
    port: int = Field(DEFAULT_PORT, ge=0, le=65535)  # 0: any free port
    cache_mb: int = Field(DEFAULT_CACHE_MB, ge=0)  # process cache of artifact lists
    seed: int | None = None  # keys the generator of each request with a session; None: OS
    limits: Limits = Field(default_factory=Limits.from_environ)

    @property
    def replica_name(self) -> str:
        return self.replica or socket.gethostname()

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> ServiceSettings:
        """Settings from RECCTL_* variables (what `uvicorn --factory` and containers use)."""
        env = os.environ if environ is None else environ
        if not env.get("RECCTL_EXPERIMENT"):
            raise RecctlError("RECCTL_EXPERIMENT is not set",
                              "set it to the experiment file, or run `recctl serve --experiment`")
        values: dict[str, Any] = _from_environ(SERVICE_VARIABLES, env)
        values["limits"] = Limits.from_environ(env)
        return validate(cls, values, ENVIRONMENT, what="RECCTL_* settings",
                        names=SERVICE_VARIABLES,
                        hint="set the variable to a valid value (ports and sizes are integers)")
