"""The notebook API: each step of the report as a function returning pandas DataFrames.

    from recctl.analysis import api
    events = api.load("cache/run-1")                     # every replica, rotated files
    users = api.user_level(events, "my_experiment")      # one row per user
    table = api.compare(users, control="C")              # the A/B table
    api.report("cache/run-1").table                      # or all at once
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from recctl.analysis.build import build_report
from recctl.analysis.compare import compare_arms
from recctl.analysis.loading import load_events, resolve_experiment
from recctl.analysis.metrics import latency_percentiles, user_metrics
from recctl.analysis.report import Report
from recctl.analysis.sessions import sessionize
from recctl.constants import DEFAULT_GUARDRAILS, METRICS, PRIMARY_METRIC
from recctl.errors import RecctlError
from recctl.stats.settings import CorrectionName, ReportSettings


def load(*paths: str | Path) -> pd.DataFrame:
    """Events from run folders or log files (read_events' columns)."""
    events, _ = load_events(list(paths))
    return events


def sessions(events: pd.DataFrame) -> pd.DataFrame:
    """One row per session: user, tracks, time, latency_sum, closed."""
    return sessionize(events)[0]


def user_level(events: pd.DataFrame, experiment: str | None = None) -> pd.DataFrame:
    """One row per user: arm and the user-level metrics."""
    name = resolve_experiment(events, experiment)
    return user_metrics(events, f"exp:{name}")[0]


def latency(events: pd.DataFrame, experiment: str | None = None) -> pd.DataFrame:
    """Latency p50/p95/p99 (ms) per arm."""
    name = resolve_experiment(events, experiment)
    return latency_percentiles(events, f"exp:{name}")


def compare(users: pd.DataFrame, control: str = "C", metrics: Sequence[str] = METRICS,
            alpha: float = 0.05, correction: CorrectionName = "holm",
            primary_metric: str = PRIMARY_METRIC,
            guardrails: Sequence[str] = DEFAULT_GUARDRAILS) -> pd.DataFrame:
    """The A/B table for user-level metrics (a frame with an `arm` column)."""
    arms = [str(a) for a in users["arm"].astype("category").cat.categories]
    if control not in arms:
        raise RecctlError(f"control arm {control!r} is not among {arms}")
    arms = [control] + [a for a in arms if a != control]
    settings = ReportSettings(alpha=alpha, correction=correction, primary_metric=primary_metric,
                              guardrails=tuple(guardrails))
    return compare_arms(users.assign(arm=users["arm"].astype("category")), arms, control,
                        list(metrics), settings)


def report(*paths: str | Path, **options: Any) -> Report:
    """The whole report (`options`: ReportOptions' names, e.g. aa=True, seed=3); `.table`
    is a DataFrame."""
    return build_report(list(paths), **options)
