"""The Redis-backed store (recctl.recommenders.store.Store): artifacts and user state,
with a process-local cache.

Artifact values are immutable (their keys are namespaced by the artifact-set hash), so
a replica may keep what it has read: lists are cached as compact `array('q')` (8 bytes
a track instead of ~36 for a list of ints) within a byte budget, oldest first out.
User state is never cached: every replica must see every other's writes.
"""

from __future__ import annotations

from array import array
from typing import Any

import orjson
import redis.asyncio as aioredis

from recctl.botify.keys import CATALOG_UNIT, Keys, user_keys
from recctl.recommenders.types import UserState

EMPTY = array("q")

# Record a heard track (and maybe the new liked track), refresh the TTL, return the
# state, all in one round trip. KEYS: heard set, liked key. ARGV: track, liked 0/1, ttl.
STATE_SCRIPT = """
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
if ARGV[2] == '1' then
  redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[3])
  return {ARGV[1], redis.call('SMEMBERS', KEYS[1])}
end
redis.call('EXPIRE', KEYS[2], ARGV[3])
return {redis.call('GET', KEYS[2]), redis.call('SMEMBERS', KEYS[1])}
"""


class ListCache:
    """id -> array of track ids, bounded by an approximate byte budget (FIFO eviction)."""

    ENTRY_OVERHEAD = 200  # dict slot, key int, array header: measured roughly

    def __init__(self, budget_bytes: int) -> None:
        self.budget = budget_bytes
        self.used = 0
        self.data: dict[tuple[str, Any], array[int]] = {}

    def get(self, key: tuple[str, Any]) -> array[int] | None:
        return self.data.get(key)

    def put(self, key: tuple[str, Any], value: array[int]) -> None:
        self.used += 8 * len(value) + self.ENTRY_OVERHEAD
        self.data[key] = value
        while self.used > self.budget and self.data:
            old = self.data.pop(next(iter(self.data)))
            self.used -= 8 * len(old) + self.ENTRY_OVERHEAD


class RedisStore:
    """What recommenders read in the service. Catalog ids and top lists are loaded by `warm()`."""

    def __init__(self, client: aioredis.Redis, keys: Keys, experiment: str,
                 state_ttl: int, cache_bytes: int = 48 << 20) -> None:
        self.client = client
        self.keys = keys
        self.experiment = experiment
        self.state_ttl = state_ttl
        self.cache = ListCache(cache_bytes)
        self.catalog_ids: tuple[int, ...] = ()
        self.catalog: frozenset[int] = frozenset()
        self.tops: dict[str, tuple[int, ...]] = {}
        self._state_script = client.register_script(STATE_SCRIPT)

    async def warm(self, top_names: list[str]) -> None:
        """Read the catalog ids and top lists into the process (small, used on every request)."""
        raw = await self.client.get(self.keys.catalog_ids)
        ids = orjson.loads(raw) if raw else []
        self.catalog_ids = tuple(ids)
        self.catalog = frozenset(ids)
        for name in top_names:
            raw = await self.client.get(self.keys.artifact(name))
            self.tops[name] = tuple(orjson.loads(raw)) if raw else ()

    # Artifacts.
    async def track_info(self, track: int) -> bytes | None:
        """The catalog row of a track as JSON bytes, or None."""
        value = await self.client.hget(self.keys.artifact(CATALOG_UNIT), str(track))
        return value.encode() if isinstance(value, str) else value

    async def _cached_list(self, redis_key: str, field: Any) -> array[int]:
        cache_key = (redis_key, field)
        hit = self.cache.get(cache_key)
        if hit is not None:
            return hit
        raw = await self.client.hget(redis_key, str(field))
        value = array("q", orjson.loads(raw)) if raw else EMPTY  # absent is cached too
        self.cache.put(cache_key, value)
        return value

    async def user_list(self, artifact: str, user: int) -> array[int]:
        """A user's list from a user_list artifact (empty when the user has none)."""
        return await self._cached_list(self.keys.artifact(artifact), user)

    async def item_list(self, artifact: str, track: int) -> array[int]:
        """A track's list from an item_list artifact (empty when it has none)."""
        return await self._cached_list(self.keys.artifact(artifact), track)

    async def artist_tracks(self, track: int) -> array[int]:
        """Every track by the artist of `track` (empty when the track is unknown)."""
        key = (self.keys.track_artist, track)
        hit = self.cache.get(key)
        if hit is None:
            artist = await self.client.hget(self.keys.track_artist, str(track))
            if artist is None:
                self.cache.put(key, EMPTY)
                return EMPTY
            # The artist name is the field of the by-artist hash; cache its list by name.
            name = artist.decode() if isinstance(artist, bytes) else artist
            tracks = await self._cached_list(self.keys.artist_tracks, name)
            self.cache.put(key, tracks)
            return tracks
        return hit

    # Per-user state (never cached).
    async def record(self, user: int, track: int, liked: bool) -> UserState:
        """Mark `track` heard (and liked if so), refresh the TTL, return the new state."""
        heard_key, liked_key = user_keys(self.experiment, user, self.keys.prefix)
        liked_raw, heard = await self._state_script(
            keys=[heard_key, liked_key], args=[track, 1 if liked else 0, self.state_ttl])
        return UserState(heard=set(heard), liked=int(liked_raw) if liked_raw else None)
