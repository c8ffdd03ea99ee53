"""A one-page Markdown report: summary lines, the table, the arms, the plot."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from recctl.analysis.render_validity import validity_markdown
from recctl.stats.messages import error_code

if TYPE_CHECKING:  # (not imported: see recctl/analysis/__init__.py)
    from recctl.analysis.report import Report


def _cell(value: object) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        return f"{int(value)}" if value.is_integer() and abs(value) < 1e12 else f"{value:.4g}"
    return str(value)


def render_markdown(report: Report, plot_name: str | None = "effects.png") -> str:
    """The page as a string; `plot_name` is the PNG's path relative to the page (or None)."""
    title = f"# A/B report: {report.experiment}" + (" (A/A)" if report.mode == "aa" else "")
    lines = [title, ""]
    lines += [f"- {line}" for line in report.summary_lines()]
    lines += ["", f"Control `{report.control}`, alpha {report.settings.alpha}, correction "
              f"{report.settings.correction}; primary metric "
              f"`{report.settings.primary_metric}`.", ""]
    lines += [f"- {note}" for note in report.notes] + [""]
    header = ["arm", "metric", "role", "control", "treatment", "effect %", "lower %",
              "upper %", "CI level", "p", "p adj.", "significant"]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in report.table.itertuples():
        code = error_code(row.error)
        harm = "**harm**" if row.role == "guardrail" else f"**{row.direction}**"
        verdict = code or (harm if row.significant else "no")
        metric = f"**{row.metric}**" if row.primary else row.metric
        cells = [row.arm, metric, row.role, row.control_mean, row.treatment_mean, row.effect,
                 row.lower, row.upper, row.ci_level, row.p_value, row.p_value_adjusted,
                 verdict]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    arms = report.arm_summary
    lines += ["", "## Arms", "", "| arm | " + " | ".join(arms.columns) + " |",
              "|---|" + "---|" * len(arms.columns)]
    for arm, values in arms.iterrows():
        lines.append(f"| {arm} | " + " | ".join(_cell(float(v)) for v in values) + " |")
    lines += ["", "## Checks", ""] + [f"- {line}" for line in _checks(report)]
    lines += ["", *validity_markdown(report)]
    if plot_name:
        lines += ["", f"![effects with intervals]({plot_name})"]
    return "\n".join(lines) + "\n"


def _listed(items: list[str]) -> str:
    return ", ".join(items) or "none"


def _checks(report: Report) -> list[str]:
    """What was left out or looks wrong, as counts (the JSON's `checks`)."""
    checks = report.checks
    out = checks["out_of_range"]
    fields = " (" + ", ".join(f"{k} {v}" for k, v in sorted(out.items())) + ")" if out else ""
    unknown = [f"{arm} ({n} users)" for arm, n in checks["unknown_arms"].items()]
    small = [f"{arm} ({n})" for arm, n in checks["small_arms"].items()]
    untested = [f"{u['arm']} {u['metric']} ({u['error']})" for u in checks["untestable"]]
    return [
        f"Sample ratio: {checks['srm']} (p={report.srm.p_value:.3g}; warn below 0.01, "
        f"mismatch below 0.001).",
        f"Lines left out: {report.read.malformed} malformed, "
        f"{checks['out_of_range_lines']} out of range{fields}.",
        f"Arms not in the experiment file: {_listed(unknown)}.",
        f"Arms with fewer than 30 users: {_listed(small)}.",
        f"Not tested: {_listed(untested)}.",
        f"Latency outliers: {checks['latency_outliers'].get('requests', 0)} request(s).",
    ]
