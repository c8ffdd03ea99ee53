"""Each recommender against a real Redis holding the small test artifacts."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.asyncio as aioredis
from botify_fixtures import N_ARTISTS, N_TRACKS, dssm_of, i2i_of
from pydantic import BaseModel, ConfigDict

from recctl.artifacts import ArtifactSet
from recctl.botify.keys import Keys
from recctl.botify.loader import ArtifactLoader
from recctl.botify.store import RedisStore
from recctl.recommenders import SAFETY, Query, Recommender, build_chain
from recctl.spec import RecommenderSpec

UNITS = {"dssm": "user_list", "i2i": "item_list", "top_tracks": "top"}


class FirstOfI2I(Recommender):
    """A user-defined recommender (named in specs as `test_recommenders:FirstOfI2I`)."""

    type_name = "first_of_i2i"

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")
        artifact: str = "i2i"

    @classmethod
    def artifacts_needed(cls, params: Any) -> list[tuple[str, Any]]:
        return [(params.artifact, "item_list")]

    async def recommend(self, query: Query) -> int | None:
        candidates = await self.store.item_list(self.params.artifact, query.track)
        return candidates[0] if len(candidates) else None


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coro)


async def _with_store(redis_url: str, artifacts_dir: Path, body: Any) -> Any:
    artifacts = ArtifactSet(artifacts_dir)
    keys = Keys(artifacts.content_hash())
    ArtifactLoader(redis.Redis.from_url(redis_url), artifacts, keys, UNITS).ensure()  # type: ignore[arg-type]
    client = aioredis.Redis.from_url(redis_url)
    store = RedisStore(client, keys, "rec_test", state_ttl=60)
    await store.warm(["top_tracks"])
    try:
        return await body(store)
    finally:
        await client.aclose()


def ask(redis_url: str, artifacts_dir: Path, spec: dict[str, Any],
        requests: list[tuple[int, int, float]]) -> list[tuple[int, str]]:
    """Answers of the chain built from `spec` to (user, track, time) requests, in order."""
    async def body(store: RedisStore) -> list[tuple[int, str]]:
        chain = build_chain(RecommenderSpec.model_validate(spec), store)
        answers = []
        for key, (user, track, time) in enumerate(requests):
            state = None
            if chain.uses_state:
                state = await store.record(user, track, time >= chain.liked_threshold)
            answers.append(await chain.recommend(Query(user, track, time, state, key)))
        return answers
    return run(_with_store(redis_url, artifacts_dir, body))


def test_contextual_draws_from_the_played_tracks_list(redis_url, artifacts_dir):
    answers = ask(redis_url, artifacts_dir, {"type": "contextual"}, [(1, 3, 1.0)] * 30)
    assert {track for track, _ in answers} <= set(i2i_of(3))
    assert len({track for track, _ in answers}) > 1  # random, not always the first
    assert {who for _, who in answers} == {"contextual"}


def test_indexed_draws_from_the_users_list_never_the_played_track(redis_url, artifacts_dir):
    played = dssm_of(4)[0]
    answers = ask(redis_url, artifacts_dir, {"type": "indexed"}, [(4, played, 0.5)] * 30)
    assert {t for t, _ in answers} <= set(dssm_of(4)) - {played}


def test_top_pop_sticky_artist_random(redis_url, artifacts_dir):
    top = ask(redis_url, artifacts_dir, {"type": "top_pop", "params": {"k": 2}}, [(1, 5, 1.0)] * 20)
    assert {t for t, _ in top} == {7}  # the first two are 5 and 7; 5 was just played
    sticky = ask(redis_url, artifacts_dir, {"type": "sticky_artist"}, [(1, 8, 1.0)] * 20)
    assert all(t % N_ARTISTS == 8 % N_ARTISTS and t != 8 for t, _ in sticky)
    anything = ask(redis_url, artifacts_dir, {"type": "random"}, [(1, 8, 1.0)] * 50)
    assert all(0 <= t < N_TRACKS and t != 8 for t, _ in anything)


def test_fallback_answers_when_the_first_has_nothing(redis_url, artifacts_dir):
    # Track 13 has no item-to-item list; user 99 has no DSSM list.
    spec = {"type": "contextual", "fallback": {"type": "indexed", "fallback": {"type": "top_pop"}}}
    assert ask(redis_url, artifacts_dir, spec, [(2, 13, 1.0)])[0][1] == "indexed"
    assert ask(redis_url, artifacts_dir, spec, [(99, 13, 1.0)])[0][1] == "top_pop"
    lonely = {"type": "top_pop", "params": {"k": 1}}  # only track 5, which was just played
    assert ask(redis_url, artifacts_dir, lonely, [(1, 5, 1.0)])[0][1] == SAFETY


def test_contextual_mod_uses_the_last_liked_track(redis_url, artifacts_dir):
    spec = {"type": "contextual_mod", "params": {"liked_threshold": 0.7}}
    # No liked track yet: the user's DSSM list.
    first = ask(redis_url, artifacts_dir, spec, [(7, 40, 0.1)])
    assert first[0][0] in dssm_of(7)
    # Liked 3 (0.9 >= 0.7), then skipped 30 and 31: still recommends from 3's list.
    answers = ask(redis_url, artifacts_dir, spec, [(8, 3, 0.9), (8, 30, 0.2), (8, 31, 0.69)])
    assert all(track in i2i_of(3) for track, _ in answers), answers


def test_contextual_mod_never_recommends_a_heard_track(redis_url, artifacts_dir):
    spec = {"type": "contextual_mod", "fallback": {"type": "random"}}
    track = 3
    answers: list[int] = []
    for _ in range(N_TRACKS - 1):  # the user always plays what was recommended
        (answer, _who), = ask(redis_url, artifacts_dir, spec, [(9, track, 1.0)])
        answers.append(answer)
        track = answer
    heard = [3, *answers[:-1]]
    assert len(set(heard)) == len(heard)  # no track twice: all 59 others, then the last one
    assert answers[-1] not in heard


def test_user_defined_recommender_by_import_path(redis_url, artifacts_dir):
    answers = ask(redis_url, artifacts_dir, {"type": "test_recommenders:FirstOfI2I"}, [(1, 3, 1.0)])
    assert answers == [(i2i_of(3)[0], "first_of_i2i")]


def test_unknown_params_are_errors():
    from pydantic import ValidationError

    from recctl.recommenders import recommender_class

    with pytest.raises(ValidationError):
        recommender_class("contextual_mod").Params.model_validate({"i2j": "x"})
    with pytest.raises(ValidationError):
        recommender_class("random").Params.model_validate({"k": 1})
