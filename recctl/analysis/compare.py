"""The A/B table: every treatment arm against the control on every metric."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from recctl.analysis.metrics import HIGHER_IS_BETTER
from recctl.stats.correction import adjust_p_values, matching_alphas
from recctl.stats.hypothesis_tests import get_configured_test, interval
from recctl.stats.messages import error_code
from recctl.stats.results import TestResult, default_result
from recctl.stats.settings import Alternative, ReportSettings, TestSettings
from recctl.stats.statistics import SampleMeanStatistic

TABLE_COLUMNS = (
    "arm", "metric", "role", "primary", "n_control", "n_treatment", "control_mean",
    "treatment_mean", "effect", "lower", "upper", "ci_level", "alternative", "p_value",
    "p_value_adjusted", "significant", "direction", "welch_lower", "welch_upper",
    "welch_p_value", "delta_lower", "delta_upper", "delta_p_value", "cap", "capped_users",
    "error",
)


_ROW_COLUMNS = (
    "arm", "metric", "role", "primary", "n_control", "n_treatment", "control_mean",
    "treatment_mean", "effect", "alternative", "p_value", "se", "dof", "welch_lower",
    "welch_upper", "welch_p_value", "delta_lower", "delta_upper", "delta_p_value", "cap",
    "capped_users", "error",
)


# CUPED hook (recctl.analysis.adjustment.CupedAdjustment): (arm, metric, control stat,
# treatment stat, control arm) -> the statistics to test and extra columns for the row.
Adjust = Callable[[str, str, SampleMeanStatistic, SampleMeanStatistic, str],
                  tuple[SampleMeanStatistic, SampleMeanStatistic, dict[str, Any]]]


def harm_alternative(metric: str) -> Alternative:
    """A guardrail's one-sided alternative: harm is a rise for lower-is-better metrics."""
    return "less" if HIGHER_IS_BETTER.get(metric, True) else "greater"


def compare_arms(users: pd.DataFrame, arms: Sequence[str], control: str,
                 metrics: Sequence[str], settings: ReportSettings,
                 untestable: Mapping[str, str] | None = None,
                 adjust: Adjust | None = None) -> pd.DataFrame:
    """One row per (treatment arm, metric), in arm then metric order.

    effect/lower/upper: the relative effect in % of the control mean with its delta-method
    interval, at the level that matches the row's adjusted verdict (`ci_level`; see
    `matching_alphas`). p_value/p_value_adjusted/significant: the delta-method test,
    corrected within the row's family (`role`): the primary across treatment arms, the
    secondary metrics across arms x secondary metrics; guardrails are one-sided for harm
    and uncorrected, on user values capped at the pooled quantile `cap`. welch_*: the
    course notebook's interval and p-value (unadjusted); delta_*: the delta-method interval
    and p-value at alpha, two-sided and unadjusted. `untestable` maps arms to an error code
    (e.g. an arm the experiment file does not know): their rows carry the code, no numbers.
    With `adjust` (CUPED) every figure is computed on the adjusted statistics and the table
    gains ADJUSTMENT_COLUMNS: raw_* are the same figures without the adjustment, exactly
    what the report shows with CUPED off.
    """
    untestable = dict(untestable or {})
    groups = {str(arm): frame for arm, frame in users.groupby("arm", observed=False)}
    tested_arms = [a for a in arms if a not in untestable]
    values = {arm: {m: groups[arm][m].to_numpy(dtype=np.float64) if arm in groups
                    else np.empty(0) for m in metrics} for arm in arms}
    caps = {}
    for metric in metrics:
        pooled = np.concatenate([values[a][metric] for a in tested_arms] + [np.empty(0)])
        guardrail = settings.role(metric) == "guardrail"
        caps[metric] = (float(np.quantile(pooled, settings.guardrail_cap_quantile))
                        if guardrail and pooled.size else math.nan)
    rows = []
    for arm in arms:
        if arm == control:
            continue
        for metric in metrics:
            role = settings.role(metric)
            alternative = harm_alternative(metric) if role == "guardrail" else "two-sided"
            rows.append(_row(arm, metric, role, alternative, values[control][metric],
                             values[arm][metric], caps[metric], settings,
                             untestable.get(arm) or untestable.get(control), control, adjust))
    columns = list(_ROW_COLUMNS) + (list(_ADJUSTED_ROW_COLUMNS) if adjust else [])
    table = pd.DataFrame(rows, columns=columns)
    _apply_families(table, settings)
    if adjust is not None:
        _apply_families(table, settings, prefix="raw_")
    table["error"] = pd.Series([error_code(e) for e in table["error"]], dtype=object)
    return table[list(TABLE_COLUMNS) + (list(ADJUSTMENT_COLUMNS) if adjust else [])]


# With CUPED: the unadjusted figures of a row, under the same names with a raw_ prefix.
ADJUSTMENT_COLUMNS = ("cuped", "variance_reduction", "theta", "raw_effect", "raw_lower",
                      "raw_upper", "raw_p_value", "raw_p_value_adjusted", "raw_welch_lower",
                      "raw_welch_upper", "raw_welch_p_value", "raw_delta_lower",
                      "raw_delta_upper", "raw_delta_p_value")
