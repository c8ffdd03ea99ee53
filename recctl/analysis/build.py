"""Building the report: the logs read, the users compared, the run's checks made.

`build_report` reads log folders; `report_from_events` takes events already read;
both end in `report_from_facts`. What to compare comes as one `ReportOptions`.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mmh3
import numpy as np
import pandas as pd

from recctl.analysis.engine import choose_engine, facts_from_events, open_logs
from recctl.analysis.facts import LogFacts, LogSource
from recctl.analysis.loading import (
    check_arms,
    choose_experiment,
    experiment_names,
    fetch_manifest,
    stored_experiment,
)
from recctl.analysis.options import ReportOptions
from recctl.analysis.reconcile import invalid_reasons, reconcile
from recctl.assignment import experiment_seed
from recctl.constants import DEFAULT_GUARDRAILS, METRICS
from recctl.errors import RecctlError
from recctl.eventlog import ReadSummary
from recctl.stats import messages
from recctl.stats.settings import ReportSettings

if TYPE_CHECKING:
    from recctl.analysis.report import Report

# What the report needs after the read: the statistics (scipy, statsmodels), the outputs
# and the plot's matplotlib, ~2 s of imports on one core. Imported here, in the functions
# that use them, so that build_report can import them while DuckDB reads (_read_logs).
_REPORT_MODULES = ("recctl.analysis.compare", "recctl.analysis.adjustment",
                   "recctl.analysis.report", "recctl.stats.srm", "recctl.analysis.outputs",
                   "matplotlib.figure", "matplotlib.backends.backend_agg")


def build_report(paths: Sequence[str | Path], options: ReportOptions | None = None,
                 **changes: Any) -> Report:
    """Read every log under `paths` (all replicas, rotated files) and build the report.

    `options` (default ReportOptions()) with `changes` applied, e.g.
    `build_report([run], aa=True, seed=3)`; see ReportOptions for what each one does.
    """
    options = (options or ReportOptions()).replace(**changes)
    chosen, notes = choose_engine(paths, options.engine)
    manifest = fetch_manifest(paths)
    if options.expected_arms is None:
        stored = stored_experiment(paths)
        if stored:
            options = options.replace(expected_arms=stored.arms)
    name, facts, read = _read_logs(paths, chosen, options.experiment, manifest)
    report = report_from_facts(facts, read, name, options, manifest)
    report.warnings.extend(notes)
    if manifest is not None and len(paths) > 1:
        # One run's manifest cannot account for logs read from several folders.
        report.reconciliation = reconcile(None, report.read, facts.per_replica, facts.rows)
        report.invalid_reasons = (invalid_reasons(report.reconciliation)
                                  + _assignment_reasons(report))
        report.warnings.append("several folders given: acknowledged requests were not "
                               "reconciled (report one fetched run folder for that)")
    return report


def _read_logs(paths: Sequence[str | Path], engine: str, experiment: str | None,
               manifest: dict[str, Any] | None) -> tuple[str, LogFacts, ReadSummary]:
    """The experiment's name and facts, and the read's summary.

    DuckDB reads in its own threads without the GIL, so its read runs in a background
    thread while this one imports _REPORT_MODULES (one core's work that would otherwise
    come before or after the read). The memory engine holds the GIL: it reads here.
    """
    if engine != "duckdb":
        source = open_logs(paths, engine)
        try:
            return _experiment_facts(source, experiment, manifest)
        finally:
            source.close()
    from recctl.analysis.engine_duckdb import DuckDBSource

    source = DuckDBSource(paths, load=False)

    def read() -> tuple[str, LogFacts, ReadSummary]:
        source.load()
        return _experiment_facts(source, experiment, manifest)

    try:
        with ThreadPoolExecutor(1, thread_name_prefix="recctl-duckdb") as pool:
            job = pool.submit(read)
            try:
                for module in _REPORT_MODULES:
                    importlib.import_module(module)
                while not job.done():  # woken often: Ctrl-C may reach a DuckDB thread
                    wait([job], timeout=0.2)
                return job.result()  # the read's RecctlError is raised here, unchanged
            except BaseException:  # Ctrl-C, or an import failed: stop the read first
                while not job.done():  # (again until it ends: a statement may start late)
                    source.interrupt()
                    wait([job], timeout=0.1)
                raise
    finally:
        source.close()


def _experiment_facts(source: LogSource, experiment: str | None,
                      manifest: dict[str, Any] | None) -> tuple[str, LogFacts, ReadSummary]:
    name = choose_experiment(source.experiment_names(), experiment, manifest)
    return name, source.facts(name), source.read


def report_from_events(events: pd.DataFrame, options: ReportOptions | None = None,
                       read: ReadSummary | None = None,
                       manifest: dict[str, Any] | None = None) -> Report:
    """The report for events already read (`read_events`' frame), by the memory engine."""
    options = options or ReportOptions()
    name = choose_experiment(experiment_names(events), options.experiment, manifest)
    return report_from_facts(facts_from_events(events, name), read, name, options, manifest)


def report_from_facts(facts: LogFacts, read: ReadSummary | None, name: str,
                      options: ReportOptions,
                      manifest: dict[str, Any] | None = None) -> Report:
    """The report for experiment `name` from what an engine read."""
    from recctl.analysis.adjustment import cuped_for_report
    from recctl.analysis.compare import compare_arms
    from recctl.analysis.report import Report
    from recctl.stats.srm import check_srm

    primary_metric, alpha, aa, control = (options.primary_metric, options.alpha, options.aa,
                                          options.control)
    metrics = list(dict.fromkeys(options.metrics or METRICS))
    explicit_guardrails = list(dict.fromkeys(options.guardrails or []))
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
    roles = (tuple(explicit_guardrails) if options.guardrails is not None
             else tuple(m for m in DEFAULT_GUARDRAILS if m != primary_metric))
    if not 0 < alpha < 1:
        raise RecctlError(f"alpha must be between 0 and 1, not {alpha}")
    users, user_summary = facts.users, facts.user_summary
    arms = list(facts.arms)
    unknown_arms: dict[str, int] = {}
    if aa:
        users, arms, control = hash_halves(users, options.seed), ["C", "T1"], "C"
    elif options.expected_arms:
        known = list(options.expected_arms)
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
    settings = ReportSettings(alpha=alpha, correction=options.correction,
                              primary_metric=primary_metric, guardrails=roles)
    srm_arms = [a for a in arms if a not in unknown_arms]
    adjustment = cuped_for_report(users, srm_arms, metrics, alpha, options.pre_period,
                                  options.cuped)
    table = compare_arms(users, arms, control, metrics, settings,
                         untestable={a: messages.UNKNOWN_ARM for a in unknown_arms},
                         adjust=adjustment)
    srm = check_srm([counts.get(a, 0) for a in srm_arms], threshold=settings.srm_threshold,
                    warn_threshold=settings.srm_warn_threshold)
    arm_summary = _arm_summary(users, arms, facts.latency if not aa else None)
    report = Report(experiment=name, control=control, arms=arms, metrics=metrics,
                    settings=settings, table=table, arm_summary=arm_summary, users=users,
                    srm=srm, user_summary=user_summary, read=read or ReadSummary(),
                    mode="aa" if aa else "ab", seed=options.seed if aa else None,
                    fetch_manifest=manifest, unknown_arms=unknown_arms,
                    latency_outliers=facts.latency_outliers,
                    cuped=adjustment.summary if adjustment is not None else None,
                    engine=facts.engine)
    report.reconciliation = reconcile(manifest, report.read, facts.per_replica, facts.rows)
    report.invalid_reasons = invalid_reasons(report.reconciliation) + _assignment_reasons(report)
    report.warnings.extend(_warnings(report))
    return report


CONTAMINATED_LIMIT = 0.01  # users seen in several arms, as a share of all: above, invalid


def _assignment_reasons(report: Report) -> list[str]:
    """Checks of the split itself. A sample ratio mismatch (p below the SRM threshold,
    0.1% false alarms) means users were assigned or lost unevenly. And recctl's hash never
    moves a user between arms: more than a few such users mean the split changed mid-run
    or a fork assigns by something else, and dropping them (as the table does) leaves arms
    that are no longer comparable."""
    reasons = []
    if report.srm.mismatch:
        counts = ", ".join(f"{arm} {n:,}" for arm, n in zip(report.srm_arms,
                                                            report.srm.observed, strict=True))
        reasons.append(f"sample ratio mismatch: users per arm {counts} (p = "
                       f"{report.srm.p_value:.2g}): users were assigned or lost unevenly")
    several = report.user_summary.users_in_several_arms
    everyone = several + len(report.users)
    if everyone and several / everyone > CONTAMINATED_LIMIT:
        reasons.append(f"{several:,} of {everyone:,} users ({several / everyone:.1%}) "
                       "appeared in more than one arm: the assignment is not a fixed function "
                       "of the user (a split changed mid-run, or a service assigning "
                       "otherwise), so the arms are not comparable")
    return reasons


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
    from recctl.analysis.report import SMALL_ARM_USERS

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
