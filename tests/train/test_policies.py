from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recctl.train import policies as P


@dataclass
class Batch:
    users: np.ndarray
    episodes: np.ndarray
    prev_tracks: np.ndarray
    prev_times: np.ndarray
    history: np.ndarray
    history_times: np.ndarray
    rng: np.random.Generator


def _batch(histories: list[list[tuple[int, float]]], users: list[int]) -> Batch:
    width = max(len(h) for h in histories)
    hist = np.full((len(histories), width), -1, dtype=np.int64)
    times = np.full((len(histories), width), np.nan)
    for i, h in enumerate(histories):
        hist[i, : len(h)] = [t for t, _ in h]
        times[i, : len(h)] = [x for _, x in h]
    last = np.array([h[-1] for h in histories])
    return Batch(
        np.array(users),
        np.arange(len(users)),
        last[:, 0].astype(np.int64),
        last[:, 1],
        hist,
        times,
        np.random.default_rng(0),
    )


N_TRACKS = 20
I2I = np.full((N_TRACKS, 3), -1, dtype=np.int64)
I2I[1] = [2, 3, -1]
I2I[5] = [6, 7, 8]
USERS = np.array([[10, 11, 12], [13, -1, -1]])
TABLES = P.Tables(N_TRACKS, np.array([15, 16]), {"i2i": I2I}, {"dssm": USERS})


def test_contextual_mod_uses_the_last_liked_track_and_skips_heard() -> None:
    # Row 0: liked 5 (0.9) then skipped 9 (0.1): anchor 5; 6 and 7 already heard -> 8.
    # Row 1: nothing liked after the first track 1 (1.0) -> anchor 1; 2, 3 heard -> user list.
    batch = _batch(
        [[(6, 1.0), (7, 1.0), (5, 0.9), (9, 0.1)], [(1, 1.0), (2, 0.2), (3, 0.1)]], [0, 1]
    )
    assert P.last_liked(batch, 0.7).tolist() == [5, 1]
    out = P.contextual_mod_policy(TABLES)(batch)
    assert out.tolist() == [8, 13]


def test_contextual_mod_falls_back_to_top_pop_then_random() -> None:
    # No liked track (threshold 0.7 not reached), user 1's list holds only heard track 13.
    batch = _batch([[(13, 0.5)], [(15, 0.5), (16, 0.1)]], [1, 5])
    out = P.contextual_mod_policy(TABLES)(batch)
    assert out[0] in (15, 16)  # top-pop
    assert 0 <= out[1] < N_TRACKS and out[1] not in (15, 16)  # user 5 unknown, top-pop heard


def test_indexed_draws_from_the_user_list_without_repeats() -> None:
    policy = P.indexed_policy(TABLES)
    batch = _batch([[(10, 1.0), (11, 1.0)]] * 50, [0] * 50)
    assert set(policy(batch).tolist()) == {12}
    batch = _batch([[(4, 1.0)]] * 200, [0] * 200)
    assert set(policy(batch).tolist()) == {10, 11, 12}  # uniform over the list


def test_contextual_uses_the_track_just_played() -> None:
    batch = _batch([[(5, 0.0)], [(1, 0.0)], [(4, 1.0)]], [0, 0, 0])
    out = P.contextual_policy(TABLES)(batch)
    assert out[0] in (6, 7, 8) and out[1] in (2, 3) and out[2] in (15, 16)


def test_mixture_serves_each_row_by_its_arm() -> None:
    constant = [lambda b, v=v: np.full(len(b.users), v, dtype=np.int64) for v in (3, 4)]
    arms = np.array([0, 1, 1, 0])
    policy = P.mixture_policy(constant, lambda b: arms[b.episodes], N_TRACKS, explore=0.0)
    assert policy(_batch([[(1, 1.0)]] * 4, [0, 1, 2, 3])).tolist() == [3, 4, 4, 3]
