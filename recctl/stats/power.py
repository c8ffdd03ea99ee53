"""Power and sample size, for the report's test in this world's traffic.

`users_per_arm` is the textbook two-sample t-test size (statsmodels). The rest models how
the simulator produces users: every episode draws a user uniformly from a population of
U, so E episodes reach U (1 - (1 - 1/U)^E) distinct users, each with k ~ Binomial(E, 1/U)
sessions (k >= 1). A user's per-session mean then has variance
sigma_b^2 + sigma_w^2 E[1/k] (between users + within a user's sessions, averaged over
k), which more episodes shrink only down to sigma_b^2, while the users per arm can never
exceed U / arms: some effects are not detectable in a world at any number of episodes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats as ss
from statsmodels.stats.power import TTestIndPower


def users_per_arm(std: float, mde_absolute: float, alpha: float = 0.05, power: float = 0.8,
                  ratio: float = 1.0) -> int:
    """Users needed in the control arm to detect `mde_absolute` with a two-sided t-test.

    `ratio` is treatment size / control size, as statsmodels takes it.
    """
    if std <= 0 or mde_absolute == 0:
        raise ValueError("need a positive standard deviation and a non-zero effect")
    effect_size = abs(mde_absolute) / std  # Cohen's d
    n = TTestIndPower().solve_power(effect_size=effect_size, alpha=alpha, power=power,
                                    ratio=ratio, alternative="two-sided")
    return int(math.ceil(n))


def expected_distinct_users(population: int, episodes: float) -> float:
    """Distinct users after `episodes` uniform draws from `population`: U (1 - (1 - 1/U)^E)."""
    if population <= 0 or episodes <= 0:
        return 0.0
    if population == 1:
        return 1.0
    return population * -math.expm1(episodes * math.log1p(-1.0 / population))


@dataclass(frozen=True)
class SessionMoments:
    """E[k], E[k^2] and E[1/k] of a user's sessions k ~ Binomial(E, 1/U) given k >= 1."""

    mean: float
    mean_square: float
    mean_inverse: float

    @property
    def variance(self) -> float:
        return self.mean_square - self.mean**2


def session_moments(population: int, episodes: float) -> SessionMoments:
    if population <= 1:
        e = max(float(episodes), 1.0)
        return SessionMoments(e, e * e, 1 / e)
    n, p = int(round(episodes)), 1.0 / population
    dist = ss.binom(n, p)
    top = int(dist.ppf(1 - 1e-12)) + 2
    k = np.arange(1, max(top, 2) + 1, dtype=np.float64)
    weights = dist.pmf(k)
    weights /= weights.sum()  # condition on k >= 1
    return SessionMoments(mean=float(weights @ k), mean_square=float(weights @ k**2),
                          mean_inverse=float(weights @ (1 / k)))


@dataclass(frozen=True)
class VarianceComponents:
    """A metric's per-session mean, and its between-user and within-user variances.

    kind: "mean" (a per-session mean, e.g. mean_time_per_session) or "sum" (a user's
    total, e.g. time). explained: variance CUPED removes from one user's
    value (0 without a pre-period), measured at `explained_at_sessions` E[k].
    """

    kind: str
    mean: float
    between: float
    within: float
    explained: float = 0.0
    explained_at_sessions: float = 1.0

    def user_mean_and_variance(self, moments: SessionMoments) -> tuple[float, float]:
        """A user's metric mean and variance (after CUPED) when sessions follow `moments`."""
        if self.kind == "sum":
            mean = self.mean * moments.mean
            variance = (self.between * moments.mean_square + self.within * moments.mean
                        + self.mean**2 * moments.variance)
            # Covariance with a pre-period value grows with the sessions summed.
            explained = self.explained * (moments.mean / self.explained_at_sessions) ** 2
        else:
            mean = self.mean
            variance = self.between + self.within * moments.mean_inverse
            explained = self.explained
        # CUPED cannot remove the noise of the user's own sessions.
        floor = self.within * (moments.mean_inverse if self.kind == "mean" else moments.mean)
        return mean, max(variance - explained, floor, 0.0)


def relative_power(mde: float, mean: float, variance: float, n_per_arm: float,
                   alpha: float) -> float:
    """Power of the report's two-sided delta-method test on t/c - 1 at level alpha.

    The effect is multiplicative (treatment values = (1 + mde) x control's), so both
    terms of the delta variance scale by (1 + mde)^2: Var = 2 (1 + mde)^2 s^2 / (n m^2).
    """
    if n_per_arm < 2 or mean == 0:
        return 0.0
    if variance <= 0:
        return 1.0
    se = math.sqrt(2 * (1 + mde) ** 2 * variance / (n_per_arm * mean**2))
    z = float(ss.norm.ppf(1 - alpha / 2))
    shift = abs(mde) / se
    return float(ss.norm.cdf(shift - z) + ss.norm.cdf(-shift - z))
