"""contextual_mod: the headline recommender, context-aware and with memory.

It never recommends a track the user has heard (within the state TTL). It draws from
the item-to-item list of the last track the user listened to for at least
`liked_threshold` of its length; without such a track, or when that list is used up,
from the user's list (DSSM); when both are used up, the fallback answers.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from recctl.artifacts import ArtifactKind
from recctl.botify.recommenders.base import Recommender
from recctl.botify.recommenders.registry import register
from recctl.botify.types import Query
from recctl.constants import LIKED_THRESHOLD


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
        return self.pick(await self.store.user_list(self.params.user_list, query.user), query)
