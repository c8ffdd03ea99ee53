"""A PNG of effects with intervals: one panel per metric, one row per treatment arm."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from recctl.stats.messages import error_code

if TYPE_CHECKING:  # (not imported: see recctl/analysis/__init__.py)
    from recctl.analysis.report import Report

_COLOURS = {"better": "#1a9850", "worse": "#d73027", "": "#4d4d4d"}


def plot_effects(report: Report, path: str | Path) -> Path:
    """Effect (% of control) with its headline interval (delta method, at the level of the
    row's adjusted verdict); green/red when significant."""
    # Imported here: matplotlib costs ~0.3 s to import and only the PNG needs it (and
    # build_report imports it while DuckDB reads). A Figure without pyplot: no display
    # needed, and no global backend switched under a notebook's feet.
    from matplotlib.figure import Figure

    metrics = report.metrics
    treatments = [a for a in report.arms if a != report.control]
    height = 0.9 + 0.55 * len(treatments) * len(metrics) + 0.5 * len(metrics)
    fig = Figure(figsize=(7, height))
    axes = fig.subplots(len(metrics), 1, squeeze=False, sharex=False)
    for ax, metric in zip(axes[:, 0], metrics, strict=True):
        rows = report.table[report.table["metric"] == metric].set_index("arm").reindex(treatments)
        y = np.arange(len(treatments))[::-1]
        for yi, (_arm, row) in zip(y, rows.iterrows(), strict=True):
            colour = _COLOURS.get(str(row["direction"]), _COLOURS[""])
            if np.isnan(row["lower"]) or np.isnan(row["effect"]):
                ax.text(0, yi, f"{error_code(row['error']) or 'not tested'}", va="center",
                        fontsize=8)
                continue
            ax.errorbar(row["effect"], yi, xerr=[[row["effect"] - row["lower"]],
                                                 [row["upper"] - row["effect"]]],
                        fmt="o", color=colour, capsize=4, lw=2)
            ax.annotate(f"{row['effect']:+.1f}%", (row["effect"], yi), textcoords="offset points",
                        xytext=(0, 6), ha="center", fontsize=8, color=colour)
        ax.axvline(0, color="#999999", lw=1, ls="--")
        ax.set_yticks(y, treatments)
        ax.set_ylim(-0.7, len(treatments) - 0.3)
        role = report.settings.role(metric)
        star = f" ({role}{': one-sided, harm' if role == 'guardrail' else ''})"
        ax.set_title(f"{metric}{star}", fontsize=10, loc="left")
        ax.grid(axis="x", alpha=0.3)
    axes[-1, 0].set_xlabel(f"effect vs {report.control}, % of control mean "
                           f"(delta-method interval at the verdict's level)")
    correction = report.settings.correction
    fig.suptitle(f"{report.experiment}" + (" (A/A)" if report.mode == "aa" else "")
                 + f"\ngreen/red: significantly better/worse (p adjusted: {correction})",
                 fontsize=10)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=110)  # the Agg canvas, from the .png suffix
    return out
