"""Multiple-comparison correction across arms x metrics: Holm's step-down.

Holm is arithmetic on sorted p-values, not a distribution, so it is written here:
statsmodels' `multipletests(method="holm")` gives the same numbers (the tests check it)
but runs a full `gc.collect()` on every call, ~150 ms with a large heap, which dominated
A/A loops of hundreds of splits.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from recctl.stats.settings import CorrectionName


def holm(p_values: np.ndarray) -> np.ndarray:
    """Holm-adjusted p-values: sorted p_(i) * (m - i), made monotone, capped at 1."""
    order = np.argsort(p_values, kind="stable")
    m = len(p_values)
    stepped = np.maximum.accumulate(p_values[order] * np.arange(m, 0, -1))
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(stepped, 1.0)
    return adjusted


def adjust_p_values(p_values: Sequence[float], method: CorrectionName, alpha: float
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Adjusted p-values and rejections; NaN p-values (failed tests) stay NaN, never reject."""
    p = np.asarray(p_values, dtype=np.float64)
    adjusted = np.full_like(p, np.nan)
    ok = ~np.isnan(p)
    adjusted[ok] = p[ok] if method == "none" else holm(p[ok])
    reject = np.zeros(p.shape, dtype=bool)
    reject[ok] = adjusted[ok] < alpha
    return adjusted, reject


def matching_alphas(p_values: Sequence[float] | np.ndarray,
                    adjusted: Sequence[float] | np.ndarray, alpha: float) -> np.ndarray:
    """Per-comparison levels whose intervals agree with the adjusted verdicts.

    alpha_i = alpha x p_i / p_adj_i: the interval at level 1 - alpha_i excludes 0 exactly
    when p_i < alpha_i, i.e. when p_adj_i < alpha. For Holm it lies between Bonferroni's
    alpha / m and the unadjusted alpha. NaN for failed tests.
    """
    p = np.asarray(p_values, dtype=np.float64)
    adj = np.asarray(adjusted, dtype=np.float64)
    m = max(int((~np.isnan(p)).sum()), 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        levels = np.where(adj > 0, alpha * p / adj, alpha / m)  # p = 0: Bonferroni's level
    return np.minimum(levels, alpha)
