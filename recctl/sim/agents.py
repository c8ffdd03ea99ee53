"""In-process agents (policies) for tests, calibration and benchmarks.

(The `random` recommender itself is recctl.sim.serving.random_policy.)
- `OraclePolicy`: knows the hidden world (embeddings, interests); used only to check
  that the world rewards good recommendations, never as a recommender to compare.
- `scalar_policy`: wraps a plain `agent(user, track, time) -> track` function.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from recctl.sim.inprocess import Policy, StepBatch
from recctl.sim.knn import top_k_inner_product
from recctl.sim.user_model import UserModel
from recctl.sim.world import World


def scalar_policy(agent: Callable[[int, int, float], int]) -> Policy:
    """Adapt `agent(user, prev_track, prev_time) -> next_track`, called once per row."""

    def policy(batch: StepBatch) -> np.ndarray:
        return np.fromiter(
            (agent(u, t, x) for u, t, x in zip(batch.users.tolist(), batch.prev_tracks.tolist(),
                                               batch.prev_times.tolist(), strict=True)),
            dtype=np.int64, count=len(batch.users))

    return policy


class OraclePolicy:
    """Recommends the unplayed track closest (by inner product) to the session's interest,
    skipping artists already played this session.

    The session's interest is recovered from the first track: it is the user's interest
    whose k nearest neighbours contain it. Candidates are each interest's `pool` nearest
    tracks; if all are used up the best unplayed one is taken regardless of artist.
    """

    def __init__(self, world: World, user_model: UserModel, pool: int = 100) -> None:
        self.world = world
        self.neighbours = world.interest_neighbours(user_model.interest_neighbours)
        unique, inverse = np.unique(world.interests, return_inverse=True)
        table = top_k_inner_product(world.embeddings, world.embeddings[unique], pool)
        self.candidates = table[inverse.reshape(world.interests.shape)]  # (U, I, pool)

    def __call__(self, batch: StepBatch) -> np.ndarray:
        first = batch.history[:, 0]
        hits = (self.neighbours[batch.users] == first[:, None, None]).any(axis=2)  # (n, I)
        slots = np.argmax(hits, axis=1)
        candidates = self.candidates[batch.users, slots]  # (n, pool)
        played = batch.history
        track_artist = self.world.track_artist
        played_artists = np.where(played >= 0, track_artist[np.maximum(played, 0)], -1)
        is_played = (candidates[:, :, None] == played[:, None, :]).any(axis=2)
        same_artist = (track_artist[candidates][:, :, None] == played_artists[:, None, :]).any(2)
        best = np.where(~(is_played | same_artist), 0, 1) * candidates.shape[1] \
            + np.where(~is_played, 0, 2 * candidates.shape[1]) + np.arange(candidates.shape[1])
        return candidates[np.arange(len(first)), np.argmin(best, axis=1)]
