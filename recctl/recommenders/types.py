"""What a recommender is asked: one `Query` (the service) or a `QueryBatch` (in-process).

Both carry the same facts: the user, the track just played, how much of it was
listened to, the user's state (heard tracks across sessions, last liked track) when the
chain uses state, and the request's random `key` (see recctl.recommenders.draws).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


@dataclass(slots=True)
class UserState:
    """What the service remembers about a user: heard tracks and the last liked track.

    `heard` holds track ids as the store keeps them: Redis returns ASCII bytes, tested
    lazily with `has_heard` (a request never converts the whole set); the in-memory
    store gives ints (`heard_as_bytes=False`).
    """

    heard: Collection[object] = field(default_factory=set)
    liked: int | None = None  # the last track listened to for at least the chain's threshold
    heard_as_bytes: bool = True

    def has_heard(self, track: int) -> bool:
        return (b"%d" % track if self.heard_as_bytes else int(track)) in self.heard


@dataclass(slots=True)
class Query:
    """One /next request as a recommender sees it.

    Attributes:
        user: the user id.
        track: the track the user just played (never recommend it back).
        time: the fraction of `track` listened to, in [0, 1].
        state: the user's state after this request was recorded (`track` is already
            heard), or None when no recommender in the arm's chain uses state.
        key: the request's 64-bit random key: every draw is a function of it.
    """

    user: int
    track: int
    time: float
    state: UserState | None
    key: int

    def excluded(self, candidate: int) -> bool:
        """True for the track just played and, when state is known, any heard track."""
        if candidate == self.track:
            return True
        return self.state is not None and self.state.has_heard(candidate)


class BatchState(Protocol):
    """Per-user state for a batch of queries (recctl.recommenders.state.UserStates)."""

    def heard(self, users: np.ndarray, tracks: np.ndarray) -> np.ndarray:
        """Bool array shaped like `tracks`: has users[i] heard tracks[i, ...]?"""
        ...

    def liked(self, users: np.ndarray) -> np.ndarray:
        """Each user's last liked track, -1 when none (int64)."""
        ...

    def user_state(self, user: int) -> UserState:
        """One user's state as a scalar `Query` sees it."""
        ...


@dataclass
class QueryBatch:
    """Many queries at once, as arrays of equal length (the in-process path)."""

    users: np.ndarray  # int64 (n,)
    tracks: np.ndarray  # int64 (n,) the track just played
    times: np.ndarray  # float64 (n,)
    keys: np.ndarray  # uint64 (n,)
    state: BatchState | None = None

    def __len__(self) -> int:
        return len(self.users)

    def take(self, rows: np.ndarray) -> QueryBatch:
        return QueryBatch(self.users[rows], self.tracks[rows], self.times[rows],
                          self.keys[rows], self.state)

    def query(self, row: int) -> Query:
        """Row `row` as a scalar `Query` (for recommenders without a batch rule)."""
        user = int(self.users[row])
        state = self.state.user_state(user) if self.state is not None else None
        return Query(user, int(self.tracks[row]), float(self.times[row]), state,
                     int(self.keys[row]))

    def excluded(self, candidates: np.ndarray) -> np.ndarray:
        """`Query.excluded` for a (n, m) candidate array: bool (n, m)."""
        out = candidates == self.tracks[:, None]
        if self.state is not None and candidates.size:
            out |= self.state.heard(np.broadcast_to(self.users[:, None], candidates.shape),
                                    candidates)
        return out
