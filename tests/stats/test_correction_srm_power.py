"""Holm against a hand-computed ordering; SRM on a constructed imbalance; power."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats as ss

from recctl.stats.correction import adjust_p_values
from recctl.stats.power import users_per_arm
from recctl.stats.srm import check_srm


def test_holm_matches_the_hand_computed_step_down() -> None:
    p = [0.01, 0.04, 0.03, 0.005, 0.20]
    # Sorted: 0.005 (x5 = 0.025), 0.01 (x4 = 0.04), 0.03 (x3 = 0.09), 0.04 (x2 = 0.08 ->
    # max with 0.09 = 0.09), 0.20 (x1 = 0.20). Reject while the adjusted p < 0.05.
    adjusted, reject = adjust_p_values(p, "holm", 0.05)
    assert adjusted == pytest.approx([0.04, 0.09, 0.09, 0.025, 0.20])
    assert reject.tolist() == [True, False, False, True, False]


def test_failed_tests_stay_out_of_the_family() -> None:
    adjusted, reject = adjust_p_values([0.01, math.nan, 0.02], "holm", 0.05)
    assert adjusted[0] == pytest.approx(0.02) and adjusted[2] == pytest.approx(0.02)
    assert math.isnan(adjusted[1]) and not reject[1]
    raw, reject_raw = adjust_p_values([0.01, 0.06], "none", 0.05)
    assert raw.tolist() == [0.01, 0.06] and reject_raw.tolist() == [True, False]


def test_srm_flags_a_constructed_imbalance() -> None:
    balanced = check_srm([5000, 4950])
    assert not balanced.mismatch and balanced.p_value == pytest.approx(
        ss.chisquare([5000, 4950]).pvalue)
    skewed = check_srm([5000, 4600])
    # chi2 = (200^2 + 200^2) / 4800 = 16.67 on 1 dof -> p = 4.46e-05 < 0.001
    assert skewed.p_value == pytest.approx(ss.chi2.sf(80000 / 4800, 1), rel=1e-9)
    assert skewed.mismatch
    three = check_srm([1000, 1000, 1100])
    assert three.expected == pytest.approx((1033.33333, 1033.33333, 1033.33333))


def test_users_per_arm_matches_the_normal_approximation() -> None:
    # n ~ 2 (z_{0.975} + z_{0.8})^2 / d^2 = 1569.8 for d = 0.1; the t-test needs a bit more.
    z = ss.norm.ppf(0.975) + ss.norm.ppf(0.8)
    approx = 2 * z**2 / 0.1**2
    n = users_per_arm(std=2.0, mde_absolute=0.2)
    assert n == 1571 and approx < n < approx + 3
    assert users_per_arm(std=2.0, mde_absolute=0.4) < n / 3.9
    with pytest.raises(ValueError):
        users_per_arm(std=0.0, mde_absolute=0.1)
    assert np.isfinite(n)


def test_holm_agrees_with_statsmodels() -> None:
    from statsmodels.stats.multitest import multipletests

    p = np.random.default_rng(5).uniform(0, 0.1, size=40) ** 2
    adjusted, reject = adjust_p_values(p, "holm", 0.05)
    want_reject, want_adjusted, _, _ = multipletests(p, alpha=0.05, method="holm")
    np.testing.assert_allclose(adjusted, want_adjusted, rtol=1e-12)
    assert reject.tolist() == want_reject.tolist()


def test_srm_warns_below_one_percent_and_flags_below_a_tenth() -> None:
    # chi2 on 1 dof: p = 0.0047 for (5000, 4720): a warning, not a mismatch.
    warned = check_srm([5000, 4720])
    assert 0.001 < warned.p_value < 0.01
    assert warned.warn and not warned.mismatch and warned.status == "warn"
    assert check_srm([5000, 4600]).status == "mismatch"
    assert check_srm([5000, 4950]).status == "ok"


def test_srm_ratio_interval_is_the_exact_binomial_one() -> None:
    from statsmodels.stats.proportion import proportion_confint

    result = check_srm([1000, 1100, 900])
    assert result.ratios == pytest.approx((1.1, 0.9))
    low, high = proportion_confint(1100, 2100, alpha=0.05, method="beta")
    assert result.ratio_lower[0] == pytest.approx(low / (1 - low), rel=1e-9)
    assert result.ratio_upper[0] == pytest.approx(high / (1 - high), rel=1e-9)
    assert result.ratio_lower[1] < 0.9 < result.ratio_upper[1] < 1.0
    assert result.expected_ratios == (1.0, 1.0)


def test_matching_levels_make_intervals_agree_with_holm() -> None:
    from recctl.stats.correction import matching_alphas

    rng = np.random.default_rng(3)
    for _ in range(50):
        z = rng.normal(1.5, 1.5, size=6)
        p = 2 * ss.norm.sf(np.abs(z))
        adjusted, reject = adjust_p_values(p, "holm", 0.05)
        levels = matching_alphas(p, adjusted, 0.05)
        # A normal interval at level 1 - alpha_i excludes 0 exactly when Holm rejects.
        excludes = np.abs(z) > ss.norm.ppf(1 - levels / 2)
        assert excludes.tolist() == reject.tolist()
        assert (levels >= 0.05 / 6 - 1e-15).all() and (levels <= 0.05).all()
