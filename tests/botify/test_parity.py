"""Each recommender run two ways gives the same answers: the service path (the chain on
the Redis-backed store, with per-user state in a real Redis, one request at a time) and
the batch path (the same chain on a MemoryStore of the same artifacts, requests of many
users at once), on the same multi-step sessions and request keys."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import redis
import redis.asyncio as aioredis
from botify_fixtures import N_TRACKS
from pydantic import BaseModel, ConfigDict

from recctl.artifacts import ArtifactSet
from recctl.botify.keys import Keys
from recctl.botify.loader import ArtifactLoader
from recctl.botify.store import RedisStore
from recctl.recommenders import MemoryStore, Query, Recommender, build_chain, needed_artifacts
from recctl.recommenders.draws import request_key
from recctl.recommenders.state import UserStates


class LikedArtist(Recommender):
    """A user-defined stateful recommender with no batch rule of its own: a track by the
    artist of the last liked track, else one from the played track's i2i list."""

    type_name = "liked_artist"
    uses_state = True

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")
        artifact: str = "i2i"

    @classmethod
    def artifacts_needed(cls, params: Any) -> list[tuple[str, Any]]:
        return [(params.artifact, "item_list")]

    def liked_threshold(self) -> float | None:
        return 0.5

    async def recommend(self, query: Query) -> int | None:
        liked = query.state.liked if query.state is not None else None
        if liked is not None:
            found = self.pick(await self.store.artist_tracks(liked), query)
            if found is not None:
                return found
        return self.pick(await self.store.item_list(self.params.artifact, query.track), query,
                         draw=1)


TOP = {"type": "top_pop"}
ARMS: dict[str, dict[str, Any]] = {
    "random": {"type": "random"},
    "top_pop": {"type": "top_pop", "params": {"k": 3}},
    "sticky_artist": {"type": "sticky_artist", "fallback": {"type": "random"}},
    "indexed": {"type": "indexed", "params": {"artifact": "dssm"}, "fallback": TOP},
    "contextual": {"type": "contextual", "fallback": {"type": "sticky_artist"}},
    "contextual_mod": {"type": "contextual_mod", "params": {"liked_threshold": 0.7},
                       "fallback": {"type": "top_pop", "params": {"k": 2}}},
    "user_class": {"type": "test_parity:LikedArtist", "fallback": {"type": "contextual_mod"}},
}
USERS = [0, 1, 2, 3, 4, 7, 50, 51]  # 50 and 51 have no DSSM list
SESSIONS, STEPS, SEED = 3, 14, 1
TIMES = [0.1, 0.5, 0.69, 0.7, 0.95, 1.0]


Request = tuple[int, int, int, float, int]  # session, user, track, time, key


def service_path(redis_url: str, artifacts_dir: Path, arm: str
                 ) -> tuple[list[Request], list[tuple[int, str]], dict[tuple[int, int], float]]:
    """Sessions played through the service path: the played track is the last answer.
    Returns the requests and the answers in order, and each session's /last time."""
    async def body() -> tuple[list[Any], list[Any], dict[Any, float]]:
        artifacts = ArtifactSet(artifacts_dir)
        keys = Keys(artifacts.content_hash())
        sync = redis.Redis.from_url(redis_url)
        ArtifactLoader(sync, artifacts, keys, needed_artifacts({arm: ARMS[arm]})).ensure()  # type: ignore[arg-type]
        sync.close()
        client = aioredis.Redis.from_url(redis_url)
        store = RedisStore(client, keys, f"parity_{arm}", state_ttl=600)
        await store.warm(["top_tracks"])
        chain = build_chain(ARMS[arm], store)
        draw = random.Random(arm)
        requests, answers, lasts = [], [], {}
        try:
            for session in range(SESSIONS):
                for user in USERS:
                    track, name = draw.choice([3, 13, 5, draw.randrange(N_TRACKS)]), f"s{session}"
                    for _ in range(STEPS):
                        time = draw.choice(TIMES)
                        key = request_key(SEED, name, user, track, time)
                        answer = await chain.answer(user, track, time, key)
                        requests.append((session, user, track, time, key))
                        answers.append(answer)
                        track = answer[0]
                    lasts[session, user] = draw.choice(TIMES)
                    await chain.last(user, track, lasts[session, user])
        finally:
            await client.aclose()
        return requests, answers, lasts
    return asyncio.run(body())


def batch_path(artifacts_dir: Path, arm: str, requests: list[Request],
               lasts: dict[tuple[int, int], float]) -> list[tuple[int, str]]:
    """The same requests, a step of every user's session as one batch."""
    store = MemoryStore.from_artifacts(artifacts_dir)
    chain = build_chain(ARMS[arm], store)
    state = UserStates(len(store.track_artist))
    table = np.array([r[1:4] + (r[4],) for r in requests], dtype=object).reshape(
        SESSIONS, len(USERS), STEPS, 4)
    answers = np.empty((SESSIONS, len(USERS), STEPS), dtype=object)
    for session in range(SESSIONS):
        for step in range(STEPS):
            rows = table[session, :, step]
            users, tracks = rows[:, 0].astype(np.int64), rows[:, 1].astype(np.int64)
            times = rows[:, 2].astype(np.float64)
            keys = np.array([int(k) for k in rows[:, 3]], dtype=np.uint64)
            found, who = chain.answer_batch(users, tracks, times, keys, state)
            answers[session, :, step] = [(int(t), chain.names[w])
                                         for t, w in zip(found, who, strict=True)]
        # The service path's /last: the session's last answer, with its drawn time.
        last = [answers[session, u, -1][0] for u in range(len(USERS))]
        times = np.array([lasts[session, user] for user in USERS])
        chain.last_batch(np.array(USERS), np.array(last), times, state)
    return list(answers.reshape(-1))


@pytest.mark.parametrize("arm", list(ARMS))
def test_service_and_batch_paths_agree(redis_url: str, artifacts_dir: Path, arm: str) -> None:
    requests, served, lasts = service_path(redis_url, artifacts_dir, arm)
    batched = batch_path(artifacts_dir, arm, requests, lasts)
    assert len(served) == SESSIONS * len(USERS) * STEPS
    mismatches = [(r, s, b) for r, s, b in zip(requests, served, batched, strict=True) if s != b]
    assert not mismatches, mismatches[:5]
    # The sessions exercise more than the first recommender of the chain.
    if arm in ("contextual_mod", "user_class", "indexed"):
        assert len({who for _, who in served}) > 1, {who for _, who in served}


def test_state_carries_across_sessions(redis_url: str, artifacts_dir: Path) -> None:
    # contextual_mod never recommends a track heard in an earlier session of the user.
    requests, served, _ = service_path(redis_url, artifacts_dir, "contextual_mod")
    heard: dict[int, set[int]] = {}
    for (_session, user, track, _time, _key), (answer, who) in zip(requests, served,
                                                                  strict=True):
        heard.setdefault(user, set()).add(track)
        if who == "contextual_mod":
            assert answer not in heard[user]
