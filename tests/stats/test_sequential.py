"""Confidence sequences: the formula, width against the fixed-horizon interval, peeking."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as ss

from recctl.stats.sequential import confidence_sequence, half_width, mixture_rho
from recctl.stats.statistics import SampleMeanStatistic


def test_half_width_is_the_normal_mixture_boundary() -> None:
    """Howard et al.'s two-sided normal mixture, |S_t| <= sqrt((t + r) log((t + r) /
    (r alpha^2))) with r = 1 / rho^2 (unit variance), divided by t for the mean."""
    for alpha in (0.05, 0.01):
        rho = mixture_rho(alpha, 5_000)
        r = 1 / rho**2
        for t in (10, 500, 5_000, 10**6):
            boundary = math.sqrt((t + r) * math.log((t + r) / (r * alpha**2))) / t
            assert half_width(1.0, t, alpha, rho) == pytest.approx(boundary, rel=1e-12)
            assert half_width(3.0, t, alpha, rho) == pytest.approx(3 * boundary, rel=1e-12)
    assert half_width(1.0, 0, 0.05, 0.1) == math.inf


def test_wider_than_fixed_horizon_and_tightest_near_n_star() -> None:
    z = ss.norm.ppf(0.975)
    rho = mixture_rho(0.05, 2_000)
    ratios = {n: half_width(1.0, n, 0.05, rho) / (z / math.sqrt(n))
              for n in (100, 500, 1_000, 2_000, 4_000, 20_000, 200_000)}
    assert all(r > 1 for r in ratios.values())  # the price of peeking at will
    assert min(ratios, key=ratios.get) in (1_000, 2_000, 4_000)
    assert ratios[2_000] < 2.0


def test_relative_sequence_covers_and_contains_the_estimate() -> None:
    rng = np.random.default_rng(1)
    c = SampleMeanStatistic.from_values(rng.lognormal(1.0, 0.8, 4_000))
    t = SampleMeanStatistic.from_values(1.1 * rng.lognormal(1.0, 0.8, 4_000))
    result = confidence_sequence(c, t, alpha=0.05, n_star=8_000)
    assert result is not None and result.relative
    assert result.lower < result.effect < result.upper
    assert result.lower < 10 < result.upper
    assert result.effect == pytest.approx((t.mean / c.mean - 1) * 100)
    # The delta method's fixed-horizon interval is inside the sequence's.
    se = math.sqrt(t.variance / (t.n * c.mean**2) + t.mean**2 * c.variance / (c.n * c.mean**4))
    assert result.upper - result.lower > 2 * 1.96 * se * 100
    absolute = confidence_sequence(c, t, alpha=0.05, n_star=8_000, relative=False)
    assert absolute is not None and absolute.effect == pytest.approx(t.mean - c.mean)
    assert confidence_sequence(SampleMeanStatistic.from_values([1.0]), t, 0.05, 10) is None


def _peeking_false_positives(sequential: bool, replicates: int = 300, users: int = 3_000,
                             every: int = 100, seed: int = 0) -> float:
    """A/A streams (skewed, user-level values), one look every `every` users per arm."""
    rng = np.random.default_rng(seed)
    z = ss.norm.ppf(0.975)
    rejected = 0
    looks = np.arange(every, users + 1, every)
    for _ in range(replicates):
        a, b = rng.lognormal(1.0, 1.0, (2, users))
        stats = []
        for values in (a, b):
            s1, s2 = np.cumsum(values)[looks - 1], np.cumsum(values**2)[looks - 1]
            stats.append((s1 / looks, (s2 - s1**2 / looks) / (looks - 1)))
        (ma, va), (mb, vb) = stats
        if sequential:
            hits = [confidence_sequence(SampleMeanStatistic(n, ma[i] * n, (n - 1) * va[i]
                                                            + n * ma[i] ** 2),
                                        SampleMeanStatistic(n, mb[i] * n, (n - 1) * vb[i]
                                                            + n * mb[i] ** 2),
                                        0.05, 2 * users).conclusive
                    for i, n in enumerate(looks)]
            rejected += any(hits)
        else:
            se = np.sqrt(va / looks + vb / looks)
            rejected += bool((np.abs(mb - ma) > z * se).any())
    return rejected / replicates


def test_aa_with_many_peeks_keeps_its_level_where_the_fixed_test_does_not() -> None:
    sequential = _peeking_false_positives(sequential=True)
    naive = _peeking_false_positives(sequential=False)
    assert sequential <= 0.06  # 30 looks, alpha 0.05: a loose upper bound at 300 replicates
    assert naive > 0.12  # the same looks with the fixed-horizon interval
