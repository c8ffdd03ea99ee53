"""Shared types of the service: ASGI aliases and what a recommender is asked."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass(slots=True)
class UserState:
    """What the service remembers about a user (in Redis, with a TTL, shared by replicas).

    `heard` holds track ids as Redis returns them (ASCII bytes): membership is tested
    lazily with `has_heard`, so a request never converts the whole set.
    """

    heard: set[bytes] = field(default_factory=set)
    liked: int | None = None  # the last track listened to for at least the arm's threshold

    def has_heard(self, track: int) -> bool:
        return b"%d" % track in self.heard


@dataclass(slots=True)
class Query:
    """One /next request as a recommender sees it.

    Attributes:
        user: the user id.
        track: the track the user just played (never recommend it back).
        time: the fraction of `track` listened to, in [0, 1].
        state: the user's state after this request was recorded (`track` is already in
            `heard`), or None when no recommender in the arm's chain uses state.
        rng: the replica's random generator (seedable in tests).
    """

    user: int
    track: int
    time: float
    state: UserState | None
    rng: random.Random

    def excluded(self, candidate: int) -> bool:
        """True for the track just played and, when state is known, any heard track."""
        if candidate == self.track:
            return True
        return self.state is not None and self.state.has_heard(candidate)
