"""Sufficient statistics: what a test needs from an arm, and nothing more."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike


@dataclass(frozen=True)
class SampleMeanStatistic:
    """n, sum and sum of squares of one arm's user-level values.

    Frozen: strata merge with `+`, and changes go through `dataclasses.replace`.
    """

    n: int
    sum: float
    sum_squares: float

    @classmethod
    def from_values(cls, values: ArrayLike) -> SampleMeanStatistic:
        array = np.asarray(values, dtype=np.float64)
        return cls(n=int(array.size), sum=float(array.sum()),
                   sum_squares=float(np.dot(array, array)))

    @property
    def mean(self) -> float:
        return self.sum / self.n if self.n > 0 else 0.0

    @property
    def variance(self) -> float:
        """The unbiased sample variance (ddof=1), as pandas' `.var()` in the course."""
        if self.n <= 1:
            return 0.0
        # Clip tiny negative values that cancellation can leave for constant data.
        return max((self.sum_squares - self.sum**2 / self.n) / (self.n - 1), 0.0)

    @property
    def std(self) -> float:
        return float(np.sqrt(self.variance))

    def __add__(self, other: SampleMeanStatistic) -> SampleMeanStatistic:
        return SampleMeanStatistic(n=self.n + other.n, sum=self.sum + other.sum,
                                   sum_squares=self.sum_squares + other.sum_squares)
