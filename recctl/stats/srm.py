"""Sample-ratio mismatch: are users split across arms as the hash promises?"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as ss


@dataclass(frozen=True)
class SrmResult:
    """observed/expected: users per arm (control first). ratios[i]: arm i+1's users per
    control user, with a 95% interval (exact binomial); expected_ratios: the same under the
    planned split. status: "ok", "warn" (p below the warning threshold) or "mismatch"."""

    observed: tuple[int, ...]
    expected: tuple[float, ...]
    p_value: float
    mismatch: bool  # p below the threshold: the split is broken, distrust the table
    warn: bool = False  # p below the warning threshold: look before trusting the table
    ratios: tuple[float, ...] = ()
    ratio_lower: tuple[float, ...] = ()
    ratio_upper: tuple[float, ...] = ()
    expected_ratios: tuple[float, ...] = ()

    @property
    def status(self) -> str:
        return "mismatch" if self.mismatch else "warn" if self.warn else "ok"


def ratio_interval(treatment: int, control: int, level: float = 0.95
                   ) -> tuple[float, float, float]:
    """treatment / control users with an exact (Clopper-Pearson) interval: the treatment's
    share of the pair is binomial, and share / (1 - share) maps its bounds to the ratio."""
    total = treatment + control
    if control == 0 or total == 0:
        return float("nan"), float("nan"), float("nan")
    ci = ss.binomtest(treatment, total).proportion_ci(confidence_level=level, method="exact")
    return treatment / control, _share_to_ratio(ci.low), _share_to_ratio(ci.high)


def _share_to_ratio(share: float) -> float:
    return share / (1 - share) if share < 1 else float("inf")


def check_srm(observed: Sequence[int], weights: Sequence[float] | None = None,
              threshold: float = 0.001, warn_threshold: float = 0.01) -> SrmResult:
    """Chi-square goodness of fit of users per arm against the expected split (equal by
    default); the first arm is the control the ratios are taken against."""
    counts = np.asarray(observed, dtype=np.float64)
    shares = np.ones(len(counts)) if weights is None else np.asarray(weights, dtype=np.float64)
    expected = counts.sum() * shares / shares.sum()
    if len(counts) < 2 or counts.sum() == 0:
        p_value = 1.0
    else:
        p_value = float(ss.chisquare(counts, expected).pvalue)
    ratios = [ratio_interval(int(t), int(counts[0])) for t in counts[1:]]
    return SrmResult(observed=tuple(int(c) for c in counts),
                     expected=tuple(float(e) for e in expected),
                     p_value=p_value, mismatch=p_value < threshold,
                     warn=p_value < warn_threshold,
                     ratios=tuple(r[0] for r in ratios),
                     ratio_lower=tuple(r[1] for r in ratios),
                     ratio_upper=tuple(r[2] for r in ratios),
                     expected_ratios=tuple(float(s / shares[0]) for s in shares[1:]))
