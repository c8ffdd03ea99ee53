"""The A/B table: every treatment arm against the control on every metric."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import Any

import numpy as np
import pandas as pd

from recctl.analysis.metrics import HIGHER_IS_BETTER
from recctl.stats.correction import adjust_p_values
from recctl.stats.hypothesis_tests import get_configured_test
from recctl.stats.settings import ReportSettings, TestSettings
from recctl.stats.statistics import SampleMeanStatistic

TABLE_COLUMNS = (
    "arm", "metric", "primary", "n_control", "n_treatment", "control_mean", "treatment_mean",
    "effect", "lower", "upper", "p_value", "p_value_adjusted", "significant", "direction",
    "delta_lower", "delta_upper", "delta_p_value", "error",
)


# CUPED hook (recctl.analysis.adjustment.CupedAdjustment): (arm, metric, control stat,
# treatment stat, control arm) -> the statistics to test and extra columns for the row.
Adjust = Callable[[str, str, SampleMeanStatistic, SampleMeanStatistic, str],
                  tuple[SampleMeanStatistic, SampleMeanStatistic, dict[str, Any]]]


def compare_arms(users: pd.DataFrame, arms: Sequence[str], control: str,
                 metrics: Sequence[str], settings: ReportSettings,
                 adjust: Adjust | None = None) -> pd.DataFrame:
    """One row per (treatment arm, metric), in arm then metric order.

    effect/lower/upper are % of the control mean (the course's Welch interval);
    delta_* is the delta-method interval on the relative effect. `significant` comes from
    the Holm-adjusted Welch p-value across all arms x metrics (or the raw one with
    correction "none", which is the course's same-sign rule). `direction` is "better" or
    "worse" for significant rows, by each metric's good direction. With `adjust` (CUPED)
    every figure is computed on the adjusted statistics, and the row gains its extra
    columns (the raw estimate beside the adjusted one).
    """
    welch = TestSettings(alpha=settings.alpha, test="welch")
    delta = TestSettings(alpha=settings.alpha, test="delta")
    groups = {arm: frame for arm, frame in users.groupby("arm", observed=False)}
    rows = []
    for arm in arms:
        if arm == control:
            continue
        for metric in metrics:
            c = SampleMeanStatistic.from_values(groups[control][metric].to_numpy())
            t = SampleMeanStatistic.from_values(groups[arm][metric].to_numpy())
            extra: dict[str, Any] = {}
            if adjust is not None:
                c, t, extra = adjust(arm, metric, c, t, control)
            result = get_configured_test(c, t, welch).compute_result()
            relative = get_configured_test(c, t, delta).compute_result()
            row = asdict(result)
            row.pop("dof")
            row.update(arm=arm, metric=metric, primary=metric == settings.primary_metric,
                       n_control=c.n, n_treatment=t.n, delta_lower=relative.lower,
                       delta_upper=relative.upper, delta_p_value=relative.p_value, **extra)
            rows.append(row)
    extra_columns = [k for k in (rows[0] if rows else {}) if k not in TABLE_COLUMNS
                     and k != "dof"]
    table = pd.DataFrame(rows, columns=[c for c in TABLE_COLUMNS if c != "p_value_adjusted"
                                        and c != "direction"] + extra_columns)
    adjusted, reject = adjust_p_values(table["p_value"].to_numpy(), settings.correction,
                                       settings.alpha)
    table["p_value_adjusted"] = adjusted
    if settings.correction != "none":
        table["significant"] = reject
    good = np.array([HIGHER_IS_BETTER.get(m, True) for m in table["metric"]], dtype=bool)
    up = table["effect"].to_numpy() > 0
    table["direction"] = np.where(~table["significant"].to_numpy(dtype=bool), "",
                                  np.where(up == good, "better", "worse"))
    return table[list(TABLE_COLUMNS) + extra_columns]
