"""What one replica needs to know, from CLI options or from an environ mapping."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from recctl.errors import RecctlError


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
    seed: int | None = None  # the replica's random generator; None: from the OS

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
            )
        except ValueError as exc:
            raise RecctlError(f"bad RECCTL_* setting: {exc}",
                              "ports and sizes are integers") from None
