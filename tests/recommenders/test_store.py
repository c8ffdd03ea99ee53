"""Which store a recommender runs on: every store is a Store, MemoryStore also a BatchStore."""

from __future__ import annotations

import numpy as np
import pytest
import redis.asyncio as aioredis

from recctl.botify.keys import Keys
from recctl.botify.store import RedisStore
from recctl.recommenders import BatchStore, MemoryStore, QueryBatch, build_chain


def _batch(n: int, track: int | None = None) -> QueryBatch:
    """n queries of users 0..n-1 with distinct keys, having played `track` (default: own id)."""
    ids = np.arange(n, dtype=np.int64)
    tracks = ids if track is None else np.full(n, track, dtype=np.int64)
    return QueryBatch(ids, tracks, np.ones(n), ids.astype(np.uint64))


def test_memory_store_reads_batches_and_redis_store_does_not() -> None:
    client = aioredis.Redis()  # never connected: only the object's interface is looked at
    redis_store = RedisStore(client, Keys("h"), "exp", state_ttl=60)
    assert isinstance(MemoryStore.catalog_only(5), BatchStore)
    assert not isinstance(redis_store, BatchStore)


@pytest.mark.parametrize("spec", [{"type": "random"}, {"type": "top_pop"},
                                  {"type": "indexed"}, {"type": "contextual"},
                                  {"type": "sticky_artist"}, {"type": "contextual_mod"}])
def test_a_builtin_batch_on_a_store_without_batch_reads_says_what_it_needs(spec) -> None:
    redis_store = RedisStore(aioredis.Redis(), Keys("h"), "exp", state_ttl=60)
    recommender = build_chain(spec, redis_store).recommenders[0]
    with pytest.raises(TypeError, match="needs a BatchStore.*not RedisStore"):
        recommender.recommend_batch(_batch(3))


def test_top_pop_batch_draws_from_the_first_k_of_the_top_list() -> None:
    store = MemoryStore([(t, "a") for t in range(10)], {"top_tracks": [9, 8, 7, 6]}, {}, {})
    chain = build_chain({"type": "top_pop", "params": {"k": 2}}, store)
    found = chain.recommenders[0].recommend_batch(_batch(200, track=0))
    assert set(found.tolist()) == {9, 8}
