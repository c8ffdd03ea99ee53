"""Recommenders that need no per-user list: random, top_pop, sticky_artist."""

from __future__ import annotations

import numpy as np
from pydantic import Field

from recctl.recommenders.base import ArtifactParams, OneArtifact, Recommender
from recctl.recommenders.registry import register
from recctl.recommenders.types import Query, QueryBatch


@register
class RandomRecommender(Recommender):
    """A uniformly random catalog track (the course's `Random`)."""

    type_name = "random"

    async def recommend(self, query: Query) -> int | None:
        return self.pick(self.store.catalog_ids, query)

    def recommend_batch(self, batch: QueryBatch) -> np.ndarray:
        return self.pick_batch(*self.batch_store().catalog_rows(len(batch)), batch)


@register
class TopPop(OneArtifact):
    """A random track among the `k` most popular (the course's `TopPop`)."""

    type_name = "top_pop"
    artifact_kind = "top"

    class Params(ArtifactParams):
        artifact: str = "top_tracks"
        k: int = Field(100, ge=1, description="draw from the first k tracks of the list")

    async def recommend(self, query: Query) -> int | None:
        top = self.store.tops.get(self.params.artifact, ())
        return self.pick(top[: self.params.k], query)

    def recommend_batch(self, batch: QueryBatch) -> np.ndarray:
        rows = self.batch_store().top_rows(self.params.artifact, self.params.k, len(batch))
        return self.pick_batch(*rows, batch)


@register
class StickyArtist(Recommender):
    """A random track by the artist of the track just played (the course's `StickyArtist`)."""

    type_name = "sticky_artist"

    async def recommend(self, query: Query) -> int | None:
        return self.pick(await self.store.artist_tracks(query.track), query)

    def recommend_batch(self, batch: QueryBatch) -> np.ndarray:
        return self.pick_batch(*self.batch_store().artist_track_rows(batch.tracks), batch)
