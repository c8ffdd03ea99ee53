"""Two-sample tests on sufficient statistics: one base class, small variants, one factory.

Both tests are "relative effect +/- t quantile x standard error", with a Welch-Satterthwaite
number of degrees of freedom; they differ in the standard error.
"""

from __future__ import annotations

import math

from scipy import stats as ss

from recctl.stats import messages
from recctl.stats.results import TestResult, default_result
from recctl.stats.settings import Alternative, TestSettings
from recctl.stats.statistics import SampleMeanStatistic


def interval(effect: float, se: float, dof: float, alpha: float,
             alternative: Alternative = "two-sided") -> tuple[float, float]:
    """effect -/+ t quantile x se. Two-sided: level 1 - alpha. One-sided: the two-sided
    interval at level 1 - 2 alpha, whose bound on the tested side is the one-sided bound."""
    tail = alpha / 2 if alternative == "two-sided" else alpha
    half = float(ss.t.ppf(1 - tail, dof)) * se
    return effect - half, effect + half


def p_value(statistic: float, dof: float, alternative: Alternative = "two-sided") -> float:
    if alternative == "greater":
        return float(ss.t.sf(statistic, dof))
    if alternative == "less":
        return float(ss.t.cdf(statistic, dof))
    return float(2 * ss.t.sf(abs(statistic), dof))


def satterthwaite(share_c: float, n_c: int, share_t: float, n_t: int) -> float:
    """Welch-Satterthwaite degrees of freedom for a variance share_c + share_t."""
    denominator = share_c**2 / (n_c - 1) + share_t**2 / (n_t - 1)
    return (share_c + share_t) ** 2 / denominator if denominator > 0 else math.inf


class TwoSampleTest:
    """Treatment against control; subclasses supply the standard error and its dof."""

    def __init__(self, control: SampleMeanStatistic, treatment: SampleMeanStatistic,
                 settings: TestSettings) -> None:
        self.control = control
        self.treatment = treatment
        self.alpha = settings.alpha
        self.alternative = settings.alternative

    def compute_result(self) -> TestResult:
        c, t = self.control, self.treatment
        if c.n < 2 or t.n < 2:
            return default_result(c.mean, t.mean, messages.NOT_ENOUGH_DATA)
        if c.mean == 0:
            return default_result(c.mean, t.mean, messages.ZERO_CONTROL_MEAN)
        if c.variance == 0 and t.variance == 0:
            return default_result(c.mean, t.mean, messages.ZERO_VARIANCE)
        effect = (t.mean / c.mean - 1) * 100
        se, dof = self.standard_error_and_dof()
        lower, upper = interval(effect, se, dof, self.alpha, self.alternative)
        p = p_value(effect / se, dof, self.alternative)
        return TestResult(
            control_mean=c.mean, treatment_mean=t.mean, effect=effect, lower=lower,
            upper=upper, p_value=p, significant=bool(p < self.alpha), dof=dof, se=se,
        )

    def standard_error_and_dof(self) -> tuple[float, float]:
        """The standard error of the relative effect, in % of the control mean, and its dof."""
        raise NotImplementedError


class WelchTTest(TwoSampleTest):
    """The course's test: Welch's t on the difference of means, interval scaled by the
    control mean. SE = sqrt(v_c/n_c + v_t/n_t), Welch–Satterthwaite dof; lower/upper =
    (diff -/+ t_{1-alpha/2, dof} * SE) / mean_c * 100. It treats the control mean as
    known, so it under-covers large relative effects."""

    def standard_error_and_dof(self) -> tuple[float, float]:
        c, t = self.control, self.treatment
        share_c, share_t = c.variance / c.n, t.variance / t.n
        se = math.sqrt(share_c + share_t) / abs(c.mean) * 100
        return se, satterthwaite(share_c, c.n, share_t, t.n)


class DeltaMethodTest(TwoSampleTest):
    """The relative effect r = m_t / m_c - 1 by the delta method:
    Var(r) ~= v_t / (n_t m_c^2) + m_t^2 v_c / (n_c m_c^4), with a t quantile on the
    Welch-Satterthwaite dof of those two terms (a normal one for large arms)."""

    def standard_error_and_dof(self) -> tuple[float, float]:
        c, t = self.control, self.treatment
        share_t = t.variance / (t.n * c.mean**2)
        share_c = t.mean**2 * c.variance / (c.n * c.mean**4)
        se = math.sqrt(share_c + share_t) * 100
        return se, satterthwaite(share_c, c.n, share_t, t.n)


_TESTS: dict[str, type[TwoSampleTest]] = {"welch": WelchTTest, "delta": DeltaMethodTest}


def get_configured_test(control: SampleMeanStatistic, treatment: SampleMeanStatistic,
                        settings: TestSettings) -> TwoSampleTest:
    """The one factory mapping settings to a test class."""
    return _TESTS[settings.test](control, treatment, settings)
