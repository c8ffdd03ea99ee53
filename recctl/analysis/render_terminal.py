"""The A/B table in the terminal (Rich): green when significantly better, red when worse."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from rich import box
from rich.console import Console
from rich.table import Table

from recctl.analysis.render_validity import render_validity_terminal
from recctl.stats.messages import error_code

if TYPE_CHECKING:  # (not imported: see recctl/analysis/__init__.py)
    from recctl.analysis.report import Report

_STYLE = {"better": "green", "worse": "red"}


def _number(value: float, digits: int = 4) -> str:
    if value is None or math.isnan(value) or math.isinf(value):
        return "-"
    return f"{int(value)}" if value.is_integer() and abs(value) < 1e12 else f"{value:.{digits}g}"


def _percent(value: float) -> str:
    if math.isnan(value):
        return "-"
    return f"{value:+.0f}%" if abs(value) >= 1000 else f"{value:+.1f}%"


def _p(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.2g}"


# Short labels keep the table inside 80 columns (CI logs, narrow terminals); the
# Markdown, JSON and CSV outputs keep the full metric names.
SHORT_LABELS = {
    "mean_time_per_session": "time/session",
    "time": "time",
    "sessions": "sessions",
    "mean_tracks_per_session": "tracks/session",
    "mean_request_latency": "latency",
}


# Error codes in the narrow table (the summary lines below it give the full code).
SHORT_ERRORS = {"ZERO_VARIANCE": "zero var.", "NOT_ENOUGH_DATA": "too few",
                "ZERO_CONTROL_MEAN": "control 0", "UNKNOWN_ARM": "unknown arm"}


def _interval(lower: float, upper: float) -> str:
    if math.isnan(lower) or math.isnan(upper):
        return "-"
    digits = 0 if max(abs(lower), abs(upper)) >= 1000 else 1
    return f"[{lower:+.{digits}f}, {upper:+.{digits}f}]"


def comparison_table(report: Report) -> Table:
    """The table as a Rich renderable (one row per arm x metric), 80 columns wide."""
    mode = " (A/A: hash halves)" if report.mode == "aa" else ""
    correction = report.settings.correction
    table = Table(
        title=f"{report.experiment}: arms vs {report.control}{mode}",
        caption=f"effect, CI: % of the control mean (delta method), CI at the level of "
                f"p adj. ({correction}); * primary; (g) guardrail, one-sided: sig = harm",
        box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1), collapse_padding=True,
        show_edge=False,
    )
    for name, justify in [("arm", "left"), ("metric", "left"), ("control", "right"),
                          ("treat.", "right"), ("effect", "right"), ("CI %", "right"),
                          ("p adj.", "right"), ("sig", "left")]:
        table.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for row in report.table.itertuples():
        mark = "*" if row.primary else " (g)" if row.role == "guardrail" else ""
        code = error_code(row.error)
        if code:
            verdict, ci = "n/a", SHORT_ERRORS.get(code, code[:12])
        else:
            verdict = ("harm" if row.role == "guardrail" else "yes") if row.significant \
                else "no"
            ci = _interval(row.lower, row.upper)
        table.add_row(
            str(row.arm), f"{SHORT_LABELS.get(row.metric, row.metric)}{mark}",
            _number(row.control_mean, 2), _number(row.treatment_mean, 2),
            _percent(row.effect), ci, _p(row.p_value_adjusted), verdict,
            style=_STYLE.get(row.direction),
        )
    return table


def arms_table(report: Report) -> Table:
    """Users, sessions and the latency guardrail per arm."""
    table = Table(title="arms", box=box.SIMPLE_HEAD, pad_edge=False)
    columns = list(report.arm_summary.columns)
    table.add_column("arm")
    for column in columns:
        table.add_column(column.replace("_", " ").replace("latency ", "lat. "), justify="right")
    for arm, values in report.arm_summary.iterrows():
        table.add_row(str(arm), *[_number(float(values[c]), 3) for c in columns])
    return table


def render_terminal(report: Report, console: Console) -> None:
    """Print the summary lines, the comparison table and the per-arm table."""
    console.print(comparison_table(report))
    console.print(arms_table(report))
    for line in report.summary_lines():
        style = ("bold red" if "MISMATCH" in line else
                 "yellow" if line.startswith("Sample ratio") and "WARNING" in line else None)
        console.print(line, style=style, highlight=False, markup=False)  # text, not tags
    render_validity_terminal(report, console)
