"""The recommender base class: subclass it to add your own.

A recommender answers one question: given a `Query` (the user, the track just played,
how much of it was listened to, the user's state), which track next? It returns a track
id, or None when it has nothing to say; the arm's fallback chain then asks the next one.
The same object answers the service's requests (`recommend`, a coroutine) and the
in-process simulator's batches (`recommend_batch`, -1 where it has nothing to say).

Writing your own (then name it in YAML as `type: "mypkg.recs:Fresh"`):

    from pydantic import BaseModel, ConfigDict
    from recctl.recommenders import Recommender

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

`self.store` (recctl.recommenders.store.Store) reads artifacts; `self.pick` draws a
random candidate that is not excluded (the track just played and, with state, every
heard track). Without a `recommend_batch` of your own, the in-process simulator runs
`recommend` row by row on a `MemoryStore` (slower, same answers). Built-ins override
`recommend_batch` with vectorised code that must give the same answers (a test checks):
it reads blocks of lists through `self.batch_store()` and draws with `self.pick_batch`.
A recommender that reads one artifact named by `params.artifact` may subclass
`OneArtifact` instead: it sets `artifact_kind`, and its `Params` extend `ArtifactParams`
(the built-ins top_pop, indexed and contextual do).

The pick rule, the same both ways: up to RANDOM_TRIES draws of a uniform list position;
the first allowed candidate wins; if none is, a last draw among all allowed candidates
(in list order). Draw t of pick `draw` uses `draws.uniform(key, slot, t)` with
slot = 4 * (place in the chain) + draw, so every pick of a chain has its own numbers.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, ClassVar, TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict

from recctl.artifacts import ArtifactKind
from recctl.recommenders import draws
from recctl.recommenders.store import BatchStore, Store, TrackIds
from recctl.recommenders.types import Query, QueryBatch

RANDOM_TRIES = 8  # random draws before scanning the whole list for an allowed track


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Recommender:
    """One recommender. Subclasses set `type_name`, `Params` and implement `recommend`."""

    type_name: ClassVar[str]
    Params: ClassVar[type[BaseModel]] = NoParams
    uses_state: ClassVar[bool] = False
    _batch_store: BatchStore | None = None  # self.store once batch_store() has checked it

    def __init__(self, params: Any, store: Store, position: int = 0) -> None:
        """Args:
            params: an instance of `Params` (validated from the experiment file).
            store: where artifacts are read from (Redis in the service, memory in-process).
            position: the place in the fallback chain (0 first): picks its draw slots.
        """
        self.params = params
        self.store = store
        self.position = position

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

    def recommend_batch(self, batch: QueryBatch) -> np.ndarray:
        """`recommend` for every row of `batch` (int64, -1 where it has nothing to say).

        This default runs the scalar rule row by row; it needs a store whose reads never
        wait (MemoryStore). Built-ins override it with vectorised code.
        """
        out = np.full(len(batch), -1, dtype=np.int64)
        for row in range(len(batch)):
            found = run_now(self.recommend(batch.query(row)))
            if found is not None:
                out[row] = found
        return out

    def batch_store(self) -> BatchStore:
        """`self.store` for a vectorised `recommend_batch` (it must be a BatchStore)."""
        checked = self._batch_store
        if checked is None or checked is not self.store:
            # Checked once per store: a protocol isinstance costs tens of microseconds.
            store = self.store
            if not isinstance(store, BatchStore):
                raise TypeError(f"{self.type_name}.recommend_batch needs a BatchStore (such "
                                f"as recctl.recommenders.MemoryStore), not "
                                f"{type(store).__name__}")
            self._batch_store = checked = store
        return checked

    def _slot(self, draw: int) -> int:
        return 4 * self.position + draw

    def pick(self, candidates: TrackIds, query: Query, draw: int = 0) -> int | None:
        """A random candidate that `query` does not exclude, or None if all are excluded.

        Args:
            candidates: the list to draw from.
            query: the request (its key drives the draws; it says what is excluded).
            draw: which pick of this recommender (0..3) when it picks more than once.
        """
        count = len(candidates)
        if count == 0:
            return None
        slot = self._slot(draw)
        for t in range(RANDOM_TRIES):
            candidate = int(candidates[draws.index(draws.uniform(query.key, slot, t), count)])
            if not query.excluded(candidate):
                return candidate
        allowed = [int(c) for c in candidates if not query.excluded(int(c))]
        if not allowed:
            return None
        return allowed[draws.index(draws.uniform(query.key, slot, RANDOM_TRIES), len(allowed))]

    def pick_batch(self, candidates: np.ndarray, lengths: np.ndarray, batch: QueryBatch,
                   draw: int = 0) -> np.ndarray:
        """`pick` for every row: candidates (n, width) with each row's first `lengths`
        entries valid; returns int64 (n,), -1 where every candidate is excluded."""
        n = len(batch)
        out = np.full(n, -1, dtype=np.int64)
        todo = np.flatnonzero(lengths > 0)
        slot = self._slot(draw)
        for t in range(RANDOM_TRIES):
            if len(todo) == 0:
                return out
            sub = batch if len(todo) == n else batch.take(todo)
            at = draws.indices(draws.uniforms(sub.keys, slot, t), lengths[todo])
            tried = candidates[todo, at]
            ok = ~sub.excluded(tried[:, None])[:, 0]
            out[todo[ok]] = tried[ok]
            todo = todo[~ok]
        if len(todo):  # every try excluded: draw among the allowed candidates
            sub = batch.take(todo)
            block = np.asarray(candidates[todo])
            allowed = (np.arange(block.shape[1]) < lengths[todo][:, None]) & ~sub.excluded(block)
            counts = allowed.sum(axis=1)
            rank = draws.indices(draws.uniforms(sub.keys, slot, RANDOM_TRIES), counts)
            position = np.argmax(np.cumsum(allowed, axis=1) > rank[:, None], axis=1)
            chosen = block[np.arange(len(todo)), position]
            out[todo] = np.where(counts > 0, chosen, -1)
        return out

    def describe(self) -> dict[str, Any]:
        """How /arms shows this recommender."""
        return {"type": self.type_name, "params": self.params.model_dump(mode="json")}


class ArtifactParams(BaseModel):
    """Params of a recommender that reads one artifact: subclass to set its default name."""

    model_config = ConfigDict(extra="forbid")
    artifact: str


class OneArtifact(Recommender):
    """A recommender that reads the one artifact `params.artifact`, of `artifact_kind`."""

    Params: ClassVar[type[BaseModel]] = ArtifactParams
    artifact_kind: ClassVar[ArtifactKind]

    @classmethod
    def artifacts_needed(cls, params: Any) -> list[tuple[str, ArtifactKind]]:
        return [(params.artifact, cls.artifact_kind)]


T = TypeVar("T")


def run_now(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never waits (a recommender on a MemoryStore) to its result."""
    try:
        coroutine.send(None)
    except StopIteration as stop:
        return stop.value
    coroutine.close()
    raise RuntimeError("recommend() waited for I/O: the in-process path needs a store whose "
                       "reads complete at once (recctl.recommenders.MemoryStore)")
