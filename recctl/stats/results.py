"""What a two-sample test returns: numbers, or a neutral result tagged with an error code."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class TestResult:
    """One arm against the control on one metric.

    Effects and interval bounds are percentages of the control mean; `se` is the standard
    error of the effect (also in %) and `dof` the degrees of freedom of its t quantile.
    `error` is None, or a code from `messages.py` when the test could not be computed
    (then numbers are NaN and `significant` is False).
    """

    __test__ = False  # not a pytest test class, despite the name

    control_mean: float
    treatment_mean: float
    effect: float
    lower: float
    upper: float
    p_value: float
    significant: bool
    dof: float = math.nan
    se: float = math.nan
    error: str | None = None


def default_result(control_mean: float, treatment_mean: float, error: str) -> TestResult:
    """The neutral result for a test that cannot be computed (gbstats' `_default_output`)."""
    effect = (treatment_mean / control_mean - 1) * 100 if control_mean else math.nan
    return TestResult(control_mean=control_mean, treatment_mean=treatment_mean, effect=effect,
                      lower=math.nan, upper=math.nan, p_value=math.nan, significant=False,
                      error=error)
