"""Welch matches the course's notebook formula exactly; the delta method; error codes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.stats as ss

from recctl.stats import messages
from recctl.stats.hypothesis_tests import DeltaMethodTest, WelchTTest, get_configured_test
from recctl.stats.settings import TestSettings
from recctl.stats.statistics import SampleMeanStatistic


def course_ci(control: pd.Series, treatment: pd.Series, alpha: float) -> dict[str, float]:
    """The course notebook's computation, written out as the reference."""
    c_mean, t_mean = control.mean(), treatment.mean()
    c_var, t_var = control.var(), treatment.var()
    n_c, n_t = len(control), len(treatment)
    effect = (t_mean / c_mean - 1) * 100
    se = np.sqrt(c_var / n_c + t_var / n_t)
    dof = (c_var / n_c + t_var / n_t) ** 2 / (
        (c_var / n_c) ** 2 / (n_c - 1) + (t_var / n_t) ** 2 / (n_t - 1))
    t = ss.t.ppf(1 - alpha / 2, dof)
    diff = t_mean - c_mean
    lower = (diff - t * se) / c_mean * 100
    upper = (diff + t * se) / c_mean * 100
    return {"control_mean": c_mean, "treatment_mean": t_mean, "effect": effect,
            "lower": lower, "upper": upper, "significant": bool(np.sign(lower) == np.sign(upper))}


def _samples(seed: int, lift: float) -> tuple[pd.Series, pd.Series]:
    rng = np.random.default_rng(seed)
    control = pd.Series(rng.lognormal(1.0, 1.0, 800))
    treatment = pd.Series(rng.lognormal(1.0, 1.1, 650) * (1 + lift))
    return control, treatment


@pytest.mark.parametrize(("seed", "lift", "alpha"), [(0, 0.0, 0.05), (1, 0.15, 0.05),
                                                     (2, 0.05, 0.01), (3, -0.2, 0.1)])
def test_welch_is_identical_to_the_course_formula(seed: int, lift: float, alpha: float) -> None:
    control, treatment = _samples(seed, lift)
    reference = course_ci(control, treatment, alpha)
    result = WelchTTest(SampleMeanStatistic.from_values(control),
                        SampleMeanStatistic.from_values(treatment),
                        TestSettings(alpha=alpha)).compute_result()
    for key in ("control_mean", "treatment_mean", "effect", "lower", "upper"):
        assert getattr(result, key) == pytest.approx(reference[key], rel=1e-9, abs=1e-9), key
    assert result.significant == reference["significant"]
    # The p-value is scipy's Welch test on the raw data.
    assert result.p_value == pytest.approx(
        ss.ttest_ind(treatment, control, equal_var=False).pvalue, rel=1e-8)
    assert result.significant == (result.p_value < alpha)


def test_welch_pinned_numbers() -> None:
    control, treatment = _samples(1, 0.15)
    result = WelchTTest(SampleMeanStatistic.from_values(control),
                        SampleMeanStatistic.from_values(treatment),
                        TestSettings(alpha=0.05)).compute_result()
    got = [round(v, 5) for v in (result.effect, result.lower, result.upper)]
    assert got == [47.52807, 24.94916, 70.10698]
    assert result.p_value == pytest.approx(PINNED_P, rel=1e-4)


PINNED_P = 3.952037e-05


