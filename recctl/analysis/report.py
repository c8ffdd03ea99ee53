"""The report: one object holding the answer and everything needed to trust it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mmh3
import numpy as np
import pandas as pd

from recctl.analysis.adjustment import CupedMode, CupedSummary, cuped_for_report
from recctl.analysis.compare import compare_arms, error_code
from recctl.analysis.engine import choose_engine, facts_from_events, open_logs
from recctl.analysis.facts import LogFacts
from recctl.analysis.loading import (
    check_arms,
    choose_experiment,
    experiment_names,
    fetch_manifest,
)
from recctl.analysis.metrics import UserSummary
from recctl.analysis.reconcile import Reconciliation, invalid_reasons, reconcile
from recctl.assignment import experiment_seed
from recctl.constants import DEFAULT_GUARDRAILS, METRICS
from recctl.errors import RecctlError
from recctl.eventlog import ReadSummary
from recctl.stats import messages
from recctl.stats.settings import CorrectionName, ReportSettings
from recctl.stats.srm import SrmResult, check_srm

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


def build_report(
    paths: Sequence[str | Path],
    experiment: str | None = None,
    control: str = "C",
    metrics: Sequence[str] | None = None,
    primary_metric: str = "mean_time_per_session",
    alpha: float = 0.05,
    correction: CorrectionName = "holm",
    aa: bool = False,
    seed: int = 0,
    guardrails: Sequence[str] | None = None,
    expected_arms: Sequence[str] | None = None,
    pre_period: Any = None,
    cuped: CupedMode = "auto",
    engine: str = "auto",
) -> Report:
    """Read every log under `paths` (all replicas, rotated files) and build the report.

    `aa=True` ignores the arms and splits the users into two halves (C, T1) by a hash of
    the user id with `seed`: an A/A check of the whole pipeline. `expected_arms`: the
    experiment file's arms (default: the `experiment.yml` that fetch copies into a run
    folder, when there is one); arms in the logs outside it are reported untestable.
    `pre_period` (paths or a PrePeriod) and `cuped` (auto/True/False) turn on CUPED, see
    recctl.analysis.adjustment. `engine`: memory, duckdb (out of core) or auto (DuckDB
    for large logs), see recctl.analysis.engine.
    """
    from recctl.analysis.loading import stored_experiment

    chosen, notes = choose_engine(paths, engine)
    manifest = fetch_manifest(paths)
    if expected_arms is None:
        stored = stored_experiment(paths)
        expected_arms = stored.arms if stored else None
    source = open_logs(paths, chosen)
    try:
        name = choose_experiment(source.experiment_names(), experiment, manifest)
        facts = source.facts(name)
    finally:
        source.close()
    report = report_from_facts(facts, source.read, name, control, metrics, primary_metric,
                               alpha, correction, aa, seed, manifest, guardrails,
                               expected_arms, pre_period, cuped)
    report.warnings.extend(notes)
    if manifest is not None and len(paths) > 1:
        # One run's manifest cannot account for logs read from several folders.
        report.reconciliation = reconcile(None, report.read, facts.per_replica, facts.rows)
        report.invalid_reasons = invalid_reasons(report.reconciliation)
        report.warnings.append("several folders given: acknowledged requests were not "
                               "reconciled (report one fetched run folder for that)")
    return report


def report_from_events(
    events: pd.DataFrame,
    read: ReadSummary | None = None,
    experiment: str | None = None,
    control: str = "C",
    metrics: Sequence[str] | None = None,
    primary_metric: str = "mean_time_per_session",
    alpha: float = 0.05,
    correction: CorrectionName = "holm",
    aa: bool = False,
    seed: int = 0,
    manifest: dict[str, Any] | None = None,
    guardrails: Sequence[str] | None = None,
    expected_arms: Sequence[str] | None = None,
    pre_period: Any = None,
    cuped: CupedMode = "auto",
) -> Report:
    """The report for events already read (`read_events`' frame), by the memory engine.

    `guardrails`: metrics tested one-sided for harm (added to the metrics when missing);
    None marks the DEFAULT_GUARDRAILS that are among the metrics.
    """
    name = choose_experiment(experiment_names(events), experiment, manifest)
    return report_from_facts(facts_from_events(events, name), read, name, control, metrics,
                             primary_metric, alpha, correction, aa, seed, manifest,
                             guardrails, expected_arms, pre_period, cuped)


def report_from_facts(
    facts: LogFacts,
    read: ReadSummary | None,
    name: str,
    control: str = "C",
    metrics: Sequence[str] | None = None,
    primary_metric: str = "mean_time_per_session",
    alpha: float = 0.05,
    correction: CorrectionName = "holm",
    aa: bool = False,
    seed: int = 0,
    manifest: dict[str, Any] | None = None,
    guardrails: Sequence[str] | None = None,
    expected_arms: Sequence[str] | None = None,
    pre_period: Any = None,
    cuped: CupedMode = "auto",
) -> Report:
    """The report for experiment `name` from what an engine read (see report_from_events)."""
    metrics = list(dict.fromkeys(metrics or METRICS))
    explicit_guardrails = list(dict.fromkeys(guardrails or []))
    unknown = [m for m in [*metrics, primary_metric, *explicit_guardrails] if m not in METRICS]
    if unknown:
        raise RecctlError(f"unknown metric(s): {', '.join(unknown)}",
                          f"known metrics: {', '.join(METRICS)}")
    if primary_metric in explicit_guardrails:
        raise RecctlError(f"{primary_metric} is both the primary metric and a guardrail",
                          "a metric has one role: drop it from the guardrails")
    if primary_metric not in metrics:
        metrics.insert(0, primary_metric)
    metrics += [m for m in explicit_guardrails if m not in metrics]
    roles = (tuple(explicit_guardrails) if guardrails is not None
             else tuple(m for m in DEFAULT_GUARDRAILS if m != primary_metric))
    if not 0 < alpha < 1:
        raise RecctlError(f"alpha must be between 0 and 1, not {alpha}")
    users, user_summary = facts.users, facts.user_summary
    arms = list(facts.arms)
    unknown_arms: dict[str, int] = {}
    if aa:
        users, arms, control = hash_halves(users, seed), ["C", "T1"], "C"
    elif expected_arms:
        known = [str(a) for a in expected_arms]
        extra = [a for a in arms if a not in known]
        counts_all = users["arm"].value_counts()
        unknown_arms = {a: int(counts_all.get(a, 0)) for a in extra}
        # Every arm of the file, even one with no user (its loss is what SRM is for).
        arms = known + extra
        users = users.assign(arm=pd.Categorical(users["arm"].astype(str), categories=arms))
    counts = users["arm"].value_counts().to_dict()
    check_arms([a for a in arms if a not in unknown_arms], control)
    # Control first, then the others in their natural order (C, T1, T2, ...).
    arms = [control] + [a for a in arms if a != control]
    settings = ReportSettings(alpha=alpha, correction=correction,
                              primary_metric=primary_metric, guardrails=roles)
    srm_arms = [a for a in arms if a not in unknown_arms]
    adjustment = cuped_for_report(users, srm_arms, metrics, alpha, pre_period, cuped)
    table = compare_arms(users, arms, control, metrics, settings,
                         untestable={a: messages.UNKNOWN_ARM for a in unknown_arms},
                         adjust=adjustment)
    srm = check_srm([counts.get(a, 0) for a in srm_arms], threshold=settings.srm_threshold,
                    warn_threshold=settings.srm_warn_threshold)
    arm_summary = _arm_summary(users, arms, facts.latency if not aa else None)
    report = Report(experiment=name, control=control, arms=arms, metrics=metrics,
                    settings=settings, table=table, arm_summary=arm_summary, users=users,
                    srm=srm, user_summary=user_summary, read=read or ReadSummary(),
                    mode="aa" if aa else "ab", seed=seed if aa else None,
                    fetch_manifest=manifest, unknown_arms=unknown_arms,
                    latency_outliers=facts.latency_outliers,
                    cuped=adjustment.summary if adjustment is not None else None,
                    engine=facts.engine)
    report.reconciliation = reconcile(manifest, report.read, facts.per_replica, facts.rows)
    report.invalid_reasons = invalid_reasons(report.reconciliation)
    report.warnings.extend(_warnings(report))
    return report


def hash_halves(users: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Users split into C and T1 by mmh3 of the user id, as the service assigns arms, keyed
    by `seed`: the halves are not forced equal, so the SRM check means something in A/A
    mode. The key is derived from the seed ("recctl-aa-<seed>") so that no seed reproduces
    an experiment's own assignment."""
    salt = experiment_seed(f"recctl-aa-{int(seed)}")
    index = np.fromiter((mmh3.hash(str(u), salt, signed=False) & 1 for u in users.index),
                        dtype=np.int8, count=len(users))
    return users.assign(arm=pd.Categorical.from_codes(index, categories=["C", "T1"]))



def _arm_summary(users: pd.DataFrame, arms: list[str],
                 latency: pd.DataFrame | None) -> pd.DataFrame:
    grouped = users.groupby("arm", observed=False)
    summary = pd.DataFrame({
        "users": grouped.size(), "sessions": grouped["sessions"].sum(),
        "unclosed_sessions": grouped["unclosed_sessions"].sum(),
    }).reindex(arms).fillna(0).astype("int64")
    summary.index.name = "arm"
    if latency is not None:  # latency guardrail per real arm (not meaningful for A/A halves)
        summary = summary.join(latency)
    return summary


def _warnings(report: Report) -> list[str]:
    notes = []
    s = report.user_summary
    if s.sessions.unclosed:
        notes.append(f"{s.sessions.unclosed} of {s.sessions.sessions} sessions never closed "
                     f"(no `last`); they are counted as sessions.")
    if s.users_in_several_arms:
        notes.append(f"{s.users_in_several_arms} user(s) appeared in more than one arm and "
                     f"were left out.")
    if s.events_without_arm:
        notes.append(f"{s.events_without_arm} event(s) did not name the experiment and were "
                     f"left out.")
    if report.read.malformed:
        notes.append(f"{report.read.malformed} malformed line(s) skipped, e.g. "
                     f"{report.read.malformed_examples[0]}")
    if report.read.out_of_range:
        fields = ", ".join(f"{k} {v}" for k, v in sorted(report.read.out_of_range.items()))
        notes.append(f"{sum(report.read.out_of_range.values())} line(s) with out-of-range "
                     f"values left out ({fields}; time must be in [0, 1], latency >= 0, ids "
                     f"within int64).")
    for arm, n in report.unknown_arms.items():
        notes.append(f"Arm {arm} ({n} user(s)) is not in the experiment file: left out of "
                     f"the comparisons and the sample-ratio check.")
    small = report.checks["small_arms"]
    if small:
        notes.append("Few users in " + ", ".join(f"{a} ({n})" for a, n in small.items())
                     + f": below {SMALL_ARM_USERS} per arm the intervals are unreliable.")
    out = report.latency_outliers
    if out and report.mode != "aa":
        arms = ", ".join(f"{a} {n}" for a, n in out["per_arm"].items())
        notes.append(f"{out['requests']} request(s) slower than {out['threshold_seconds']:.3g}"
                     f" s (max {out['max_seconds']:.4g} s; {arms}): latency outliers. The "
                     f"latency guardrail compares user means capped at the "
                     f"{report.settings.guardrail_cap_quantile:.0%} quantile; the arms' "
                     f"percentiles are not affected.")
    return notes
