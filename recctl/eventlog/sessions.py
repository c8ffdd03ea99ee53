"""Which logged events form one listening session: the rule training and the report share.

With a logged session id on every line, a session is (user, session id). Otherwise a
session is a run of one user's events in time order that a `last` closes, as in the
course. Equal timestamps are ordered deterministically: microseconds, then `next` before
`last` (a `last` ends what came with it), then the global line order.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def assign_sessions(events: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, bool]:
    """Sort the events into sessions.

    `events` has read_events' columns (user, message, timestamp_us, session, file_order).
    Returns `(order, starts, logged)`: `order` sorts the events by user, session and time;
    `starts` are the positions in that order where a session begins; `logged` says whether
    the logged session ids were used.
    """
    n = len(events)
    if n == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), False
    user = events["user"].to_numpy()
    is_last = (events["message"] == "last").to_numpy()
    ts_us = events["timestamp_us"].to_numpy()
    file_order = events["file_order"].to_numpy()
    session = events["session"]
    logged = bool(session.notna().all())
    if logged:
        session_code = pd.factorize(session)[0]
        order = np.lexsort((file_order, is_last, ts_us, session_code, user))
        u, s = user[order], session_code[order]
        boundary = (u[1:] != u[:-1]) | (s[1:] != s[:-1])
    else:
        order = np.lexsort((file_order, is_last, ts_us, user))
        u, closes = user[order], is_last[order]
        boundary = (u[1:] != u[:-1]) | closes[:-1]
    starts = np.flatnonzero(np.r_[True, boundary])
    return order, starts, logged
