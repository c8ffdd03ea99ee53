"""Fallback chains, built from plain data, and the factory that builds them.

A chain asks its recommenders in order and the first track wins; it is the layer that
wraps a recommender with its fallbacks (RecSim's hierarchical layers, in small). When
every recommender declines, a last-resort random catalog track answers, so /next
always has a track; the log names it `safety_random`.

A chain is described by plain data, the experiment file's arm: a mapping (or any object
with the same attributes, such as recctl.spec.RecommenderSpec)

    {"type": "contextual_mod", "params": {...}, "fallback": {"type": "top_pop"}}

so the spec validates against the registry and the service, the bootstrap and the
in-process A/B build the same chain from the same YAML.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from recctl.artifacts import ArtifactKind
from recctl.constants import LIKED_THRESHOLD
from recctl.recommenders import draws
from recctl.recommenders.base import Recommender
from recctl.recommenders.registry import recommender_class
from recctl.recommenders.state import UserStates
from recctl.recommenders.store import Store
from recctl.recommenders.types import Query, QueryBatch

SAFETY = "safety_random"
SAFETY_SLOT = 255  # the draw slot of the last-resort pick (4 * position + draw is smaller)


def chain_nodes(spec: Any) -> list[tuple[str, dict[str, Any]]]:
    """(type, params) of a recommender spec and its fallbacks, in order."""
    out: list[tuple[str, dict[str, Any]]] = []
    node = spec
    while node is not None:
        if isinstance(node, Mapping):
            out.append((str(node["type"]), dict(node.get("params") or {})))
            node = node.get("fallback")
        else:
            out.append((node.type, dict(node.params)))
            node = node.fallback
    return out


class Chain:
    """A recommender followed by its fallbacks."""

    def __init__(self, recommenders: list[Recommender], store: Store) -> None:
        self.recommenders = recommenders
        self.store = store
        self.uses_state = any(r.uses_state for r in recommenders)
        thresholds = [t for r in recommenders if (t := r.liked_threshold()) is not None]
        self.liked_threshold = thresholds[0] if thresholds else LIKED_THRESHOLD
        self.names = [r.type_name for r in recommenders] + [SAFETY]

    # What a replica does for /next and /last, and the same for a batch in-process.
    async def answer(self, user: int, track: int, time: float, key: int) -> tuple[int, str]:
        """/next: record the track just played when the chain uses state, then recommend."""
        state = None
        if self.uses_state:
            state = await self.store.record(user, track, time >= self.liked_threshold)
        return await self.recommend(Query(user, track, time, state, key))

    async def last(self, user: int, track: int, time: float) -> None:
        """/last: the session ended after `track`; it was heard too."""
        if self.uses_state:
            await self.store.record(user, track, time >= self.liked_threshold)

    def answer_batch(self, users: np.ndarray, tracks: np.ndarray, times: np.ndarray,
                     keys: np.ndarray, state: UserStates) -> tuple[np.ndarray, np.ndarray]:
        """`answer` for many requests of distinct sessions at once, with state in `state`."""
        if self.uses_state:
            state.record(users, tracks, times >= self.liked_threshold)
        return self.recommend_batch(
            QueryBatch(users, tracks, times, keys, state if self.uses_state else None))

    def last_batch(self, users: np.ndarray, tracks: np.ndarray, times: np.ndarray,
                   state: UserStates) -> None:
        """`last` for many sessions at once."""
        if self.uses_state:
            state.record(users, tracks, times >= self.liked_threshold)

    async def recommend(self, query: Query) -> tuple[int, str]:
        """The next track and the `type_name` of the recommender that chose it."""
        for recommender in self.recommenders:
            track = await recommender.recommend(query)
            if track is not None:
                return int(track), recommender.type_name
        ids = self.store.catalog_ids
        if not len(ids):
            return query.track, SAFETY
        return int(ids[draws.index(draws.uniform(query.key, SAFETY_SLOT, 0), len(ids))]), SAFETY

    def recommend_batch(self, batch: QueryBatch) -> tuple[np.ndarray, np.ndarray]:
        """Next tracks (int64) and who chose each (index into `names`) for a batch."""
        out = np.full(len(batch), -1, dtype=np.int64)
        who = np.full(len(batch), len(self.recommenders), dtype=np.int64)
        todo = np.arange(len(batch))
        for index, recommender in enumerate(self.recommenders):
            if len(todo) == 0:
                break
            found = np.asarray(recommender.recommend_batch(batch.take(todo)), dtype=np.int64)
            hit = found >= 0
            out[todo[hit]], who[todo[hit]] = found[hit], index
            todo = todo[~hit]
        if len(todo):
            ids = np.asarray(self.store.catalog_ids, dtype=np.int64)
            if len(ids):
                u = draws.uniforms(batch.keys[todo], SAFETY_SLOT, 0)
                out[todo] = ids[draws.indices(u, len(ids))]
            else:
                out[todo] = batch.tracks[todo]
        return out, who

    def describe(self) -> list[dict[str, Any]]:
        return [r.describe() for r in self.recommenders]


def build_chain(spec: Any, store: Store) -> Chain:
    """The factory: one recommender object per node of `spec`'s fallback chain.

    Raises LookupError for an unknown type and pydantic.ValidationError for bad params
    (recctl.spec.check_recommenders turns both into errors naming the file and key).
    """
    recommenders = []
    for position, (type_name, params) in enumerate(chain_nodes(spec)):
        cls = recommender_class(type_name)
        recommenders.append(cls(cls.Params.model_validate(params), store, position))
    return Chain(recommenders, store)


def needed_artifacts(arms: Mapping[str, Any]) -> dict[str, ArtifactKind]:
    """Every artifact the arms read: name -> kind."""
    needed: dict[str, ArtifactKind] = {}
    for spec in arms.values():
        for type_name, params in chain_nodes(spec):
            cls = recommender_class(type_name)
            for name, kind in cls.artifacts_needed(cls.Params.model_validate(params)):
                needed[name] = kind
    return needed
