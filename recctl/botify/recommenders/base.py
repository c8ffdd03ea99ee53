"""The recommender base class: subclass it to add your own.

A recommender answers one question: given a `Query` (the user, the track just played,
how much of it was listened to, the user's state), which track next? It returns a track
id, or None when it has nothing to say; the arm's fallback chain then asks the next one.

Writing your own (then name it in YAML as `type: "mypkg.recs:Fresh"`):

    from pydantic import BaseModel, ConfigDict
    from recctl.botify.recommenders.base import Recommender

    class Fresh(Recommender):
        type_name = "fresh"

        class Params(BaseModel):
            model_config = ConfigDict(extra="forbid")
            artifact: str = "i2i"

        @classmethod
        def artifacts_needed(cls, params):
            return [(params.artifact, "item_list")]

        uses_state = True  # ask for query.state (heard tracks, last liked track)

        async def recommend(self, query):
            candidates = await self.store.item_list(self.params.artifact, query.track)
            return self.pick(candidates, query)

`self.store` (recctl.botify.store.Store) reads artifacts and is cached per process;
`self.pick` draws a random candidate that is not excluded (the track just played and,
with state, every heard track).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from recctl.artifacts import ArtifactKind
from recctl.botify.store import Store
from recctl.botify.types import Query

RANDOM_TRIES = 8  # random draws before scanning the whole list for an allowed track


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Recommender:
    """One recommender. Subclasses set `type_name`, `Params` and implement `recommend`."""

    type_name: ClassVar[str]
    Params: ClassVar[type[BaseModel]] = NoParams
    uses_state: ClassVar[bool] = False

    def __init__(self, params: Any, store: Store) -> None:
        """Args:
            params: an instance of `Params` (validated from the experiment file).
            store: where artifacts are read from (Redis behind a process cache).
        """
        self.params = params
        self.store = store

    @classmethod
    def artifacts_needed(cls, params: Any) -> list[tuple[str, ArtifactKind]]:
        """The artifacts this recommender reads, as (name, kind): checked before start-up."""
        return []

    def liked_threshold(self) -> float | None:
        """The listened fraction from which a track counts as liked, if this one cares.

        The first recommender of a chain that returns a value sets the threshold with
        which the service records the user's last liked track (`query.state.liked`).
        """
        return None

    async def recommend(self, query: Query) -> int | None:
        """The next track for `query.user`, or None to let the fallback answer.

        Args:
            query: the request and, if `uses_state`, the user's state.
        Returns:
            A track id from the catalog, or None.
        """
        raise NotImplementedError

    @staticmethod
    def pick(candidates: Sequence[int], query: Query) -> int | None:
        """A random candidate that `query` does not exclude, or None if all are excluded."""
        count = len(candidates)
        if count == 0:
            return None
        randrange = query.rng.randrange
        for _ in range(RANDOM_TRIES):
            candidate = candidates[randrange(count)]
            if not query.excluded(candidate):
                return candidate
        allowed = [c for c in candidates if not query.excluded(c)]
        return allowed[randrange(len(allowed))] if allowed else None

    def describe(self) -> dict[str, Any]:
        """How /arms shows this recommender."""
        return {"type": self.type_name, "params": self.params.model_dump(mode="json")}
