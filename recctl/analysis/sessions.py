"""Sessionisation: which events belong to one listening session.

With a logged session id on every line, a session is (user, session id). Otherwise a
session is a run of one user's events in time order that a `last` closes, as in the
course. Equal timestamps are ordered deterministically: microseconds, then `next` before
`last` (a `last` ends what came with it), then the global line order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


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
    user = events["user"].to_numpy()
    is_last = (events["message"].cat.codes.to_numpy() == 1)  # categories: next, last
    ts_us = events["timestamp_us"].to_numpy()
    file_order = events["file_order"].to_numpy()
    session = events["session"]
    logged = n > 0 and bool(session.notna().all())
    if logged:
        session_code = session.cat.codes.to_numpy()
        order = np.lexsort((file_order, is_last, ts_us, session_code, user))
        u, s = user[order], session_code[order]
        boundary = (u[1:] != u[:-1]) | (s[1:] != s[:-1])
    else:
        order = np.lexsort((file_order, is_last, ts_us, user))
        u, closes = user[order], is_last[order]
        boundary = (u[1:] != u[:-1]) | closes[:-1]
    starts = np.flatnonzero(np.r_[True, boundary]) if n else np.empty(0, dtype=np.int64)
    last_sorted = is_last[order]
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
