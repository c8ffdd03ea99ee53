"""The response model's formula and the counter-based random streams."""

from __future__ import annotations

import numpy as np
import pytest

from recctl.errors import RecctlError
from recctl.sim import streams
from recctl.sim.knn import top_k_inner_product
from recctl.sim.response import budget_decrements, listen_times
from recctl.sim.user_model import UserModel, load_user_model, user_model_from_mapping

MODEL = UserModel()


def _times(score: float, bias: float, sharpness: float, plays: int = 0,
           repeated: bool = False) -> float:
    return float(listen_times(np.array([score]), np.array([bias]), np.array([sharpness]),
                              np.array([plays]), np.array([repeated]), MODEL)[0])


def test_listen_time_formula() -> None:
    # score == bias: sigmoid(0) = 0.5.
    assert _times(5.0, 5.0, 1.0) == 0.5
    # sigmoid((7 - 5) * 1.5) = sigmoid(3) = 0.952574... -> rounded to 0.95.
    assert _times(7.0, 5.0, 1.5) == 0.95
    # Two earlier plays of the artist: 0.952574 * 0.8**2 = 0.609647 -> 0.61.
    assert _times(7.0, 5.0, 1.5, plays=2) == 0.61
    # A repeated track is not listened to at all.
    assert _times(7.0, 5.0, 1.5, repeated=True) == 0.0
    # Far below the bias: sigmoid(-20) ~ 2e-9 -> 0.0; no overflow for huge arguments.
    assert _times(-10.0, 10.0, 1.0) == 0.0
    assert _times(1e6, 0.0, 2.0) == 1.0


def test_budget_drops_when_the_draw_exceeds_the_time() -> None:
    times = np.array([0.3, 0.3, 1.0, 0.0])
    draws = np.array([0.29, 0.31, 0.999, 0.0])
    assert budget_decrements(times, draws).tolist() == [0, 1, 0, 0]


def test_streams_are_pure_functions_of_their_coordinates() -> None:
    episodes = np.arange(1000)
    a = streams.uniforms(3, 1, episodes, streams.BUDGET, 4)
    scalar = [float(streams.uniforms(3, 1, int(e), streams.BUDGET, 4)) for e in (0, 17, 999)]
    assert scalar == [a[0], a[17], a[999]]
    assert not np.array_equal(a, streams.uniforms(3, 1, episodes, streams.BUDGET, 5))
    assert not np.array_equal(a, streams.uniforms(4, 1, episodes, streams.BUDGET, 4))
    assert not np.array_equal(a, streams.uniforms(3, 2, episodes, streams.BUDGET, 4))
    big = streams.uniforms(0, 0, np.arange(100_000), streams.USER)
    assert big.min() >= 0.0 and big.max() < 1.0
    assert abs(big.mean() - 0.5) < 0.005  # se = 0.29 / sqrt(1e5) ~ 0.0009
    counts = np.bincount(streams.choose_index(big, 10), minlength=10)
    assert counts.min() > 9_500 and counts.max() < 10_500


def test_top_k_inner_product_matches_a_full_sort() -> None:
    rng = np.random.default_rng(1)
    items = rng.standard_normal((3_000, 8)).astype(np.float32)
    queries = rng.standard_normal((40, 8)).astype(np.float32)
    expected = np.argsort(-(queries @ items.T), axis=1, kind="stable")[:, :25]
    assert np.array_equal(top_k_inner_product(items, queries, 25, chunk=7, block=16), expected)


def test_user_model_file_and_validation() -> None:
    model = load_user_model()  # config/user_model.yml
    assert (model.interest_neighbours, model.session_budget, model.artist_discount_gamma) == (
        10, 5, 0.8)
    with pytest.raises(RecctlError, match="budgett"):
        user_model_from_mapping({"budgett": 3})
    with pytest.raises(RecctlError, match="session_budget"):
        user_model_from_mapping({"session_budget": 0})


def test_scalar_uniform_has_the_vectorised_bits() -> None:
    # The step-by-step paths use streams.uniform; the in-process one streams.uniforms.
    # They must agree to the bit, or the same episode would differ between them.
    from recctl.sim import streams

    rng = np.random.default_rng(3)
    seeds = [0, 1, 42, -7, 2**40 + 3, 2**63 - 1]
    for seed in seeds:
        episodes = rng.integers(0, 1_000_000, size=200)
        steps = rng.integers(0, 500, size=200)
        for stream in (streams.USER, streams.BUDGET):
            vector = streams.uniforms(seed, 3, episodes, stream, steps)
            scalar = [streams.uniform(seed, 3, int(e), stream, int(s))
                      for e, s in zip(episodes, steps, strict=True)]
            assert vector.tolist() == scalar
