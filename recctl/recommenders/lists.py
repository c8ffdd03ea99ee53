"""Recommenders that serve precomputed lists: indexed (per user) and contextual (per track)."""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from recctl.artifacts import ArtifactKind
from recctl.recommenders.base import Recommender
from recctl.recommenders.registry import register
from recctl.recommenders.types import Query, QueryBatch


@register
class Indexed(Recommender):
    """A random track from the user's list in a user_list artifact (DSSM, LFM, ...)."""

    type_name = "indexed"

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")
        artifact: str = "dssm"

    @classmethod
    def artifacts_needed(cls, params: Any) -> list[tuple[str, ArtifactKind]]:
        return [(params.artifact, "user_list")]

    async def recommend(self, query: Query) -> int | None:
        return self.pick(await self.store.user_list(self.params.artifact, query.user), query)

    def recommend_batch(self, batch: QueryBatch) -> np.ndarray:
        rows = self.batch_store().user_list_rows(self.params.artifact, batch.users)
        return self.pick_batch(*rows, batch)


@register
class Contextual(Recommender):
    """A random track from the item-to-item list of the track just played."""

    type_name = "contextual"

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")
        artifact: str = "i2i"

    @classmethod
    def artifacts_needed(cls, params: Any) -> list[tuple[str, ArtifactKind]]:
        return [(params.artifact, "item_list")]

    async def recommend(self, query: Query) -> int | None:
        return self.pick(await self.store.item_list(self.params.artifact, query.track), query)

    def recommend_batch(self, batch: QueryBatch) -> np.ndarray:
        rows = self.batch_store().item_list_rows(self.params.artifact, batch.tracks)
        return self.pick_batch(*rows, batch)
