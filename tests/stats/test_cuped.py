"""CUPED on sufficient statistics against statsmodels OLS on the raw arrays."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm

from recctl.stats.cuped import RegressionStatistic, covariate_matrix, cuped_adjust


def _experiment(seed: int, n: int = 3000, arms: int = 3, missing: float = 0.1,
                effect: float = 0.3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Users with a pre-period value x (NaN for some), their arm, and y correlated with x;
    users without a pre-period are on average different (a real engagement gap)."""
    rng = np.random.default_rng(seed)
    arm = rng.integers(0, arms, n)
    taste = rng.lognormal(1.0, 0.5, n)
    x = taste + rng.normal(0, 0.8, n)
    y = taste * (1 + effect * arm) + rng.normal(0, 0.8, n)
    no_pre = rng.random(n) < missing
    y[no_pre] -= 1.0
    x[no_pre] = np.nan
    return x, arm, y


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_ols_with_arm_dummies(seed: int) -> None:
    x, arm, y = _experiment(seed)
    z = covariate_matrix(x)
    result = cuped_adjust([RegressionStatistic.from_arrays(y[arm == a], z[arm == a])
                           for a in range(3)])
    # OLS of y on an intercept, treatment dummies and the covariates, on the raw rows.
    design = np.column_stack([np.ones(len(y)), arm == 1, arm == 2, z]).astype(np.float64)
    ols = sm.OLS(y, design).fit()
    assert np.allclose(result.theta, ols.params[3:], rtol=1e-9, atol=1e-12)
    control, t1, t2 = result.adjusted
    assert t1.mean - control.mean == pytest.approx(ols.params[1], rel=1e-9)
    assert t2.mean - control.mean == pytest.approx(ols.params[2], rel=1e-9)
    # Each arm's adjusted variance is its residuals' variance (ddof=1) around its own mean.
    for a, stat in enumerate(result.adjusted):
        rows = arm == a
        adjusted_values = y[rows] - (z[rows] - z.mean(axis=0)) @ ols.params[3:]
        assert stat.n == rows.sum()
        assert stat.mean == pytest.approx(adjusted_values.mean(), rel=1e-9)
        assert stat.variance == pytest.approx(adjusted_values.var(ddof=1), rel=1e-8)
    pooled_raw = sum(((y[arm == a] - y[arm == a].mean()) ** 2).sum() for a in range(3))
    assert result.variance_ratio == pytest.approx(ols.ssr / pooled_raw, rel=1e-8)
    assert 0.2 < result.variance_reduction < 0.9


def test_users_without_pre_period_are_imputed_and_flagged() -> None:
    x = np.array([1.0, np.nan, 3.0, np.nan, 5.0])
    z = covariate_matrix(x)
    assert z[:, 0].tolist() == [1.0, 3.0, 3.0, 3.0, 5.0]  # the observed mean
    assert z[:, 1].tolist() == [1.0, 0.0, 1.0, 0.0, 1.0]
    assert np.isnan(covariate_matrix([np.nan, np.nan])).sum() == 0


def test_missing_pre_period_does_not_bias_the_effect() -> None:
    """Users without a pre-period differ from the others; without the indicator the
    imputed value would be read as a real one. With it, the estimate matches OLS and the
    true effect, and the adjusted mean equals the raw mean on average."""
    x, arm, y = _experiment(5, n=20_000, arms=2, missing=0.3, effect=0.0)
    z = covariate_matrix(x)
    result = cuped_adjust([RegressionStatistic.from_arrays(y[arm == a], z[arm == a])
                           for a in range(2)])
    control, treatment = result.adjusted
    assert abs(treatment.mean - control.mean) < 0.05
    total_adjusted = (control.sum + treatment.sum) / len(y)
    assert total_adjusted == pytest.approx(y.mean(), rel=1e-9)
    assert result.theta[1] != 0.0  # the indicator carries the gap


def test_everyone_or_no_one_with_a_pre_period() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=200)
    y = 2 * x + rng.normal(size=200)
    arm = np.arange(200) % 2
    for pre in (x, np.full(200, np.nan)):  # constant indicator; then no covariate at all
        z = covariate_matrix(pre)
        result = cuped_adjust([RegressionStatistic.from_arrays(y[arm == a], z[arm == a])
                               for a in range(2)])
        assert np.isfinite(result.theta).all()
        if np.isnan(pre).all():
            assert result.variance_ratio == pytest.approx(1.0)
            assert result.adjusted[0].mean == pytest.approx(y[arm == 0].mean())
        else:
            assert result.variance_ratio < 0.4


def test_add_merges_like_concatenation() -> None:
    rng = np.random.default_rng(9)
    y, z = rng.normal(size=100), rng.normal(size=(100, 2))
    merged = RegressionStatistic.from_arrays(y[:40], z[:40]) + RegressionStatistic.from_arrays(
        y[40:], z[40:])
    whole = RegressionStatistic.from_arrays(y, z)
    assert merged.n == whole.n
    assert np.allclose(merged.centred_zz, whole.centred_zz)
    assert np.allclose(merged.centred_zy, whole.centred_zy)
    assert merged.centred_yy == pytest.approx(whole.centred_yy)
