"""What the report reads from the logs, whichever engine read them (recctl.analysis.engine
chooses one; engine_duckdb is the out-of-core one)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import pandas as pd

from recctl.analysis.metrics import UserSummary
from recctl.eventlog import ReadSummary


@dataclass
class LogFacts:
    """Everything the report reads from the logs for one experiment.

    users: one row per user (metrics.user_metrics' frame). arms: the experiment's arms in
    the logs, in natural order (C, T1, T2, ...). latency: p50/p95/p99 per arm (ms).
    per_replica: lines read per replica; rows: lines read in total (duplicates dropped).
    """

    users: pd.DataFrame
    user_summary: UserSummary
    arms: list[str]
    latency: pd.DataFrame
    latency_outliers: dict[str, Any]
    per_replica: dict[str, int]
    rows: int
    engine: str = "memory"


class LogSource(Protocol):
    """Logs opened by an engine: first the experiments they name, then one's facts."""

    read: ReadSummary
    name: str

    def experiment_names(self) -> list[str]: ...

    def facts(self, experiment: str) -> LogFacts: ...

    def close(self) -> None: ...
