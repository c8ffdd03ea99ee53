from __future__ import annotations

import math

import numpy as np

from recctl.train.evaluate import Cases, fill_lists, next_cases, score
from recctl.train.listens import listens_from_arrays


def test_recall_and_ndcg_match_hand_computation() -> None:
    # Case 0 has targets {5, 9}: 5 at rank 1 (0-based), 9 absent. Case 1 has {7} at rank 0.
    lists = np.array([[1, 5, 3], [7, 2, 4]])
    cases = Cases(np.array([0, 1]), np.array([0, 0, 1]), np.array([5, 9, 7]))
    out = score(lists, cases, ks=[1, 3])
    assert out["recall@1"] == 0.5 * (0 + 1)
    assert math.isclose(out["recall@3"], 0.5 * (0.5 + 1))
    ideal0 = 1 + 1 / math.log2(3)
    assert math.isclose(out["ndcg@3"], 0.5 * ((1 / math.log2(3)) / ideal0 + 1))


def test_fill_lists_dedups_and_tops_up_from_fallback() -> None:
    lists = np.array([[4, -1, -1], [1, 2, 3]])
    out = fill_lists(lists, np.array([1, 4, 5]), 3)
    assert out.tolist() == [[4, 1, 5], [1, 2, 3]]


def test_next_cases_anchor_on_the_previous_positive() -> None:
    listens = listens_from_arrays(
        user=np.zeros(4, int),
        session_key=np.zeros(4, int),
        track=np.array([1, 2, 3, 4]),
        time=np.array([1.0, 0.1, 0.9, 0.95]),
        timestamp_us=np.arange(4),
    )
    cases = next_cases(listens)
    assert list(zip(cases.keys.tolist(), cases.pair_target.tolist(), strict=True)) == [
        (1, 3),
        (3, 4),
    ]


def test_fill_lists_fast_path_equals_the_general_one() -> None:
    from recctl.train.evaluate import _fill_general

    rng = np.random.default_rng(5)
    for width, k in ((6, 6), (6, 10), (3, 4), (0, 5)):
        lists = rng.integers(0, 12, size=(400, width))
        lists[rng.random(lists.shape) < 0.2] = -1  # gaps, and padding
        clean = np.stack([rng.permutation(12)[:width] for _ in range(200)])
        clean[:100, width // 2:] = -1  # padded at the end only
        both = np.concatenate([lists, clean])
        for fallback in (np.array([3, 1, 3, 7, 0, 11, 2, 9]), np.array([4]), np.array([], int)):
            expected = _fill_general(both, fallback, k)
            assert np.array_equal(fill_lists(both, fallback, k), expected)
