"""What a recommender reads: the `Store` interface, and `BatchStore` for whole batches.

The service's store is Redis-backed (recctl.botify.store.RedisStore); the in-process
simulator's is `MemoryStore` (recctl.recommenders.memory), which is also a `BatchStore`.
A recommender written against `Store` runs on both; a vectorised `recommend_batch`
reads through `BatchStore` (Recommender.batch_store), which only MemoryStore provides.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol, TypeAlias, runtime_checkable

import numpy as np

from recctl.recommenders.types import UserState

# A list of track ids: a sequence (Redis: array('q'), tuples) or an int64 numpy array.
TrackIds: TypeAlias = Sequence[int] | np.ndarray
# A batch of lists: (n, width) int64 rows, -1 padded at the end, and (n,) lengths.
Rows: TypeAlias = tuple[np.ndarray, np.ndarray]


class Store(Protocol):
    """Artifacts and per-user state, one request at a time.

    The two attributes are read-only properties here so that a store may hold them as
    any `TrackIds` (a tuple, a numpy array).
    """

    @property
    def catalog_ids(self) -> TrackIds:
        """Every catalog track, in the catalog's order."""
        ...

    @property
    def tops(self) -> Mapping[str, TrackIds]:
        """Top artifacts by name, best first."""
        ...

    async def user_list(self, artifact: str, user: int) -> TrackIds:
        """A user's list from a user_list artifact (empty when the user has none)."""
        ...

    async def item_list(self, artifact: str, track: int) -> TrackIds:
        """A track's list from an item_list artifact (empty when it has none)."""
        ...

    async def artist_tracks(self, track: int) -> TrackIds:
        """Every track by the artist of `track`, in catalog order (empty if unknown)."""
        ...

    async def record(self, user: int, track: int, liked: bool) -> UserState:
        """Mark `track` heard (and the last liked one if `liked`); return the new state."""
        ...


@runtime_checkable
class BatchStore(Store, Protocol):
    """A `Store` that also reads a block of lists for a batch of queries at once.

    Each read returns `Rows` for the n keys given (unknown keys: empty lists), with
    the lists in the same order as the scalar reads, so a draw picks the same track.
    """

    def user_list_rows(self, artifact: str, users: np.ndarray) -> Rows:
        ...

    def item_list_rows(self, artifact: str, tracks: np.ndarray) -> Rows:
        ...

    def artist_track_rows(self, tracks: np.ndarray) -> Rows:
        ...

    def top_rows(self, artifact: str, k: int, n: int) -> Rows:
        """The first `k` tracks of a top artifact, the same for each of `n` rows."""
        ...

    def catalog_rows(self, n: int) -> Rows:
        """The whole catalog, the same for each of `n` rows."""
        ...