_ADJUSTED_ROW_COLUMNS = ("cuped", "variance_reduction", "theta", "raw_effect", "raw_se",
                         "raw_dof", "raw_p_value", "raw_welch_lower", "raw_welch_upper",
                         "raw_welch_p_value", "raw_delta_lower", "raw_delta_upper",
                         "raw_delta_p_value")


def _row(arm: str, metric: str, role: str, alternative: Alternative, control: np.ndarray,
         treatment: np.ndarray, cap: float, settings: ReportSettings,
         forced_error: str | None, control_arm: str, adjust: Adjust | None
         ) -> dict[str, object]:
    capped_users = 0
    if not math.isnan(cap):
        capped_users = int((control > cap).sum() + (treatment > cap).sum())
        control, treatment = np.minimum(control, cap), np.minimum(treatment, cap)
    raw_c = SampleMeanStatistic.from_values(control)
    raw_t = SampleMeanStatistic.from_values(treatment)
    row = _figures(raw_c, raw_t, alternative, settings, forced_error)
    if adjust is not None:
        c, t, extra = raw_c, raw_t, {"cuped": False, "variance_reduction": 0.0, "theta": 0.0}
        if not forced_error:  # an untestable arm has no adjusted statistics
            c, t, extra = adjust(arm, metric, raw_c, raw_t, control_arm)
        raw = {f"raw_{key}": value for key, value in row.items()
               if f"raw_{key}" in _ADJUSTED_ROW_COLUMNS}
        row = {**_figures(c, t, alternative, settings, forced_error), **raw,
               **{key: extra[key] for key in ("cuped", "variance_reduction", "theta")}}
    return {"arm": arm, "metric": metric, "role": role, "primary": role == "primary",
            "n_control": raw_c.n, "n_treatment": raw_t.n, "alternative": alternative,
            "cap": cap, "capped_users": capped_users, **row}


def _figures(c: SampleMeanStatistic, t: SampleMeanStatistic, alternative: Alternative,
             settings: ReportSettings, forced_error: str | None) -> dict[str, object]:
    """The headline (delta method, the row's alternative), course Welch and two-sided delta
    figures of one comparison."""
    def run(test: str, side: Alternative) -> TestResult:
        if forced_error:
            return default_result(c.mean, t.mean, forced_error)
        chosen = TestSettings(alpha=settings.alpha, test=test, alternative=side)  # type: ignore[arg-type]
        return get_configured_test(c, t, chosen).compute_result()

    headline = run("delta", alternative)
    delta = headline if alternative == "two-sided" else run("delta", "two-sided")
    welch = run("welch", "two-sided")
    return {
        "control_mean": headline.control_mean, "treatment_mean": headline.treatment_mean,
        "effect": headline.effect, "p_value": headline.p_value, "se": headline.se,
        "dof": headline.dof, "welch_lower": welch.lower, "welch_upper": welch.upper,
        "welch_p_value": welch.p_value, "delta_lower": delta.lower,
        "delta_upper": delta.upper, "delta_p_value": delta.p_value, "error": headline.error,
    }


def _apply_families(table: pd.DataFrame, settings: ReportSettings, prefix: str = "") -> None:
    """Adjusted p-values and verdicts within each family, and intervals at matching levels.

    `prefix` "raw_" does the same for CUPED's unadjusted figures (raw_p_value_adjusted,
    raw_lower, raw_upper), which then read exactly as a report without CUPED."""
    alpha = settings.alpha
    p_values = table[f"{prefix}p_value"].to_numpy(dtype=np.float64)
    adjusted_all = np.full(len(table), np.nan)
    significant = np.zeros(len(table), dtype=bool)
    ci_alpha = np.full(len(table), np.nan)
    for role in ("primary", "secondary", "guardrail"):
        rows = (table["role"] == role).to_numpy()
        if not rows.any():
            continue
        method = "none" if role == "guardrail" else settings.correction
        adjusted, reject = adjust_p_values(p_values[rows], method, alpha)
        adjusted_all[rows] = adjusted
        significant[rows] = reject
        ci_alpha[rows] = matching_alphas(p_values[rows], adjusted, alpha)
    table[f"{prefix}p_value_adjusted"] = adjusted_all
    effects = table[f"{prefix}effect"].to_numpy(dtype=np.float64)
    ses = table[f"{prefix}se"].to_numpy(dtype=np.float64)
    dofs = table[f"{prefix}dof"].to_numpy(dtype=np.float64)
    bounds = [interval(e, s, d, a, side) if not math.isnan(s) else (math.nan, math.nan)
              for e, s, d, a, side in zip(effects, ses, dofs, ci_alpha, table["alternative"],
                                          strict=True)]
    table[f"{prefix}lower"] = [b[0] for b in bounds]
    table[f"{prefix}upper"] = [b[1] for b in bounds]
    if prefix:
        return
    one_sided = (table["alternative"] != "two-sided").to_numpy()
    level = np.where(one_sided, 1 - 2 * ci_alpha, 1 - ci_alpha)
    table["ci_level"] = np.where(np.isnan(ses), np.nan, level)
    table["significant"] = significant
    good = np.array([HIGHER_IS_BETTER.get(m, True) for m in table["metric"]], dtype=bool)
    up = effects > 0
    table["direction"] = np.where(~significant, "", np.where(up == good, "better", "worse"))
