"""Recommenders that serve precomputed lists: indexed (per user) and contextual (per track)."""

from __future__ import annotations

import numpy as np

from recctl.recommenders.base import ArtifactParams, OneArtifact
from recctl.recommenders.registry import register
from recctl.recommenders.types import Query, QueryBatch


@register
class Indexed(OneArtifact):
    """A random track from the user's list in a user_list artifact (DSSM, LFM, ...)."""

    type_name = "indexed"
    artifact_kind = "user_list"

    class Params(ArtifactParams):
        artifact: str = "dssm"

    async def recommend(self, query: Query) -> int | None:
        return self.pick(await self.store.user_list(self.params.artifact, query.user), query)

    def recommend_batch(self, batch: QueryBatch) -> np.ndarray:
        rows = self.batch_store().user_list_rows(self.params.artifact, batch.users)
        return self.pick_batch(*rows, batch)


@register
class Contextual(OneArtifact):
    """A random track from the item-to-item list of the track just played."""

    type_name = "contextual"
    artifact_kind = "item_list"

    class Params(ArtifactParams):
        artifact: str = "i2i"

    async def recommend(self, query: Query) -> int | None:
        return self.pick(await self.store.item_list(self.params.artifact, query.track), query)

    def recommend_batch(self, batch: QueryBatch) -> np.ndarray:
        rows = self.batch_store().item_list_rows(self.params.artifact, batch.tracks)
        return self.pick_batch(*rows, batch)
