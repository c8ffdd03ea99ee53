"""Sample-ratio mismatch: are users split across arms as the hash promises?"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as ss


@dataclass(frozen=True)
class SrmResult:
    observed: tuple[int, ...]
    expected: tuple[float, ...]
    p_value: float
    mismatch: bool  # p below the threshold: the split is broken, distrust the table


def check_srm(observed: Sequence[int], weights: Sequence[float] | None = None,
              threshold: float = 0.001) -> SrmResult:
    """Chi-square goodness of fit of users per arm against the expected split (equal by default)."""
    counts = np.asarray(observed, dtype=np.float64)
    shares = np.ones(len(counts)) if weights is None else np.asarray(weights, dtype=np.float64)
    expected = counts.sum() * shares / shares.sum()
    if len(counts) < 2 or counts.sum() == 0:
        p_value = 1.0
    else:
        p_value = float(ss.chisquare(counts, expected).pvalue)
    return SrmResult(observed=tuple(int(c) for c in counts),
                     expected=tuple(float(e) for e in expected),
                     p_value=p_value, mismatch=p_value < threshold)
