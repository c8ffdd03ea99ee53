"""SampleMeanStatistic against numpy on the raw arrays."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from recctl.stats.statistics import SampleMeanStatistic


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mean_and_variance_match_numpy(seed: int) -> None:
    values = np.random.default_rng(seed).lognormal(1.0, 1.2, size=500)
    stat = SampleMeanStatistic.from_values(values)
    assert stat.n == 500
    assert stat.mean == pytest.approx(values.mean(), rel=1e-12)
    assert stat.variance == pytest.approx(values.var(ddof=1), rel=1e-9)
    assert stat.std == pytest.approx(values.std(ddof=1), rel=1e-9)


def test_add_merges_strata_like_concatenation() -> None:
    rng = np.random.default_rng(7)
    a, b = rng.normal(3, 2, 300), rng.exponential(1.5, 200)
    merged = SampleMeanStatistic.from_values(a) + SampleMeanStatistic.from_values(b)
    both = np.concatenate([a, b])
    assert merged.n == 500
    assert merged.mean == pytest.approx(both.mean(), rel=1e-12)
    assert merged.variance == pytest.approx(both.var(ddof=1), rel=1e-9)


def test_frozen_and_degenerate_cases() -> None:
    stat = SampleMeanStatistic.from_values([2.0, 2.0, 2.0])
    assert stat.variance == 0.0  # no negative rounding residue
    with pytest.raises(dataclasses.FrozenInstanceError):
        stat.n = 4  # type: ignore[misc]
    assert SampleMeanStatistic(0, 0.0, 0.0).mean == 0.0
    assert SampleMeanStatistic.from_values([5.0]).variance == 0.0
