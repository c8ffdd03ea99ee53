"""A one-page Markdown report: summary lines, the table, the arms, the plot."""

from __future__ import annotations

import math

from recctl.analysis.render_validity import validity_markdown
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
              f"{report.settings.correction} across {len(report.table)} comparisons; "
              f"primary metric `{report.settings.primary_metric}`. Effects and intervals "
              f"are % of the control mean.", ""]
    header = ["arm", "metric", "control", "treatment", "effect %", "lower %", "upper %",
              "p", "p adj.", "significant"]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in report.table.itertuples():
        verdict = row.error or (f"**{row.direction}**" if row.significant else "no")
        metric = f"**{row.metric}**" if row.primary else row.metric
        cells = [row.arm, metric, row.control_mean, row.treatment_mean, row.effect, row.lower,
                 row.upper, row.p_value, row.p_value_adjusted, verdict]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    arms = report.arm_summary
    lines += ["", "## Arms", "", "| arm | " + " | ".join(arms.columns) + " |",
              "|---|" + "---|" * len(arms.columns)]
    for arm, values in arms.iterrows():
        lines.append(f"| {arm} | " + " | ".join(_cell(float(v)) for v in values) + " |")
    lines += ["", *validity_markdown(report)]
    if plot_name:
        lines += ["", f"![effects with intervals]({plot_name})"]
    return "\n".join(lines) + "\n"
