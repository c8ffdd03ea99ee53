"""User-level metrics, as the course's notebook defines them, plus latency guardrails."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from recctl.analysis.sessions import SessionSummary, sessionize

# A request slower than this many times the median (and than 1 s) is an outlier worth a
# warning: one such line can swing a mean-latency comparison by hundreds of percent.
OUTLIER_FACTOR = 100.0
OUTLIER_FLOOR_SECONDS = 1.0
# Which way is good, for colouring and the summary (latency: lower is better).
HIGHER_IS_BETTER = {"time": True, "sessions": True, "mean_request_latency": False,
                    "mean_tracks_per_session": True, "mean_time_per_session": True}


@dataclass(frozen=True)
class UserSummary:
    sessions: SessionSummary
    events_without_arm: int  # lines that do not name the experiment
    users_in_several_arms: int  # dropped: their comparison would be contaminated


def user_metrics(events: pd.DataFrame, experiment_column: str) -> tuple[pd.DataFrame, UserSummary]:
    """One row per user (index `user`): arm, the METRICS, tracks and unclosed_sessions.

    time = total listen time; sessions = session count; mean_request_latency = mean over
    the user's requests; mean_tracks_per_session = events / sessions; mean_time_per_session
    = time / sessions.
    """
    has_arm = events[experiment_column].notna().to_numpy()
    kept = events[has_arm] if not has_arm.all() else events
    arm = kept[experiment_column]

    # A user's arm; users seen in more than one arm are dropped and counted.
    codes = pd.Series(arm.cat.codes.to_numpy(), index=kept["user"].to_numpy())
    by_user = codes.groupby(level=0).agg(["min", "max"])
    several = by_user["min"] != by_user["max"]

    sessions, session_summary = sessionize(kept)
    sessions["unclosed"] = ~sessions["closed"]
    per_user = sessions.groupby("user").agg(
        time=("time", "sum"), sessions=("tracks", "size"), tracks=("tracks", "sum"),
        latency_sum=("latency_sum", "sum"), unclosed_sessions=("unclosed", "sum"))
    users = pd.DataFrame({
        "arm": pd.Categorical.from_codes(by_user["min"].to_numpy(),
                                         categories=arm.cat.categories),
    }, index=by_user.index).join(per_user)
    users["mean_request_latency"] = users["latency_sum"] / users["tracks"]
    users["mean_tracks_per_session"] = users["tracks"] / users["sessions"]
    users["mean_time_per_session"] = users["time"] / users["sessions"]
    users = users[~several.to_numpy()].drop(columns="latency_sum")
    users.index.name = "user"
    summary = UserSummary(sessions=session_summary,
                          events_without_arm=int((~has_arm).sum()),
                          users_in_several_arms=int(several.sum()))
    return users, summary


def latency_percentiles(events: pd.DataFrame, experiment_column: str) -> pd.DataFrame:
    """Request latency p50/p95/p99 per arm, in milliseconds (a guardrail, not a test)."""
    latency_ms = events["latency"] * 1000
    grouped = latency_ms.groupby(events[experiment_column], observed=True)
    table = grouped.quantile([0.5, 0.95, 0.99]).unstack()
    table.columns = ["latency_p50_ms", "latency_p95_ms", "latency_p99_ms"]
    table.index.name = "arm"
    return table


def outlier_threshold(median_latency: float) -> float:
    """Seconds above which a request is a latency outlier."""
    return max(OUTLIER_FLOOR_SECONDS, OUTLIER_FACTOR * median_latency)


def latency_outliers(events: pd.DataFrame, experiment_column: str) -> dict[str, Any]:
    """Requests far slower than the median, per arm ("(none)": lines naming no arm)."""
    latency = events["latency"].to_numpy(dtype=np.float64)
    if latency.size == 0:
        return {}
    threshold = outlier_threshold(float(np.median(latency)))
    slow = latency > threshold
    if not slow.any():
        return {}
    arms = events.loc[slow, experiment_column].astype(object).fillna("(none)")
    return {"threshold_seconds": threshold, "requests": int(slow.sum()),
            "max_seconds": float(latency.max()),
            "per_arm": {str(k): int(v) for k, v in arms.value_counts().items()}}
