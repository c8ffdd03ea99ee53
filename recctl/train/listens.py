"""Listens: the event log turned into sessions of (track, fraction listened), in order.

Every log line, `next` or `last`, says the user listened to `track` for the fraction
`time`; a `last` line ends the session. Sessions are keyed by the logged `session`
field when every line has one, else by counting `last` lines per user (the course's
rule). Training and evaluation only ever see these arrays, never the simulator.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from recctl.constants import POSITIVE_THRESHOLD
from recctl.errors import RecctlError
from recctl.eventlog import assign_sessions


@dataclass(frozen=True)
class Listens:
    """One row per listen, sorted by session then position; sessions ordered by start time."""

    user: np.ndarray  # int64
    session: np.ndarray  # int64, 0..n_sessions-1, in order of session start
    position: np.ndarray  # int64, 0-based position within the session
    track: np.ndarray  # int64
    time: np.ndarray  # float64, fraction listened
    timestamp_us: np.ndarray  # int64

    @property
    def n_sessions(self) -> int:
        return int(self.session[-1]) + 1 if len(self.session) else 0

    def __len__(self) -> int:
        return len(self.track)

    def take(self, mask: np.ndarray) -> Listens:
        """A subset of whole sessions (mask is per row), with session ids renumbered."""
        session = self.session[mask]
        _, renumbered = np.unique(session, return_inverse=True)
        return Listens(
            self.user[mask],
            renumbered.astype(np.int64),
            self.position[mask],
            self.track[mask],
            self.time[mask],
            self.timestamp_us[mask],
        )

    def positives(self, threshold: float = POSITIVE_THRESHOLD) -> np.ndarray:
        return self.time >= threshold


def listens_from_frame(frame: pd.DataFrame) -> Listens:
    """Listens from `recctl.eventlog.read_events`' DataFrame (any replica order), in
    sessions by the rule the report uses too (recctl/eventlog/sessions.py)."""
    if frame.empty:
        raise RecctlError(
            "the logs hold no events", "point at folders with data.json files in them"
        )
    order, starts, _ = assign_sessions(frame)
    session_start = np.zeros(len(order), dtype=np.int64)
    session_start[starts] = 1
    session_key = np.cumsum(session_start) - 1
    return listens_from_arrays(
        user=frame["user"].to_numpy(np.int64)[order],
        session_key=session_key.astype(np.int64),
        track=frame["track"].to_numpy(np.int64)[order],
        time=frame["time"].to_numpy(np.float64)[order],
        timestamp_us=frame["timestamp_us"].to_numpy(np.int64)[order],
    )


def listens_from_arrays(
    *,
    user: np.ndarray,
    session_key: np.ndarray,
    track: np.ndarray,
    time: np.ndarray,
    timestamp_us: np.ndarray,
) -> Listens:
    """Listens from parallel arrays, rows of a session already in listening order."""
    n = len(track)
    order_in = np.arange(n)
    # Session start = its first timestamp; ties broken by the key so the order is stable.
    starts = pd.Series(timestamp_us).groupby(session_key).transform("min").to_numpy()
    order = np.lexsort((order_in, session_key, starts))
    key_sorted = session_key[order]
    new_session = np.ones(n, dtype=bool)
    new_session[1:] = key_sorted[1:] != key_sorted[:-1]
    session = np.cumsum(new_session) - 1
    first_row = np.flatnonzero(new_session)
    position = np.arange(n) - first_row[session]
    clipped = np.clip(time[order].astype(np.float64), 0.0, 1.0)
    return Listens(
        user[order].astype(np.int64),
        session.astype(np.int64),
        position.astype(np.int64),
        track[order].astype(np.int64),
        clipped,
        timestamp_us[order].astype(np.int64),
    )


def split_by_time(listens: Listens, holdout_fraction: float) -> tuple[Listens, Listens]:
    """Train on the earliest sessions, hold out the last `holdout_fraction` by start time."""
    n = listens.n_sessions
    n_hold = int(round(n * holdout_fraction))
    if holdout_fraction <= 0 or n_hold == 0 or n_hold >= n:
        empty = listens.take(np.zeros(len(listens), dtype=bool))
        return listens, empty
    cut = n - n_hold
    mask = listens.session < cut
    return listens.take(mask), listens.take(~mask)


def concat_listens(parts: list[Listens]) -> Listens:
    """Listens of consecutive periods (e.g. days) as one, session ids kept apart and in order."""
    parts = [p for p in parts if len(p)]
    if not parts:
        raise RecctlError("the logs hold no events", "simulate some traffic first")
    offsets = np.cumsum([0] + [p.n_sessions for p in parts[:-1]])
    def joined(name: str) -> np.ndarray:
        return np.concatenate([getattr(p, name) for p in parts])

    return Listens(
        user=joined("user"),
        session=np.concatenate([p.session + o for p, o in zip(parts, offsets, strict=True)]),
        position=joined("position"),
        track=joined("track"),
        time=joined("time"),
        timestamp_us=joined("timestamp_us"),
    )
