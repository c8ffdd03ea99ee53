"""The report: one object holding the answer and everything needed to trust it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from recctl.analysis.adjustment import CupedMode, CupedSummary, cuped_for_report
from recctl.analysis.compare import compare_arms
from recctl.analysis.loading import (
    check_arms,
    fetch_manifest,
    load_events,
    resolve_experiment,
)
from recctl.analysis.metrics import METRICS, UserSummary, latency_percentiles, user_metrics
from recctl.errors import RecctlError
from recctl.eventlog import ReadSummary
from recctl.stats.settings import CorrectionName, ReportSettings
from recctl.stats.srm import SrmResult, check_srm


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
    mode: str = "ab"  # "aa": one population split into random halves
    seed: int | None = None
    fetch_manifest: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)
    cuped: CupedSummary | None = None  # None: no CUPED (off, or no pre-period)

    @property
    def primary(self) -> pd.DataFrame:
        return self.table[self.table["primary"]]

    def summary_lines(self) -> list[str]:
        """Plain-language lines: the verdict on the primary metric, then the checks."""
        lines = []
        for row in self.primary.itertuples():
            if row.error:
                lines.append(f"{row.arm} vs {self.control}: {row.metric} could not be "
                             f"tested ({row.error}).")
                continue
            verdict = (f"significantly {row.direction}" if row.significant
                       else "no significant difference")
            lines.append(
                f"{row.arm} vs {self.control}: {row.metric} {row.effect:+.2f}% "
                f"[{row.lower:+.2f}%, {row.upper:+.2f}%], p={row.p_value:.3g} "
                f"(adjusted {row.p_value_adjusted:.3g}): {verdict}.")
        if self.cuped is not None:
            lines.append(self.cuped.line(self.settings.primary_metric, self.primary))
        srm = self.srm
        lines.append(f"Sample ratio: users per arm {list(srm.observed)}, p={srm.p_value:.3g}"
                     + (" - MISMATCH, distrust the table." if srm.mismatch else " - ok."))
        return lines + self.warnings


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
    pre_period: Any = None,
    cuped: CupedMode = "auto",
) -> Report:
    """Read every log under `paths` (all replicas, rotated files) and build the report.

    `aa=True` ignores the arms and splits the users into two random halves (C, T1)
    with `seed`: an A/A check of the whole pipeline. `pre_period` (paths or a PrePeriod)
    and `cuped` (auto/True/False) turn on CUPED, see recctl.analysis.adjustment.
    """
    events, read = load_events(paths)
    manifest = fetch_manifest(paths)
    return report_from_events(events, read, experiment, control, metrics, primary_metric,
                              alpha, correction, aa, seed, manifest, pre_period, cuped)


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
    pre_period: Any = None,
    cuped: CupedMode = "auto",
) -> Report:
    """The report for events already read (`read_events`' frame)."""
    metrics = list(metrics or METRICS)
    unknown = [m for m in [*metrics, primary_metric] if m not in METRICS]
    if unknown:
        raise RecctlError(f"unknown metric(s): {', '.join(unknown)}",
                          f"known metrics: {', '.join(METRICS)}")
    if primary_metric not in metrics:
        metrics.insert(0, primary_metric)
    if not 0 < alpha < 1:
        raise RecctlError(f"alpha must be between 0 and 1, not {alpha}")
    name = resolve_experiment(events, experiment, manifest)
    column = f"exp:{name}"
    users, user_summary = user_metrics(events, column)
    arms = [str(a) for a in events[column].cat.categories]
    if aa:
        users, arms, control = _random_halves(users, seed), ["C", "T1"], "C"
    counts = users["arm"].value_counts().to_dict()
    check_arms(arms, control, counts)
    # Control first, then the others in their natural order (C, T1, T2, ...).
    arms = [control] + [a for a in arms if a != control]
    settings = ReportSettings(alpha=alpha, correction=correction, primary_metric=primary_metric)
    adjustment = cuped_for_report(users, arms, metrics, alpha, pre_period, cuped)
    table = compare_arms(users, arms, control, metrics, settings, adjust=adjustment)
    srm = check_srm([counts.get(a, 0) for a in arms], threshold=settings.srm_threshold)
    arm_summary = _arm_summary(users, arms, events if not aa else None, column)
    report = Report(experiment=name, control=control, arms=arms, metrics=metrics,
                    settings=settings, table=table, arm_summary=arm_summary, users=users,
                    srm=srm, user_summary=user_summary, read=read or ReadSummary(),
                    mode="aa" if aa else "ab", seed=seed if aa else None,
                    fetch_manifest=manifest,
                    cuped=adjustment.summary if adjustment is not None else None)
    report.warnings.extend(_warnings(report))
    return report


def _random_halves(users: pd.DataFrame, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    halves = np.where(rng.permutation(len(users)) < len(users) // 2, "C", "T1")
    return users.assign(arm=pd.Categorical(halves, categories=["C", "T1"]))


def _arm_summary(users: pd.DataFrame, arms: list[str], events: pd.DataFrame | None,
                 column: str) -> pd.DataFrame:
    grouped = users.groupby("arm", observed=False)
    summary = pd.DataFrame({
        "users": grouped.size(), "sessions": grouped["sessions"].sum(),
        "unclosed_sessions": grouped["unclosed_sessions"].sum(),
    }).reindex(arms)
    summary.index.name = "arm"
    if events is not None:  # latency guardrail per real arm (not meaningful for A/A halves)
        summary = summary.join(latency_percentiles(events, column))
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
    return notes
