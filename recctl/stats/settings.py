"""What a comparison computes: the test, alpha, the correction. Plain frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from recctl.constants import DEFAULT_ALPHA, DEFAULT_GUARDRAILS, PRIMARY_METRIC

TestName = Literal["welch", "delta"]
CorrectionName = Literal["holm", "none"]
# "greater": the treatment's relative effect is above 0; "less": below 0.
Alternative = Literal["two-sided", "greater", "less"]
Role = Literal["primary", "secondary", "guardrail"]


@dataclass(frozen=True)
class TestSettings:
    """Settings one two-sample test reads.

    test: "welch" is the course's interval (Welch t on the difference of means, scaled by
    the control mean); "delta" is an interval on the relative effect by the delta method,
    which accounts for the noise in the control mean too. `alternative` "greater"/"less"
    makes the test one-sided (a guardrail's test for harm); the interval is then the
    two-sided one at level 1 - 2 alpha, whose bound on the tested side is the one-sided bound.
    """

    __test__ = False  # not a pytest test class, despite the name

    alpha: float = DEFAULT_ALPHA
    test: TestName = "welch"
    alternative: Alternative = "two-sided"


@dataclass(frozen=True)
class ReportSettings:
    """Settings for a whole A/B table.

    Families (as GrowthBook and Eppo do): the primary metric is corrected across the
    treatment arms only; secondary metrics across arms x secondary metrics; guardrails are
    tested one-sided for harm, uncorrected (a false alarm on harm is the cheap mistake).
    Guardrails compare user values capped at the pooled `guardrail_cap_quantile`.
    """

    alpha: float = DEFAULT_ALPHA
    correction: CorrectionName = "holm"
    primary_metric: str = PRIMARY_METRIC
    guardrails: tuple[str, ...] = DEFAULT_GUARDRAILS
    srm_threshold: float = 0.001
    srm_warn_threshold: float = 0.01
    guardrail_cap_quantile: float = 0.99

    def role(self, metric: str) -> Role:
        if metric == self.primary_metric:
            return "primary"
        return "guardrail" if metric in self.guardrails else "secondary"
