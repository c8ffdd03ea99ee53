"""Two-sample tests on sufficient statistics: one base class, small variants, one factory."""

from __future__ import annotations

import math

from scipy import stats as ss

from recctl.stats import messages
from recctl.stats.results import TestResult, default_result
from recctl.stats.settings import TestSettings
from recctl.stats.statistics import SampleMeanStatistic


class TwoSampleTest:
    """Treatment against control; subclasses supply the interval and the p-value."""

    def __init__(self, control: SampleMeanStatistic, treatment: SampleMeanStatistic,
                 settings: TestSettings) -> None:
        self.control = control
        self.treatment = treatment
        self.alpha = settings.alpha

    def compute_result(self) -> TestResult:
        c, t = self.control, self.treatment
        if c.n < 2 or t.n < 2:
            return default_result(c.mean, t.mean, messages.NOT_ENOUGH_DATA)
        if c.mean == 0:
            return default_result(c.mean, t.mean, messages.ZERO_CONTROL_MEAN)
        if c.variance == 0 and t.variance == 0:
            return default_result(c.mean, t.mean, messages.ZERO_VARIANCE)
        lower, upper, p_value, dof = self.interval_and_p_value()
        return TestResult(
            control_mean=c.mean, treatment_mean=t.mean,
            effect=(t.mean / c.mean - 1) * 100, lower=lower, upper=upper, p_value=p_value,
            # The course's rule: the interval lies on one side of zero.
            significant=bool((lower > 0 and upper > 0) or (lower < 0 and upper < 0)),
            dof=dof,
        )

    def interval_and_p_value(self) -> tuple[float, float, float, float]:
        raise NotImplementedError


class WelchTTest(TwoSampleTest):
    """The course's test: Welch's t on the difference of means, interval scaled by the
    control mean. SE = sqrt(v_c/n_c + v_t/n_t), Welch–Satterthwaite dof; lower/upper =
    (diff -/+ t_{1-alpha/2, dof} * SE) / mean_c * 100."""

    def interval_and_p_value(self) -> tuple[float, float, float, float]:
        c, t = self.control, self.treatment
        share_c, share_t = c.variance / c.n, t.variance / t.n
        se = math.sqrt(share_c + share_t)
        dof = (share_c + share_t) ** 2 / (share_c**2 / (c.n - 1) + share_t**2 / (t.n - 1))
        diff = t.mean - c.mean
        half = float(ss.t.ppf(1 - self.alpha / 2, dof)) * se
        p_value = float(2 * ss.t.sf(abs(diff / se), dof))
        return ((diff - half) / c.mean * 100, (diff + half) / c.mean * 100, p_value, dof)


class DeltaMethodTest(TwoSampleTest):
    """A normal interval on the relative effect r = m_t / m_c - 1 by the delta method:
    Var(r) ~= v_t / (n_t m_c^2) + m_t^2 v_c / (n_c m_c^4)."""

    def interval_and_p_value(self) -> tuple[float, float, float, float]:
        c, t = self.control, self.treatment
        ratio = t.mean / c.mean - 1
        variance = (t.variance / (t.n * c.mean**2)
                    + t.mean**2 * c.variance / (c.n * c.mean**4))
        se = math.sqrt(variance)
        half = float(ss.norm.ppf(1 - self.alpha / 2)) * se
        p_value = float(2 * ss.norm.sf(abs(ratio / se)))
        return ((ratio - half) * 100, (ratio + half) * 100, p_value, math.inf)


_TESTS: dict[str, type[TwoSampleTest]] = {"welch": WelchTTest, "delta": DeltaMethodTest}


def get_configured_test(control: SampleMeanStatistic, treatment: SampleMeanStatistic,
                        settings: TestSettings) -> TwoSampleTest:
    """The one factory mapping settings to a test class."""
    return _TESTS[settings.test](control, treatment, settings)
