"""Multiple-comparison correction across arms x metrics (statsmodels' Holm)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from statsmodels.stats.multitest import multipletests

from recctl.stats.settings import CorrectionName


def adjust_p_values(p_values: Sequence[float], method: CorrectionName, alpha: float
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Adjusted p-values and rejections; NaN p-values (failed tests) stay NaN, never reject."""
    p = np.asarray(p_values, dtype=np.float64)
    adjusted = np.full_like(p, np.nan)
    reject = np.zeros(p.shape, dtype=bool)
    ok = ~np.isnan(p)
    if method == "none" or not ok.any():
        adjusted[ok] = p[ok]
        reject[ok] = p[ok] < alpha
        return adjusted, reject
    reject[ok], adjusted[ok], _, _ = multipletests(p[ok], alpha=alpha, method="holm")
    return adjusted, reject
