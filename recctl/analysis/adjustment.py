"""CUPED in the A/B table: adjusted statistics for compare_arms, raw figures kept beside.

`CupedAdjustment(users, pre, arms, metrics)` fits one pooled theta per metric over every
arm's users; `compare_arms(..., adjust=adjustment)` then tests the adjusted statistics
(the headline) and the table gains compare.ADJUSTMENT_COLUMNS with the raw figures next
to it (compare_arms computes those; this module only supplies the adjusted statistics).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from recctl.analysis.options import CupedMode
from recctl.stats.cuped import CupedResult, RegressionStatistic, covariate_matrix, cuped_adjust
from recctl.stats.statistics import SampleMeanStatistic

# Latency is the service's guardrail, not the user's behaviour: its pre-period (often
# in-process logs with latency 0) says nothing about it, so it is never adjusted.
NOT_ADJUSTED = ("mean_request_latency",)


@dataclass(frozen=True)
class CupedSummary:
    """What the report says about CUPED (JSON `cuped`)."""

    pre_period: tuple[str, ...]
    users_with_pre_period: int
    users: int
    variance_reduction: dict[str, float]  # per metric, pooled over arms

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def line(self, metric: str, rows: pd.DataFrame | None = None) -> str:
        """One summary line; `rows` (the primary metric's table rows) add the raw figures."""
        share = self.users_with_pre_period / self.users if self.users else 0.0
        reduction = self.variance_reduction.get(metric, float("nan"))
        raw = ""
        if rows is not None and "raw_effect" in rows.columns:
            raw = "; ".join(f"{r.arm} {r.raw_effect:+.2f}% [{r.raw_lower:+.2f}%, "
                            f"{r.raw_upper:+.2f}%]" for r in rows.itertuples()
                            if r.raw_effect == r.raw_effect)
            raw = f" Unadjusted: {raw}." if raw else ""
        return (f"CUPED: {metric} adjusted by each user's pre-period value "
                f"({share:.0%} of users have one); variance reduced by {reduction:.0%}."
                f"{raw}")


class CupedAdjustment:
    """Pooled-theta CUPED per metric over the users of every arm."""

    def __init__(self, users: pd.DataFrame, pre: pd.DataFrame, arms: Sequence[str],
                 metrics: Sequence[str], alpha: float,
                 pre_period: Sequence[str] = ()) -> None:
        self.alpha = alpha
        self.arms = list(arms)
        arm_of = users["arm"].astype(str).to_numpy()
        self.results: dict[str, CupedResult] = {}
        for metric in metrics:
            if metric not in pre.columns or metric in NOT_ADJUSTED:
                continue
            z = covariate_matrix(pre[metric].reindex(users.index).to_numpy(dtype=np.float64))
            y = users[metric].to_numpy(dtype=np.float64)
            stats = [RegressionStatistic.from_arrays(y[arm_of == a], z[arm_of == a])
                     for a in self.arms]
            self.results[metric] = cuped_adjust(stats)
        has_pre = users.index.isin(pre.index)
        self.summary = CupedSummary(
            pre_period=tuple(pre_period), users_with_pre_period=int(has_pre.sum()),
            users=len(users),
            variance_reduction={m: r.variance_reduction for m, r in self.results.items()})

    def __call__(self, arm: str, metric: str, control: SampleMeanStatistic,
                 treatment: SampleMeanStatistic, control_arm: str
                 ) -> tuple[SampleMeanStatistic, SampleMeanStatistic, dict[str, Any]]:
        """The adjusted (control, treatment) statistics and CUPED's own columns."""
        result = self.results.get(metric)
        extra: dict[str, Any] = {
            "cuped": result is not None,
            "variance_reduction": result.variance_reduction if result else 0.0,
            "theta": result.theta[0] if result else 0.0}
        if result is None:
            return control, treatment, extra
        adjusted = dict(zip(self.arms, result.adjusted, strict=True))
        return adjusted[control_arm], adjusted[arm], extra


def cuped_for_report(users: pd.DataFrame, arms: Sequence[str], metrics: Sequence[str],
                     alpha: float, pre_period: Any, cuped: CupedMode = "auto"
                     ) -> CupedAdjustment | None:
    """The CUPED adjustment a report uses, or None when it is off.

    `pre_period` is a PrePeriod, or paths to read (a data folder's logs/, an earlier run
    folder), or None. cuped "auto" turns it on when a pre-period is given; True without
    one is an error (the user asked for something that cannot be done).
    """
    from recctl.analysis.preperiod import PrePeriod, load_pre_period
    from recctl.errors import RecctlError

    if cuped not in (True, False, "auto"):
        raise RecctlError(f"cuped must be true, false or auto, not {cuped!r}",
                          "set report.cuped to auto (the default), true or false")
    if cuped is False:
        return None
    if pre_period is None or (isinstance(pre_period, (list, tuple)) and not pre_period):
        if cuped is True:
            raise RecctlError("CUPED was asked for (cuped: true) but there is no pre-period",
                              "set report.pre_period to an earlier run folder or a data "
                              "folder's logs/, or set report.cuped to auto or false")
        return None
    if not isinstance(pre_period, PrePeriod):
        paths = [pre_period] if isinstance(pre_period, (str, bytes)) or hasattr(
            pre_period, "__fspath__") else list(pre_period)
        pre_period = load_pre_period(paths)
    return CupedAdjustment(users, pre_period.users, arms, metrics, alpha,
                           pre_period=pre_period.paths)
