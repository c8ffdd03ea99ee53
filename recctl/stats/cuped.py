"""CUPED: regression adjustment of a user-level metric by pre-experiment covariates.

Deng, Xu, Kohavi & Walker (2013), "Improving the sensitivity of online controlled
experiments by utilizing pre-experiment data". Each user's value y is replaced by
y - theta . (z - mean(z)), where z are covariates fixed before the experiment (here: the
user's pre-period value of the same metric, and whether the user had a pre-period at all).
theta is pooled across arms (the within-arm regression slope, as an OLS of y on arm
dummies and z would estimate it), so every arm is adjusted by the same line and the
difference of adjusted means is the ANCOVA estimate of the effect.

Everything works on sufficient statistics (n, sums, cross-products) per arm, as the
rest of recctl/stats does; `RegressionStatistic.from_arrays` builds them from raw arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from recctl.stats.statistics import SampleMeanStatistic


def covariate_matrix(pre_values: ArrayLike) -> np.ndarray:
    """Covariates (n, 2) from pre-period values with NaN for users without a pre-period.

    Column 0 is the pre-period value, imputed with the mean of the observed ones; column 1
    is 1 for users with a pre-period value. With the indicator in the regression, users
    without a pre-period are adjusted only by their own group's mean, never by a made-up
    value (the imputed constant is absorbed by the indicator's coefficient). Compute it on
    all users of the experiment at once, so every arm is imputed with the same value.
    """
    values = np.asarray(pre_values, dtype=np.float64)
    present = ~np.isnan(values)
    fill = float(values[present].mean()) if present.any() else 0.0
    return np.column_stack([np.where(present, values, fill), present.astype(np.float64)])


@dataclass(frozen=True, eq=False)
class RegressionStatistic:
    """One arm's n, sums and cross-products of y and k covariates z (frozen; merge with +)."""

    n: int
    sum_y: float
    sum_yy: float
    sum_z: np.ndarray  # (k,)
    sum_zz: np.ndarray  # (k, k)
    sum_zy: np.ndarray  # (k,)

    @classmethod
    def from_arrays(cls, y: ArrayLike, z: ArrayLike) -> RegressionStatistic:
        y = np.asarray(y, dtype=np.float64)
        z = np.asarray(z, dtype=np.float64).reshape(len(y), -1)
        return cls(n=len(y), sum_y=float(y.sum()), sum_yy=float(y @ y), sum_z=z.sum(axis=0),
                   sum_zz=z.T @ z, sum_zy=z.T @ y)

    def __add__(self, other: RegressionStatistic) -> RegressionStatistic:
        return RegressionStatistic(
            n=self.n + other.n, sum_y=self.sum_y + other.sum_y,
            sum_yy=self.sum_yy + other.sum_yy, sum_z=self.sum_z + other.sum_z,
            sum_zz=self.sum_zz + other.sum_zz, sum_zy=self.sum_zy + other.sum_zy)

    @property
    def raw(self) -> SampleMeanStatistic:
        return SampleMeanStatistic(n=self.n, sum=self.sum_y, sum_squares=self.sum_yy)

    # Centred (within-arm) cross-products.
    @property
    def centred_zz(self) -> np.ndarray:
        return self.sum_zz - np.outer(self.sum_z, self.sum_z) / self.n if self.n else self.sum_zz

    @property
    def centred_zy(self) -> np.ndarray:
        return self.sum_zy - self.sum_z * self.sum_y / self.n if self.n else self.sum_zy

    @property
    def centred_yy(self) -> float:
        return self.sum_yy - self.sum_y**2 / self.n if self.n else 0.0


def pooled_theta(arms: Sequence[RegressionStatistic]) -> np.ndarray:
    """The within-arm slope of y on z, pooled over arms: (sum S_zz)^+ (sum S_zy).

    The pseudo-inverse makes a constant or collinear covariate (everyone has a
    pre-period, or a metric that is always 0 before) get a zero coefficient instead of
    failing.
    """
    zz = sum((a.centred_zz for a in arms if a.n), start=np.zeros_like(arms[0].sum_zz))
    zy = sum((a.centred_zy for a in arms if a.n), start=np.zeros_like(arms[0].sum_zy))
    return np.linalg.pinv(zz) @ zy


def adjusted_statistic(arm: RegressionStatistic, theta: np.ndarray,
                       z_mean: np.ndarray) -> SampleMeanStatistic:
    """The arm's adjusted values y - theta.(z - z_mean) as a SampleMeanStatistic.

    z_mean is the covariates' mean over all arms (the same for every arm, so the
    adjustment shifts no arm's mean on average). Its variance is the within-arm residual
    variance, which the usual tests (Welch, delta method) then use unchanged.
    """
    if arm.n == 0:
        return arm.raw
    mean = arm.sum_y / arm.n - float(theta @ (arm.sum_z / arm.n - z_mean))
    residual_ss = (arm.centred_yy - 2 * float(theta @ arm.centred_zy)
                   + float(theta @ arm.centred_zz @ theta))
    residual_ss = max(residual_ss, 0.0)  # rounding can leave a tiny negative for a perfect fit
    return SampleMeanStatistic(n=arm.n, sum=mean * arm.n,
                               sum_squares=residual_ss + mean**2 * arm.n)


@dataclass(frozen=True)
class CupedResult:
    """Adjusted statistics per arm (in the input order), theta, and the variance kept."""

    adjusted: tuple[SampleMeanStatistic, ...]
    theta: tuple[float, ...]
    variance_ratio: float  # pooled within-arm variance, adjusted / raw (1 - reduction)

    @property
    def variance_reduction(self) -> float:
        return 1.0 - self.variance_ratio


def cuped_adjust(arms: Sequence[RegressionStatistic]) -> CupedResult:
    """Adjust every arm with one pooled theta; the ratio of pooled within-arm variances."""
    theta = pooled_theta(arms)
    total = sum(arms[1:], start=arms[0])
    z_mean = total.sum_z / total.n if total.n else total.sum_z
    adjusted = tuple(adjusted_statistic(a, theta, z_mean) for a in arms)
    raw_ss = sum(a.centred_yy for a in arms)
    adjusted_ss = sum((s.n - 1) * s.variance for s in adjusted if s.n > 1)
    ratio = adjusted_ss / raw_ss if raw_ss > 0 else 1.0
    return CupedResult(adjusted=adjusted, theta=tuple(float(t) for t in theta),
                       variance_ratio=float(ratio))
