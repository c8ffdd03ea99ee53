"""Load an artifact set into Redis once, however many replicas start together.

Each unit (the catalog, each needed artifact) gets a `done` flag after its last write.
A replica takes a lock (SET NX with expiry, renewed while loading), loads the units
that are not done, and releases it; the others wait for the flags. Writes are
pipelined HSETs of many fields each, so a 50,000-track catalog is a few round trips.
Values are JSON (orjson), never pickle.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

import orjson
import redis

from recctl.artifacts import ArtifactKind, ArtifactSet
from recctl.botify.keys import CATALOG_UNIT, Keys
from recctl.errors import RecctlError

BATCH_FIELDS = 500  # fields per HSET: big enough to amortise, small enough not to stall Redis
LOCK_SECONDS = 30


def _batches(pairs: Iterable[tuple[Any, bytes | str]]) -> Iterator[list[Any]]:
    flat: list[Any] = []
    for field, value in pairs:
        flat.append(field)
        flat.append(value)
        if len(flat) >= 2 * BATCH_FIELDS:
            yield flat
            flat = []
    if flat:
        yield flat


class ArtifactLoader:
    """Puts the units an arm set needs into Redis under the artifact-set hash."""

    def __init__(self, client: redis.Redis, artifacts: ArtifactSet, keys: Keys,
                 units: dict[str, ArtifactKind]) -> None:
        self.client = client
        self.artifacts = artifacts
        self.keys = keys
        self.units = {CATALOG_UNIT: "catalog", **units}
        self.token = uuid.uuid4().hex
        self.loaded_units: list[str] = []  # what this loader wrote (tests check "load once")

    def missing(self) -> list[str]:
        flags = self.client.mget([self.keys.done(unit) for unit in self.units])
        return [unit for unit, flag in zip(self.units, flags, strict=True) if flag is None]

    def ensure(self, timeout: float = 120.0) -> list[str]:
        """Make every unit present; returns the units this call loaded (often none)."""
        deadline = time.monotonic() + timeout
        while True:
            todo = self.missing()
            if not todo:
                return self.loaded_units
            if self.client.set(self.keys.lock, self.token, nx=True, ex=LOCK_SECONDS):
                try:
                    for unit in self.missing():  # re-check under the lock
                        self._load(unit)
                        self.loaded_units.append(unit)
                finally:
                    self._release()
                continue
            if time.monotonic() > deadline:
                raise RecctlError(
                    f"artifacts {', '.join(todo)} were not loaded into Redis within "
                    f"{timeout:.0f} s while another replica held the load lock",
                    f"check the other replicas' logs, or delete the key {self.keys.lock}",
                )
            time.sleep(0.05)

    def _release(self) -> None:
        # Delete the lock only if it is still ours (it may have expired and moved on).
        self.client.eval(
            "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end "
            "return 0", 1, self.keys.lock, self.token)

    def _write(self, key: str, pairs: Iterable[tuple[Any, bytes | str]]) -> None:
        pipe = self.client.pipeline(transaction=False)
        pipe.delete(key)  # a half-written hash from a crashed loader is replaced
        queued = 1
        for flat in _batches(pairs):
            pipe.hset(key, items=flat)
            queued += 1
            if queued >= 4:
                pipe.expire(self.keys.lock, LOCK_SECONDS)  # still alive: keep the lock
                pipe.execute()
                queued = 0
        pipe.execute()

    def _load(self, unit: str) -> None:
        kind = self.units[unit]
        keys = self.keys
        if kind == "catalog":
            ids: list[int] = []
            by_artist: dict[str, list[int]] = defaultdict(list)
            artist_of: list[tuple[int, str]] = []

            def rows() -> Iterator[tuple[int, bytes]]:
                # A generator, not a list: orjson over-allocates small outputs (~4 KB
                # each), so 50,000 rows held at once would cost ~200 MB of RSS.
                for row in self.artifacts.tracks():
                    track, artist = int(row["track"]), str(row["artist"])
                    ids.append(track)
                    by_artist[artist].append(track)
                    artist_of.append((track, artist))
                    yield track, orjson.dumps(
                        {"track": track, "artist": artist, "title": str(row["title"])})

            self._write(keys.artifact(CATALOG_UNIT), rows())
            self._write(keys.track_artist, artist_of)
            self._write(keys.artist_tracks, ((a, orjson.dumps(t)) for a, t in by_artist.items()))
            self.client.set(keys.catalog_ids, orjson.dumps(ids))
        elif kind == "top":
            self.client.set(keys.artifact(unit), orjson.dumps(self._top(unit)))
        elif kind == "user_list":
            self._write(keys.artifact(unit),
                        ((u, orjson.dumps(ts)) for u, ts in self.artifacts.user_lists(unit)))
        elif kind == "item_list":
            self._write(keys.artifact(unit),
                        ((t, orjson.dumps(rs)) for t, rs in self.artifacts.item_lists(unit)))
        else:  # pragma: no cover - ArtifactKind is closed
            raise ValueError(kind)
        self.client.set(keys.done(unit), orjson.dumps({"at": time.time(), "by": self.token}))

    def _top(self, name: str) -> list[int]:
        info = self.artifacts.require(name, "top")
        return [int(t) for t in orjson.loads((self.artifacts.root / info.file).read_bytes())]
