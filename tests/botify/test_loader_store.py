"""Artifacts go into Redis once for many replicas; the process cache stays in budget."""

from __future__ import annotations

import threading
from array import array

import orjson
import redis
from botify_fixtures import N_TRACKS, i2i_of

from recctl.artifacts import ArtifactSet
from recctl.botify.keys import CATALOG_UNIT, Keys
from recctl.botify.loader import ArtifactLoader
from recctl.botify.store import ListCache

UNITS = {"dssm": "user_list", "i2i": "item_list", "top_tracks": "top"}


def _loader(redis_url, artifacts_dir):
    artifacts = ArtifactSet(artifacts_dir)
    return ArtifactLoader(redis.Redis.from_url(redis_url), artifacts,
                          Keys(artifacts.content_hash()), UNITS)  # type: ignore[arg-type]


def test_loads_every_unit_in_course_formats(redis_url, artifacts_dir):
    loader = _loader(redis_url, artifacts_dir)
    assert sorted(loader.ensure()) == sorted(["tracks", *UNITS])
    client, keys = loader.client, loader.keys
    assert orjson.loads(client.hget(keys.artifact("i2i"), "3")) == i2i_of(3)
    assert client.hget(keys.artifact("i2i"), "13") is None  # no list for 13
    assert orjson.loads(client.hget(keys.artifact(CATALOG_UNIT), "4")) == {
        "track": 4, "artist": "artist-4", "title": "song 4"}
    assert orjson.loads(client.get(keys.catalog_ids)) == list(range(N_TRACKS))
    assert orjson.loads(client.get(keys.artifact("top_tracks"))) == [5, 7, 9, 11]
    assert keys.artifact_hash in keys.base  # namespaced by content
    assert _loader(redis_url, artifacts_dir).ensure() == []  # second replica: nothing to do


def test_replicas_starting_together_load_once(redis_url, artifacts_dir):
    loaders = [_loader(redis_url, artifacts_dir) for _ in range(4)]
    barrier = threading.Barrier(len(loaders))

    def start(loader: ArtifactLoader) -> None:
        barrier.wait()
        loader.ensure()

    threads = [threading.Thread(target=start, args=(loader,)) for loader in loaders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    loaded = [unit for loader in loaders for unit in loader.loaded_units]
    assert sorted(loaded) == sorted(["tracks", *UNITS])  # each unit exactly once
    assert loaders[0].client.get(loaders[0].keys.lock) is None  # lock released


def test_a_wiped_redis_is_reloaded(redis_url, artifacts_dir):
    loader = _loader(redis_url, artifacts_dir)
    loader.ensure()
    loader.client.flushall()
    again = _loader(redis_url, artifacts_dir)
    assert sorted(again.ensure()) == sorted(["tracks", *UNITS])
    assert orjson.loads(again.client.hget(again.keys.artifact("i2i"), "3")) == i2i_of(3)


def test_list_cache_stays_within_budget():
    cache = ListCache(budget_bytes=10 * (8 * 100 + ListCache.ENTRY_OVERHEAD))
    for key in range(25):
        cache.put(("k", key), array("q", range(100)))
    assert len(cache.data) == 10
    assert cache.get(("k", 0)) is None  # oldest out first
    assert list(cache.get(("k", 24)) or []) == list(range(100))
    assert cache.used <= cache.budget
