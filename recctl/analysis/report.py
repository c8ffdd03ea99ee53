"""The report: one object holding the answer and everything needed to trust it.

recctl.analysis.build makes it; the renderers and outputs read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from recctl.analysis.adjustment import CupedSummary
from recctl.analysis.metrics import UserSummary
from recctl.analysis.reconcile import Reconciliation
from recctl.eventlog import ReadSummary
from recctl.stats import messages
from recctl.stats.messages import error_code
from recctl.stats.settings import ReportSettings
from recctl.stats.srm import SrmResult

SMALL_ARM_USERS = 30  # below this the t approximation is shaky: say so


@dataclass
class Report:
    """Everything `recctl report` shows and writes.

    table: one row per (arm, metric), see compare.TABLE_COLUMNS. arms: one row per arm
    (users, sessions, unclosed sessions, latency percentiles). users: user-level metrics.
    """

    experiment: str
    control: str
    arms: list[str]
    metrics: list[str]
    settings: ReportSettings
    table: pd.DataFrame
    arm_summary: pd.DataFrame
    users: pd.DataFrame
    srm: SrmResult
    user_summary: UserSummary
    read: ReadSummary
    mode: str = "ab"  # "aa": one population split into halves by a hash of the user id
    seed: int | None = None
    fetch_manifest: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)
    unknown_arms: dict[str, int] = field(default_factory=dict)  # arm -> users, left out
    latency_outliers: dict[str, Any] = field(default_factory=dict)
    # Acknowledged vs logged vs read, and why the verdict cannot be trusted (empty: valid).
    reconciliation: Reconciliation = field(default_factory=Reconciliation)
    invalid_reasons: list[str] = field(default_factory=list)
    cuped: CupedSummary | None = None  # None: no CUPED (off, or no pre-period)
    engine: str = "memory"  # the report engine that read the logs: memory or duckdb

    @property
    def valid(self) -> bool:
        return not self.invalid_reasons

    @property
    def primary(self) -> pd.DataFrame:
        return self.table[self.table["primary"]]

    @property
    def untestable(self) -> pd.DataFrame:
        """Rows whose test could not be computed (their `error` holds the code)."""
        return self.table[[error_code(e) is not None for e in self.table["error"]]]

    @property
    def notes(self) -> list[str]:
        """How the table was computed, in words (shown under the table and in the JSON)."""
        s = self.settings
        holm = s.correction == "holm"
        corrected = ("Holm-corrected across the treatment arms" if holm
                     else "uncorrected (correction none)")
        secondary = ("Holm-corrected across arms x secondary metrics" if holm
                     else "uncorrected")
        return [
            "Effects and intervals are % of the control mean; the interval is the delta "
            "method's, which counts the noise of the control mean too (the course's Welch "
            "interval is in the JSON/CSV as welch_lower/welch_upper).",
            f"Primary metric {s.primary_metric}: {corrected}. Secondary metrics: {secondary}."
            f" Guardrails ({', '.join(self.guardrails) or 'none'}): one-sided tests for harm "
            f"at alpha {s.alpha}, uncorrected, on user values capped at the pooled "
            f"{s.guardrail_cap_quantile:.0%} quantile.",
            "Each interval is at the level matching its row's adjusted p-value "
            "(1 - alpha x p / p_adjusted, between Bonferroni's and the unadjusted level; "
            "ci_level in the JSON/CSV), so it excludes 0 exactly when sig is yes; a "
            "guardrail's interval is two-sided at 1 - 2 alpha (its bound on the harm side "
            "is the one-sided bound).",
        ]

    @property
    def guardrails(self) -> list[str]:
        return [m for m in self.metrics if self.settings.role(m) == "guardrail"]

    @property
    def checks(self) -> dict[str, Any]:
        """What was excluded or looks wrong, as counts (the JSON's `checks`)."""
        return {
            "srm": self.srm.status,
            "malformed_lines": self.read.malformed,
            "out_of_range_lines": int(sum(self.read.out_of_range.values())),
            "out_of_range": dict(self.read.out_of_range),
            "unknown_arms": dict(self.unknown_arms),
            "small_arms": {arm: int(n) for arm, n in self.arm_summary["users"].items()
                           if n < SMALL_ARM_USERS and arm not in self.unknown_arms},
            "untestable": [{"arm": r.arm, "metric": r.metric, "error": r.error}
                           for r in self.untestable.itertuples()],
            "latency_outliers": self.latency_outliers,
            "users_in_several_arms": self.user_summary.users_in_several_arms,
            "events_without_arm": self.user_summary.events_without_arm,
            "unclosed_sessions": self.user_summary.sessions.unclosed,
        }

    def summary_lines(self) -> list[str]:
        """Plain-language lines: the verdict on the primary metric, then the checks."""
        lines = []
        for row in self.primary.itertuples():
            code = error_code(row.error)
            if code:
                lines.append(f"{row.arm} vs {self.control}: {row.metric} could not be "
                             f"tested ({_explain(code)}).")
                continue
            verdict = (f"significantly {row.direction}" if row.significant
                       else "no significant difference")
            lines.append(
                f"{row.arm} vs {self.control}: {row.metric} {row.effect:+.2f}% "
                f"[{row.lower:+.2f}%, {row.upper:+.2f}%] ({row.ci_level:.1%} CI), "
                f"p={row.p_value:.3g} (adjusted {row.p_value_adjusted:.3g}): {verdict}.")
        for row in self.table[(self.table["role"] == "guardrail")
                              & self.table["significant"]].itertuples():
            lines.append(f"Guardrail: {row.arm} vs {self.control}: {row.metric} "
                         f"{row.effect:+.2f}% [{row.lower:+.2f}%, {row.upper:+.2f}%], "
                         f"p={row.p_value:.3g} (one-sided): significantly worse.")
        others = self.untestable[~self.untestable["primary"]]
        for (metric, code), rows in others.groupby(["metric", "error"], sort=False):
            lines.append(f"Not tested: {metric} for {', '.join(rows['arm'])} "
                         f"({_explain(str(code))}).")
        if self.cuped is not None:
            lines.append(self.cuped.line(self.settings.primary_metric, self.primary))
        lines.append(self.srm_line())
        return lines + self.warnings

    def srm_line(self) -> str:
        srm = self.srm
        counts = ", ".join(f"{arm} {n}" for arm, n in zip(self.srm_arms, srm.observed,
                                                          strict=True))
        ratios = "; ".join(
            f"{arm}/{self.control} {r:.3f} [{lo:.3f}, {hi:.3f}]"
            for arm, r, lo, hi in zip(self.srm_arms[1:], srm.ratios, srm.ratio_lower,
                                      srm.ratio_upper, strict=True))
        verdict = {"mismatch": " - MISMATCH, distrust the table.",
                   "warn": " - WARNING (p < 0.01): check the assignment before trusting "
                           "the table.",
                   "ok": " - ok."}[srm.status]
        return (f"Sample ratio: users per arm {counts}; {ratios} (95% CI, expected 1); "
                f"p={srm.p_value:.3g}{verdict}")

    @property
    def srm_arms(self) -> list[str]:
        return [a for a in self.arms if a not in self.unknown_arms]


def _explain(code: str) -> str:
    return f"{code}: {messages.EXPLANATIONS[code]}" if code in messages.EXPLANATIONS else code
