"""Where recctl finds its shipped defaults and keeps what it generates."""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def config_dir() -> Path:
    """The folder of shipped defaults: `config/` in a checkout, `recctl/_config` in a wheel."""
    checkout = _PACKAGE_DIR.parent / "config"
    if checkout.is_dir():
        return checkout
    return _PACKAGE_DIR / "_config"


def config_file(name: str) -> Path:
    return config_dir() / name


def workspace_dir(environ: os._Environ[str] | dict[str, str] | None = None) -> Path:
    """Root for run state (`.recctl/`) and fetched logs (`cache/`): RECCTL_HOME or the cwd."""
    env = os.environ if environ is None else environ
    return Path(env.get("RECCTL_HOME") or os.getcwd()).resolve()


def state_root(environ: dict[str, str] | None = None) -> Path:
    return workspace_dir(environ) / ".recctl" / "runs"


def cache_root(environ: dict[str, str] | None = None) -> Path:
    return workspace_dir(environ) / "cache"
