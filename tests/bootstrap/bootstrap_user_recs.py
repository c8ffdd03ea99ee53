"""A user's own recommender class, named in YAML as `bootstrap_user_recs:FreshI2I`."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from recctl.recommenders import Query, Recommender


class FreshI2I(Recommender):
    """An unheard track from the i2i list of the track just played (no batch rule: the
    in-process path runs `recommend` row by row)."""

    type_name = "fresh_i2i"
    uses_state = True

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")
        artifact: str = "i2i"

    @classmethod
    def artifacts_needed(cls, params: Any) -> list[tuple[str, Any]]:
        return [(params.artifact, "item_list")]

    async def recommend(self, query: Query) -> int | None:
        return self.pick(await self.store.item_list(self.params.artifact, query.track), query)
