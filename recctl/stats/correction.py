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
