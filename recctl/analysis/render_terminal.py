"""The A/B table in the terminal (Rich): green when significantly better, red when worse."""

from __future__ import annotations

import math

from rich.console import Console
from rich.table import Table

from recctl.analysis.report import Report

_STYLE = {"better": "green", "worse": "red"}


def _number(value: float, digits: int = 4) -> str:
    if value is None or math.isnan(value):
        return "-"
    return f"{int(value)}" if value.is_integer() and abs(value) < 1e12 else f"{value:.{digits}g}"


def _percent(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:+.2f}%"


def _p(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.3g}"


def comparison_table(report: Report) -> Table:
    """The table as a Rich renderable (one row per arm x metric)."""
    mode = " (A/A: random halves)" if report.mode == "aa" else ""
    table = Table(title=f"{report.experiment}: arms vs {report.control}{mode}",
                  caption=f"alpha={report.settings.alpha}, correction="
                          f"{report.settings.correction}; * primary metric")
    for name, justify in [("arm", "left"), ("metric", "left"), ("control", "right"),
                          ("treatment", "right"), ("effect", "right"), ("lower", "right"),
                          ("upper", "right"), ("p", "right"), ("p adj.", "right"),
                          ("sig.", "center")]:
        # Names never wrap; numbers are short enough to fit 120 columns.
        table.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for row in report.table.itertuples():
        mark = "*" if row.primary else ""
        verdict = row.error or ("yes" if row.significant else "no")
        table.add_row(
            row.arm, f"{row.metric}{mark}", _number(row.control_mean),
            _number(row.treatment_mean), _percent(row.effect), _percent(row.lower),
            _percent(row.upper), _p(row.p_value), _p(row.p_value_adjusted), verdict,
            style=_STYLE.get(row.direction),
        )
    return table


def arms_table(report: Report) -> Table:
    """Users, sessions and the latency guardrail per arm."""
    table = Table(title="arms")
    columns = list(report.arm_summary.columns)
    table.add_column("arm")
    for column in columns:
        table.add_column(column.replace("_", " "), justify="right")
    for arm, values in report.arm_summary.iterrows():
        table.add_row(str(arm), *[_number(float(values[c]), 5) for c in columns])
    return table


def render_terminal(report: Report, console: Console) -> None:
    """Print the summary lines, the comparison table and the per-arm table."""
    console.print(comparison_table(report))
    console.print(arms_table(report))
    for line in report.summary_lines():
        style = "bold red" if "MISMATCH" in line else None
        console.print(line, style=style, highlight=False)
