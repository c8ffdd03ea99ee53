"""The pre-period for CUPED: each user's metrics before the experiment started.

The pre-period is event logs from before the experiment: by default the data folder's
bootstrap traffic (DATA/logs/day-NNN/: recctl.spec.default_pre_period), or any earlier
run folder the experiment file names (`report.pre_period`). It is read with the report's
own reader and user-level metrics (recctl.analysis.loading / metrics), ignoring arms:
only the users matter.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from recctl.analysis.loading import load_events
from recctl.analysis.metrics import user_metrics
from recctl.constants import METRICS
from recctl.errors import RecctlError
from recctl.eventlog import find_log_files
from recctl.paths import workspace_dir

_ALL_USERS = "exp:__pre_period__"  # one constant "arm", so user_metrics keeps every user


@dataclass(frozen=True)
class PrePeriod:
    """User-level metrics (index `user`, the METRICS columns) of the pre-period logs."""

    paths: tuple[str, ...]
    users: pd.DataFrame
    lines: int


def load_pre_period(paths: Sequence[str | Path], cache: bool = True) -> PrePeriod:
    """Read the pre-period logs into one row per user; a clear error when there are none.

    The bootstrap's ~1M lines take ~15 s to read, and every report of every run would
    read them again, so the per-user table is cached (WORKSPACE/cache/pre-period/, a
    .npz without pickles) under a key of the log files' paths, sizes and mtimes.
    """
    missing = [str(p) for p in paths if not Path(p).exists()]
    if missing:
        raise RecctlError(f"pre-period {', '.join(missing)} does not exist",
                          "point report.pre_period (or --pre-period) at an earlier run "
                          "folder or a data folder's logs/, or set report.cuped: false")
    names = tuple(str(p) for p in paths)
    cached = _cache_file(paths) if cache else None
    if cached is not None and cached.is_file():
        try:
            return _read_cache(cached, names)
        except (OSError, ValueError, KeyError):
            pass  # a damaged cache is rebuilt below
    events, read = load_events(paths)
    everyone = pd.Categorical.from_codes([0] * len(events), categories=["pre"])
    users, _ = user_metrics(events.assign(**{_ALL_USERS: everyone}), _ALL_USERS)
    pre = PrePeriod(paths=names, users=users[list(METRICS)], lines=read.lines)
    if cached is not None:
        _write_cache(cached, pre)
    return pre


def _cache_file(paths: Sequence[str | Path]) -> Path | None:
    files = find_log_files(paths)
    if not files:
        return None
    key = hashlib.sha256()
    for path in files:
        info = path.stat()
        key.update(f"{path.resolve()}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
    return workspace_dir() / "cache" / "pre-period" / f"{key.hexdigest()[:24]}.npz"


def _write_cache(path: Path, pre: PrePeriod) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp.npz")
        np.savez(partial, user=pre.users.index.to_numpy(dtype=np.int64),
                 lines=np.int64(pre.lines),
                 **{m: pre.users[m].to_numpy(dtype=np.float64) for m in METRICS})
        partial.replace(path)  # atomic: a reader never sees half a file
    except OSError:
        pass  # caching is an optimisation; a read-only workspace just reads the logs


def _read_cache(path: Path, names: tuple[str, ...]) -> PrePeriod:
    with np.load(path, allow_pickle=False) as stored:
        users = pd.DataFrame({m: stored[m] for m in METRICS},
                             index=pd.Index(stored["user"], name="user"))
        return PrePeriod(paths=names, users=users, lines=int(stored["lines"]))


def pre_period_values(users: pd.DataFrame, pre: pd.DataFrame, metric: str) -> pd.Series:
    """Each experiment user's pre-period value of `metric`, NaN for users without one."""
    return pre[metric].reindex(users.index)
