"""Report engines: what the report needs from the logs, computed in memory or by DuckDB.

The report (statistics, reconciliation, outputs) never looks at single events: it reads a
`LogFacts` (per-user metrics, per-arm latency percentiles, latency outliers, lines per
replica, the reader's summary). The `memory` engine computes it with pandas from
read_events' frame; the `duckdb` engine (recctl/analysis/engine_duckdb.py) in SQL, out of
core, for logs larger than memory. `auto` picks DuckDB above AUTO_DUCKDB_BYTES of logs.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import pandas as pd

from recctl.analysis.facts import LogFacts, LogSource
from recctl.analysis.loading import experiment_names, load_events
from recctl.analysis.metrics import (
    latency_outliers,
    latency_percentiles,
    user_metrics,
)
from recctl.analysis.reconcile import lines_per_replica
from recctl.errors import RecctlError
from recctl.eventlog import find_log_files

EngineName = Literal["auto", "memory", "duckdb"]
ENGINES = ("auto", "memory", "duckdb")
# The in-memory reader peaks at ~1.6x the logs' bytes (1M events: 240 MB of logs, 380 MB
# RSS): above 1 GiB of logs `auto` reads them with DuckDB instead.
AUTO_DUCKDB_BYTES = 1 << 30
INSTALL_HINT = "pip install 'recctl[duckdb]'"


class EngineUnavailable(RecctlError):
    """The DuckDB engine was asked for and DuckDB is not installed (CLI exit code 2)."""


def facts_from_events(events: pd.DataFrame, experiment: str) -> LogFacts:
    """The memory engine's facts, from read_events' frame."""
    column = f"exp:{experiment}"
    users, summary = user_metrics(events, column)
    return LogFacts(users=users, user_summary=summary,
                    arms=[str(a) for a in events[column].cat.categories],
                    latency=latency_percentiles(events, column),
                    latency_outliers=latency_outliers(events, column),
                    per_replica=lines_per_replica(events), rows=len(events))


class MemorySource:
    """read_events' frame in memory (the reference engine)."""

    name = "memory"

    def __init__(self, paths: Sequence[str | Path]) -> None:
        self.events, self.read = load_events(paths)

    def experiment_names(self) -> list[str]:
        return experiment_names(self.events)

    def facts(self, experiment: str) -> LogFacts:
        return facts_from_events(self.events, experiment)

    def close(self) -> None:
        del self.events


def duckdb_available() -> bool:
    try:
        import duckdb  # noqa: F401
    except ImportError:
        return False
    return True


def log_bytes(paths: Sequence[str | Path]) -> int:
    return sum(p.stat().st_size for p in find_log_files(paths))


def choose_engine(paths: Sequence[str | Path], engine: str) -> tuple[str, list[str]]:
    """The engine to read `paths` with ("memory" or "duckdb"), and notes for the report.

    `auto` takes DuckDB above AUTO_DUCKDB_BYTES of logs when it is installed; without it,
    a note says how to install it and the logs are read in memory (they may still fit).
    """
    if engine not in ENGINES:
        raise RecctlError(f"unknown report engine {engine!r}",
                          f"choose one of {', '.join(ENGINES)}")
    if engine == "duckdb" and not duckdb_available():
        raise EngineUnavailable("the duckdb report engine needs DuckDB, which is not "
                                "installed", f"{INSTALL_HINT}, or use --engine memory")
    if engine != "auto":
        return engine, []
    size = log_bytes(paths)
    if size <= AUTO_DUCKDB_BYTES:
        return "memory", []
    if duckdb_available():
        return "duckdb", []
    return "memory", [f"The logs hold {size / 1e9:.1f} GB, above the {AUTO_DUCKDB_BYTES / 1e9:.1f}"
                      f" GB where report.engine auto reads them out of core with DuckDB, which "
                      f"is not installed ({INSTALL_HINT}): read in memory instead."]


def open_logs(paths: Sequence[str | Path], engine: str) -> LogSource:
    """The logs under `paths`, opened by `engine` ("memory" or "duckdb")."""
    if engine == "duckdb":
        from recctl.analysis.engine_duckdb import DuckDBSource

        return DuckDBSource(paths)
    return MemorySource(paths)
