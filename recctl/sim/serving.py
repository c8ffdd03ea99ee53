"""Recommenders served in-process, as the service serves them.

`ChainPolicy` is a simulator policy (recctl.sim.inprocess) that answers each step with
the arms' chains (recctl.recommenders.Chain on a MemoryStore) through the same steps
as a replica (Chain.answer_batch / last_batch, the batch twins of Chain.answer / last):
record the track just played in the user's state when the chain uses state, ask the
chain with the request's key (StepBatch.keys), record each session's last track.
The user state lives as long as the policy: one policy, one experiment run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from recctl.recommenders import Chain, MemoryStore, build_chain, draws
from recctl.recommenders.state import UserStates
from recctl.sim.inprocess import StepBatch

EXPLORE_SLOT = 254  # the draw slot of the exploration share (recommenders use smaller ones)


class ChainPolicy:
    """Each row served by chain `arm_of(users, episodes)[i]` (all by `chains[0]` by default).

    Args:
        chains: one chain per arm; chains on the same store share the user state.
        arm_of: the arm index of each row, from its user and episode (int arrays).
        explore: a share of steps that get a uniformly random catalog track instead
            (the bootstrap's exploration; 0 for an experiment).
    """

    def __init__(self, chains: Sequence[Chain],
                 arm_of: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
                 explore: float = 0.0) -> None:
        self.chains = list(chains)
        self.arm_of = arm_of
        self.explore = explore
        self.catalog = np.asarray(self.chains[0].store.catalog_ids, dtype=np.int64)
        # One state per store; its stride exceeds every track id of the catalog.
        stride = int(self.catalog.max()) + 1 if len(self.catalog) else 1
        self.states = {id(chain.store): UserStates(stride) for chain in self.chains}

    def _arms(self, users: np.ndarray, episodes: np.ndarray) -> list[tuple[Chain, np.ndarray]]:
        if self.arm_of is None or len(self.chains) == 1:
            return [(self.chains[0], np.arange(len(episodes)))]
        arm = self.arm_of(users, episodes)
        return [(chain, np.flatnonzero(arm == index)) for index, chain in enumerate(self.chains)]

    def __call__(self, batch: StepBatch) -> np.ndarray:
        out = np.empty(len(batch.users), dtype=np.int64)
        for chain, rows in self._arms(batch.users, batch.episodes):
            if len(rows) == 0:
                continue
            out[rows] = chain.answer_batch(batch.users[rows], batch.prev_tracks[rows],
                                           batch.prev_times[rows], batch.keys[rows],
                                           self.states[id(chain.store)])[0]
        if self.explore > 0:
            explore = draws.uniforms(batch.keys, EXPLORE_SLOT, 0) < self.explore
            u = draws.uniforms(batch.keys[explore], EXPLORE_SLOT, 1)
            out[explore] = self.catalog[draws.indices(u, len(self.catalog))]
        return out

    def end_sessions(self, users: np.ndarray, episodes: np.ndarray, tracks: np.ndarray,
                     times: np.ndarray) -> None:
        """These sessions ended after `tracks`: record them (the service's /last)."""
        for chain, rows in self._arms(users, episodes):
            if len(rows):
                chain.last_batch(users[rows], tracks[rows], times[rows],
                                 self.states[id(chain.store)])


def random_policy(n_tracks: int) -> ChainPolicy:
    """The `random` recommender over tracks 0..n_tracks-1 (no artifacts needed)."""
    return ChainPolicy([build_chain({"type": "random"}, MemoryStore.catalog_only(n_tracks))])
