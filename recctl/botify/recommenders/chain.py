"""Fallback chains and the factory that builds them from an experiment's arms.

A chain asks its recommenders in order and the first track wins; it is the layer that
wraps a recommender with its fallbacks (RecSim's hierarchical layers, in small). When
every recommender declines, a last-resort random catalog track answers, so /next
always has a track; the log names it `safety_random`.
"""

from __future__ import annotations

from typing import Any

from recctl.botify.recommenders.base import Recommender
from recctl.botify.recommenders.registry import recommender_class
from recctl.botify.store import Store
from recctl.botify.types import Query
from recctl.constants import LIKED_THRESHOLD
from recctl.spec import RecommenderSpec

SAFETY = "safety_random"


class Chain:
    """A recommender followed by its fallbacks."""

    def __init__(self, recommenders: list[Recommender]) -> None:
        self.recommenders = recommenders
        self.uses_state = any(r.uses_state for r in recommenders)
        thresholds = [t for r in recommenders if (t := r.liked_threshold()) is not None]
        self.liked_threshold = thresholds[0] if thresholds else LIKED_THRESHOLD

    async def recommend(self, query: Query) -> tuple[int, str]:
        """The next track and the `type_name` of the recommender that chose it."""
        for recommender in self.recommenders:
            track = await recommender.recommend(query)
            if track is not None:
                return track, recommender.type_name
        ids = recommender.store.catalog_ids
        track = ids[query.rng.randrange(len(ids))] if ids else query.track
        return track, SAFETY

    def describe(self) -> list[dict[str, Any]]:
        return [r.describe() for r in self.recommenders]


def build_chain(spec: RecommenderSpec, store: Store) -> Chain:
    """The factory: one recommender object per node of `spec`'s fallback chain."""
    recommenders = []
    for node in spec.chain():
        cls = recommender_class(node.type)
        recommenders.append(cls(cls.Params.model_validate(node.params), store))
    return Chain(recommenders)


def needed_artifacts(arms: dict[str, RecommenderSpec]) -> dict[str, str]:
    """Every artifact the arms read: name -> kind."""
    needed: dict[str, str] = {}
    for spec in arms.values():
        for node in spec.chain():
            cls = recommender_class(node.type)
            for name, kind in cls.artifacts_needed(cls.Params.model_validate(node.params)):
                needed[name] = kind
    return needed
