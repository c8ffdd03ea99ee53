"""Always-valid confidence sequences for an A/B effect: peek as often as you like.

A fixed-horizon interval covers the truth with probability 1 - alpha at one pre-chosen
sample size; looked at after every batch, its chance of excluding 0 somewhere under
A/A grows far above alpha. A confidence sequence covers the truth at every sample size
at once with probability >= 1 - alpha, so stopping the first time it excludes 0 is safe.

We use the asymptotic confidence sequence with a normal mixture boundary:
    Waudby-Smith, Arnold, Wu, Howard, Ramdas (2024), "Time-uniform central limit theory
    and asymptotic confidence sequences", Annals of Statistics (arXiv:2103.06476), and
    Howard, Ramdas, McAuliffe, Sekhon (2021), "Time-uniform, nonparametric, nonasymptotic
    confidence sequences", Annals of Statistics (arXiv:1810.08240), the normal mixture.
For the mean of n observations with standard deviation sigma the half-width is

    sigma * sqrt( 2 (n rho^2 + 1) / (n^2 rho^2) * log( sqrt(n rho^2 + 1) / alpha ) ),

two-sided at level alpha. rho tunes where the sequence is tightest: choosing
rho^2 = (-2 log alpha + log(-2 log alpha + 1)) / n_star makes it tightest around
n = n_star (Howard et al., section 3.5). For a difference of two arms' means, the
estimate's variance V (e.g. Welch's or the delta method's) stands in for sigma^2 / n
with n the users in both arms: sigma^2 = n V.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from recctl.stats.statistics import SampleMeanStatistic


def mixture_rho(alpha: float, n_star: float) -> float:
    """The mixture's rho that makes the sequence tightest at n_star observations."""
    if not 0 < alpha < 1 or n_star <= 0:
        raise ValueError("need 0 < alpha < 1 and a positive n_star")
    log_term = -2 * math.log(alpha)
    return math.sqrt((log_term + math.log(log_term + 1)) / n_star)


def half_width(sigma: float, n: float, alpha: float, rho: float) -> float:
    """The confidence sequence's half-width for a mean of n observations (see above)."""
    if n <= 0:
        return math.inf
    nr2 = n * rho * rho
    return sigma * math.sqrt(2 * (nr2 + 1) / (n * n * rho * rho)
                             * math.log(math.sqrt(nr2 + 1) / alpha))


@dataclass(frozen=True)
class SequentialResult:
    """The running effect (in % of the control mean) and its always-valid interval."""

    n_control: int
    n_treatment: int
    effect: float  # percent, relative (t / c - 1) or absolute (t - c)
    lower: float
    upper: float
    relative: bool

    @property
    def conclusive(self) -> bool:
        """The interval excludes 0: the arms differ (valid at any stopping time)."""
        return self.lower > 0 or self.upper < 0


def confidence_sequence(control: SampleMeanStatistic, treatment: SampleMeanStatistic,
                        alpha: float, n_star: float, relative: bool = True
                        ) -> SequentialResult | None:
    """The always-valid interval on t/c - 1 (delta method, in %) or on t - c.

    None while either arm has fewer than two users or the control mean is 0.
    """
    c, t = control, treatment
    if c.n < 2 or t.n < 2 or (relative and c.mean == 0):
        return None
    if relative:
        estimate = t.mean / c.mean - 1
        # Delta method, as the report's headline interval.
        variance = t.variance / (t.n * c.mean**2) + t.mean**2 * c.variance / (c.n * c.mean**4)
        scale = 100.0
    else:
        estimate = t.mean - c.mean
        variance = t.variance / t.n + c.variance / c.n
        scale = 1.0
    n = c.n + t.n
    half = half_width(math.sqrt(variance * n), n, alpha, mixture_rho(alpha, n_star))
    return SequentialResult(n_control=c.n, n_treatment=t.n, effect=estimate * scale,
                            lower=(estimate - half) * scale, upper=(estimate + half) * scale,
                            relative=relative)
