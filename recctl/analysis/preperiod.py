"""The pre-period for CUPED: each user's metrics before the experiment started.

The pre-period is event logs from before the experiment: by default the data folder's
bootstrap traffic (DATA/logs/day-NNN/), or any earlier run folder the experiment file
names (`report.pre_period`). It is read with the report's own reader and user-level
metrics (recctl.analysis.loading / metrics), ignoring arms: only the users matter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from recctl.analysis.loading import load_events
from recctl.analysis.metrics import METRICS, user_metrics
from recctl.errors import RecctlError
from recctl.eventlog import find_log_files

_ALL_USERS = "exp:__pre_period__"  # one constant "arm", so user_metrics keeps every user


@dataclass(frozen=True)
class PrePeriod:
    """User-level metrics (index `user`, the METRICS columns) of the pre-period logs."""

    paths: tuple[str, ...]
    users: pd.DataFrame
    lines: int


def default_pre_period(data_dir: str | Path | None) -> Path | None:
    """DATA/logs when the data folder has bootstrap logs there, else None."""
    if data_dir is None:
        return None
    logs = Path(data_dir) / "logs"
    return logs if logs.is_dir() and find_log_files([logs]) else None


def load_pre_period(paths: Sequence[str | Path]) -> PrePeriod:
    """Read the pre-period logs into one row per user; a clear error when there are none."""
    missing = [str(p) for p in paths if not Path(p).exists()]
    if missing:
        raise RecctlError(f"pre-period {', '.join(missing)} does not exist",
                          "point report.pre_period (or --pre-period) at an earlier run "
                          "folder or a data folder's logs/, or set report.cuped: false")
    events, read = load_events(paths)
    everyone = pd.Categorical.from_codes([0] * len(events), categories=["pre"])
    users, _ = user_metrics(events.assign(**{_ALL_USERS: everyone}), _ALL_USERS)
    return PrePeriod(paths=tuple(str(p) for p in paths), users=users[list(METRICS)],
                     lines=read.lines)


def pre_period_values(users: pd.DataFrame, pre: pd.DataFrame, metric: str) -> pd.Series:
    """Each experiment user's pre-period value of `metric`, NaN for users without one."""
    return pre[metric].reindex(users.index)