def test_delta_method_interval() -> None:
    control, treatment = _samples(1, 0.15)
    c, t = SampleMeanStatistic.from_values(control), SampleMeanStatistic.from_values(treatment)
    result = DeltaMethodTest(c, t, TestSettings(alpha=0.05)).compute_result()
    ratio = t.mean / c.mean
    share_t = t.variance / t.n / c.mean**2
    share_c = ratio**2 * c.variance / c.n / c.mean**2
    se = np.sqrt(share_t + share_c)
    dof = (share_t + share_c) ** 2 / (share_t**2 / (t.n - 1) + share_c**2 / (c.n - 1))
    q = ss.t.ppf(0.975, dof)
    assert result.effect == pytest.approx((ratio - 1) * 100)
    assert result.lower == pytest.approx((ratio - 1 - q * se) * 100, rel=1e-9)
    assert result.upper == pytest.approx((ratio - 1 + q * se) * 100, rel=1e-9)
    assert result.p_value == pytest.approx(2 * ss.t.sf((ratio - 1) / se, dof), rel=1e-9)
    # Close to the normal interval at these sizes (the t quantile only matters for small arms).
    z = ss.norm.ppf(0.975)
    assert result.lower == pytest.approx((ratio - 1 - z * se) * 100, rel=2e-3)
    # Close to Welch's, but wider: it also counts the noise of the control mean.
    welch = get_configured_test(c, t, TestSettings(test="welch")).compute_result()
    assert result.upper - result.lower > welch.upper - welch.lower


def test_one_sided_test_for_harm() -> None:
    control, treatment = _samples(3, 0.08)
    c, t = SampleMeanStatistic.from_values(control), SampleMeanStatistic.from_values(treatment)
    two = DeltaMethodTest(c, t, TestSettings(alpha=0.05)).compute_result()
    up = DeltaMethodTest(c, t, TestSettings(alpha=0.05, alternative="greater")).compute_result()
    down = DeltaMethodTest(c, t, TestSettings(alpha=0.05, alternative="less")).compute_result()
    # The one-sided p is half the two-sided one on the side of the estimate.
    side, other = (up, down) if two.effect > 0 else (down, up)
    assert side.p_value == pytest.approx(two.p_value / 2, rel=1e-9)
    assert other.p_value == pytest.approx(1 - two.p_value / 2, rel=1e-9)
    # Its interval is the two-sided one at 1 - 2 alpha: the 90% interval.
    ninety = DeltaMethodTest(c, t, TestSettings(alpha=0.10)).compute_result()
    assert (up.lower, up.upper) == pytest.approx((ninety.lower, ninety.upper), rel=1e-12)
    assert up.significant == (up.lower > 0) and down.significant == (down.upper < 0)


def test_delta_interval_covers_large_effects() -> None:
    """Coverage sanity at a true +50% on skewed data: the delta interval covers about 95%,
    Welch's difference over the control mean less (it treats the control mean as known)."""
    rng = np.random.default_rng(12)
    reps, n = 600, 300
    covered = {"delta": 0, "welch": 0}
    for _ in range(reps):
        c = SampleMeanStatistic.from_values(rng.lognormal(1.0, 1.0, n))
        t = SampleMeanStatistic.from_values(rng.lognormal(1.0, 1.0, n) * 1.5)
        for name in covered:
            r = get_configured_test(c, t, TestSettings(test=name)).compute_result()
            covered[name] += r.lower <= 50.0 <= r.upper
    delta, welch = covered["delta"] / reps, covered["welch"] / reps
    # Loose bounds (binomial sd ~0.9 points at 600 replicates): what fails is a method that
    # is not near 95%, such as an interval that ignores the control's noise.
    assert 0.925 <= delta <= 0.975, delta
    assert welch < delta


def test_expected_failures_are_results_not_exceptions() -> None:
    flat = SampleMeanStatistic.from_values([1.0] * 10)
    result = WelchTTest(flat, flat, TestSettings()).compute_result()
    assert result.error == messages.ZERO_VARIANCE
    assert not result.significant and np.isnan(result.p_value) and result.effect == 0.0
    one = SampleMeanStatistic.from_values([1.0])
    assert WelchTTest(one, flat, TestSettings()).compute_result().error == messages.NOT_ENOUGH_DATA
    zero = SampleMeanStatistic.from_values([0.0, 0.0, 0.0])
    noisy = SampleMeanStatistic.from_values([0.0, 1.0, 2.0])
    assert DeltaMethodTest(zero, noisy, TestSettings()).compute_result().error == \
        messages.ZERO_CONTROL_MEAN
