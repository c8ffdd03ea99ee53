"""`MemoryStore`: the `BatchStore` in memory, as dense numpy tables, for the in-process path.

Built from an artifacts folder (`from_artifacts`, what the service would load) or from
freshly trained lists (`from_lists`). Lists are tables indexed by id, -1 padded at the
end, with their lengths; the scalar reads return a row, the `*_rows` reads a block of
rows for a batch. The catalog's order and each artist's track order are the service's
(the tracks artifact's order), so a draw picks the same track on both stores.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from recctl.artifacts import ArtifactSet
from recctl.recommenders.state import UserStates
from recctl.recommenders.store import Rows, TrackIds
from recctl.recommenders.types import UserState

Lists = tuple[np.ndarray, np.ndarray] | Iterable[tuple[int, Sequence[int]]]
EMPTY = np.empty(0, dtype=np.int64)


class Table:
    """Lists indexed by id: `values` (size, width) -1 padded at the end, `lengths` (size,)."""

    def __init__(self, keys: np.ndarray, lists: np.ndarray, size: int | None = None) -> None:
        keys = np.asarray(keys, dtype=np.int64)
        lists = np.asarray(lists, dtype=np.int64).reshape(len(keys), -1)
        valid = lists >= 0
        # Move each row's entries to the front, keeping their order.
        order = np.argsort(~valid, axis=1, kind="stable")
        lists = np.where(np.take_along_axis(valid, order, 1),
                         np.take_along_axis(lists, order, 1), -1)
        size = int(keys.max()) + 1 if size is None and len(keys) else (size or 0)
        inside = (keys >= 0) & (keys < size)
        self.values = np.full((size, lists.shape[1]), -1, dtype=np.int64)
        self.values[keys[inside]] = lists[inside]
        self.lengths = np.zeros(size, dtype=np.int64)
        self.lengths[keys[inside]] = valid[inside].sum(axis=1)

    @classmethod
    def of(cls, lists: Lists, size: int | None = None) -> Table:
        if isinstance(lists, tuple) and len(lists) == 2 and isinstance(lists[0], np.ndarray):
            return cls(lists[0], lists[1], size)
        rows = list(lists)
        width = max((len(r) for _, r in rows), default=0)
        table = np.full((len(rows), width), -1, dtype=np.int64)
        for i, (_, items) in enumerate(rows):
            table[i, : len(items)] = items
        return cls(np.array([k for k, _ in rows], dtype=np.int64), table, size)

    def row(self, key: int) -> np.ndarray:
        if 0 <= key < len(self.lengths):
            return self.values[key, : self.lengths[key]]
        return EMPTY

    def rows(self, keys: np.ndarray) -> Rows:
        """(n, width) lists and (n,) lengths for `keys` (unknown keys: empty)."""
        inside = (keys >= 0) & (keys < len(self.lengths))
        safe = np.where(inside, keys, 0)
        if len(self.lengths) == 0:
            return np.full((len(keys), 0), -1, dtype=np.int64), np.zeros(len(keys), np.int64)
        return self.values[safe], np.where(inside, self.lengths[safe], 0)


class MemoryStore:
    """The `Store` in memory, also a `BatchStore`; reads complete without waiting.

    `record` (the scalar interface) keeps user state in `self.state`; batch runs keep
    theirs outside (recctl.sim.serving.ChainPolicy holds one UserStates per run), so
    one store of artifacts serves many runs with fresh state each."""

    def __init__(self, tracks: Sequence[tuple[int, Any]], tops: Mapping[str, TrackIds],
                 item_lists: Mapping[str, Lists], user_lists: Mapping[str, Lists]) -> None:
        """Args:
            tracks: (track id, artist) per catalog track, in the catalog's order.
            tops: top list per artifact name, best first.
            item_lists, user_lists: per artifact name, (keys, -1 padded table) arrays or
                (key, list) rows.
        """
        self.catalog_ids = np.array([t for t, _ in tracks], dtype=np.int64)
        self.catalog = frozenset(self.catalog_ids.tolist())
        size = int(self.catalog_ids.max()) + 1 if len(self.catalog_ids) else 0
        self.tops = {name: np.asarray(top, dtype=np.int64) for name, top in tops.items()}
        self.item_tables = {name: Table.of(lists, size) for name, lists in item_lists.items()}
        self.user_tables = {name: Table.of(lists) for name, lists in user_lists.items()}
        codes: dict[Any, int] = {}
        by_artist: list[list[int]] = []
        track_artist = np.full(size, -1, dtype=np.int64)
        for track, artist in tracks:
            code = codes.setdefault(artist, len(codes))
            if code == len(by_artist):
                by_artist.append([])
            by_artist[code].append(track)
            track_artist[track] = code
        self.track_artist = track_artist
        self.artist_table = Table.of(list(enumerate(by_artist)))
        self.state = UserStates(size)

    @classmethod
    def from_artifacts(cls, artifacts: ArtifactSet | str | Path) -> MemoryStore:
        """Every artifact of a folder made by `recctl train` or `recctl bootstrap`."""
        if not isinstance(artifacts, ArtifactSet):
            artifacts = ArtifactSet(artifacts)
        tracks = [(int(r["track"]), str(r["artist"])) for r in artifacts.tracks()]
        tops = {name: orjson.loads(artifacts.path(name).read_bytes())
                for name in artifacts.names("top")}
        items = {name: artifacts.item_lists(name) for name in artifacts.names("item_list")}
        users = {name: artifacts.user_lists(name) for name in artifacts.names("user_list")}
        return cls(tracks, tops, items, users)

    @classmethod
    def catalog_only(cls, n_tracks: int) -> MemoryStore:
        """Tracks 0..n_tracks-1, no artifacts (for `random`)."""
        return cls([(t, None) for t in range(n_tracks)], {}, {}, {})

    # The scalar `Store` interface (coroutines that never wait).
    async def user_list(self, artifact: str, user: int) -> np.ndarray:
        table = self.user_tables.get(artifact)
        return table.row(user) if table is not None else EMPTY

    async def item_list(self, artifact: str, track: int) -> np.ndarray:
        table = self.item_tables.get(artifact)
        return table.row(track) if table is not None else EMPTY

    async def artist_tracks(self, track: int) -> np.ndarray:
        if not 0 <= track < len(self.track_artist) or self.track_artist[track] < 0:
            return EMPTY
        return self.artist_table.row(int(self.track_artist[track]))

    async def record(self, user: int, track: int, liked: bool) -> UserState:
        self.state.record(np.array([user]), np.array([track]), np.array([liked]))
        return self.state.user_state(user)

    # The `BatchStore` reads: (n, width) lists and (n,) lengths.
    def user_list_rows(self, artifact: str, users: np.ndarray) -> Rows:
        return self._rows(self.user_tables.get(artifact), users)

    def item_list_rows(self, artifact: str, tracks: np.ndarray) -> Rows:
        return self._rows(self.item_tables.get(artifact), tracks)

    def artist_track_rows(self, tracks: np.ndarray) -> Rows:
        inside = (tracks >= 0) & (tracks < len(self.track_artist))
        artists = np.where(inside, self.track_artist[np.where(inside, tracks, 0)], -1)
        return self.artist_table.rows(artists)

    def top_rows(self, artifact: str, k: int, n: int) -> Rows:
        top = self.tops.get(artifact, EMPTY)[:k]
        return np.broadcast_to(top, (n, len(top))), np.full(n, len(top), dtype=np.int64)

    def catalog_rows(self, n: int) -> Rows:
        ids = self.catalog_ids
        return np.broadcast_to(ids, (n, len(ids))), np.full(n, len(ids), dtype=np.int64)

    @staticmethod
    def _rows(table: Table | None, keys: np.ndarray) -> Rows:
        if table is None:
            return np.full((len(keys), 0), -1, dtype=np.int64), np.zeros(len(keys), np.int64)
        return table.rows(np.asarray(keys, dtype=np.int64))
