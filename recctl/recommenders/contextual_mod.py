"""contextual_mod: the headline recommender, context-aware and with memory.

It never recommends a track the user has heard (within the state TTL). It draws from
the item-to-item list of the last track the user listened to for at least
`liked_threshold` of its length; without such a track, or when that list is used up,
from the user's list (DSSM); when both are used up, the fallback answers.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from recctl.artifacts import ArtifactKind
from recctl.constants import LIKED_THRESHOLD
from recctl.recommenders.base import Recommender
from recctl.recommenders.registry import register
from recctl.recommenders.types import Query, QueryBatch


@register
class ContextualMod(Recommender):
    type_name = "contextual_mod"
    uses_state = True

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")
        i2i: str = "i2i"
        user_list: str = "dssm"
        liked_threshold: float = Field(LIKED_THRESHOLD, ge=0.0, le=1.0)

    @classmethod
    def artifacts_needed(cls, params: Any) -> list[tuple[str, ArtifactKind]]:
        return [(params.i2i, "item_list"), (params.user_list, "user_list")]

    def liked_threshold(self) -> float | None:
        return float(self.params.liked_threshold)

    async def recommend(self, query: Query) -> int | None:
        liked = query.state.liked if query.state is not None else None
        if liked is not None:
            found = self.pick(await self.store.item_list(self.params.i2i, liked), query)
            if found is not None:
                return found
        candidates = await self.store.user_list(self.params.user_list, query.user)
        return self.pick(candidates, query, draw=1)

    def recommend_batch(self, batch: QueryBatch) -> np.ndarray:
        store = self.batch_store()
        liked = batch.state.liked(batch.users) if batch.state is not None else None
        out = np.full(len(batch), -1, dtype=np.int64)
        if liked is not None:
            out = self.pick_batch(*store.item_list_rows(self.params.i2i, liked), batch)
        todo = np.flatnonzero(out < 0)
        if len(todo):
            sub = batch.take(todo)
            rows = store.user_list_rows(self.params.user_list, sub.users)
            out[todo] = self.pick_batch(*rows, sub, draw=1)
        return out
