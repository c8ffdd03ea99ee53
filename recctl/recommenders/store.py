"""What a recommender reads: the `Store` interface.

The service's store is Redis-backed (recctl.botify.store.RedisStore); the in-process
simulator's is `MemoryStore` (recctl.recommenders.memory), which also answers whole
batches. A recommender written against this interface runs on both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from recctl.recommenders.types import UserState


class Store(Protocol):
    """Artifacts and per-user state, one request at a time."""

    catalog_ids: Sequence[int]  # every catalog track, in the catalog's order
    tops: Mapping[str, Sequence[int]]  # top artifacts by name, best first

    async def user_list(self, artifact: str, user: int) -> Sequence[int]:
        """A user's list from a user_list artifact (empty when the user has none)."""
        ...

    async def item_list(self, artifact: str, track: int) -> Sequence[int]:
        """A track's list from an item_list artifact (empty when it has none)."""
        ...

    async def artist_tracks(self, track: int) -> Sequence[int]:
        """Every track by the artist of `track`, in catalog order (empty if unknown)."""
        ...

    async def record(self, user: int, track: int, liked: bool) -> UserState:
        """Mark `track` heard (and the last liked one if `liked`); return the new state."""
        ...
