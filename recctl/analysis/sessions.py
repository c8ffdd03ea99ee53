"""Sessionisation for the report: one row per session, by the shared rule in
recctl/eventlog/sessions.py (logged session ids, else a `last` closes a user's run of events).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from recctl.eventlog import assign_sessions


@dataclass(frozen=True)
class SessionSummary:
    method: str  # "logged" (session ids) or "inferred" (`last` closes)
    sessions: int
    unclosed: int  # sessions without a `last`: the run stopped mid-session, or lines were lost


def sessionize(events: pd.DataFrame) -> tuple[pd.DataFrame, SessionSummary]:
    """One row per session: user, tracks (events), time (listened), latency_sum, closed.

    `events` has read_events' columns: user, message, timestamp_us, time, latency,
    session, file_order.
    """
    n = len(events)
    order, starts, logged = assign_sessions(events)
    u = events["user"].to_numpy()[order]
    last_sorted = (events["message"] == "last").to_numpy()[order]
    if n:
        # Logged ids: any `last` closes the session; inferred: only a final one can.
        closed = (np.maximum.reduceat(last_sorted, starts) if logged
                  else last_sorted[np.r_[starts[1:], n] - 1])
        time = np.add.reduceat(events["time"].to_numpy()[order], starts)
        latency_sum = np.add.reduceat(events["latency"].to_numpy()[order], starts)
    else:
        closed, time, latency_sum = (np.empty(0, dtype=bool), np.empty(0), np.empty(0))
    frame = pd.DataFrame({
        "user": u[starts] if n else np.empty(0, dtype=np.int64),
        "tracks": np.diff(np.r_[starts, n]),
        "time": time,
        "latency_sum": latency_sum,
        "closed": closed.astype(bool),
    })
    summary = SessionSummary(method="logged" if logged else "inferred", sessions=len(frame),
                             unclosed=int((~frame["closed"]).sum()))
    return frame, summary
