"""What a comparison computes: the test, alpha, the correction. Plain frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

TestName = Literal["welch", "delta"]
CorrectionName = Literal["holm", "none"]


@dataclass(frozen=True)
class TestSettings:
    """Settings one two-sample test reads.

    test: "welch" is the course's interval (Welch t on the difference of means, scaled by
    the control mean); "delta" is a normal interval on the relative effect by the delta
    method, which accounts for the noise in the control mean too.
    """

    __test__ = False  # not a pytest test class, despite the name

    alpha: float = 0.05
    test: TestName = "welch"


@dataclass(frozen=True)
class ReportSettings:
    """Settings for a whole A/B table."""

    alpha: float = 0.05
    correction: CorrectionName = "holm"
    primary_metric: str = "mean_time_per_session"
    srm_threshold: float = 0.001
