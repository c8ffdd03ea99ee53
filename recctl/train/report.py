"""Rich renderings of what training did: the offline-evaluation table and the read summary."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

from recctl.eventlog import ReadSummary


def evaluation_table(rows: Sequence[dict[str, float | str | int]], title: str) -> Table:
    """recall@k and nDCG@k per artifact and task, with the lift over top-pop on the same task."""
    metrics = [key for key in (rows[0] if rows else {}) if "@" in key]
    table = Table(title=title, title_justify="left")
    for name in ("artifact", "task", "cases", "coverage"):
        table.add_column(name, justify="left" if name in ("artifact", "task") else "right")
    for name in metrics:
        table.add_column(name, justify="right")
    base = {row["task"]: row for row in rows if row["artifact"] == "top_tracks"}
    for row in rows:
        cells = [
            str(row["artifact"]),
            str(row["task"]),
            str(row["cases"]),
            f"{row['coverage']:.0%}",
        ]
        for name in metrics:
            value = float(row[name])
            ref = float(base[row["task"]][name]) if row["task"] in base else float("nan")
            lift = (
                "" if row["artifact"] == "top_tracks" or not ref > 0 else f" ({value / ref:.1f}x)"
            )
            cells.append(f"{value:.4f}{lift}")
        table.add_row(*cells)
    return table


def print_read_summary(summary: ReadSummary, console: Console) -> None:
    files = len(summary.files)
    console.print(f"read {summary.lines:,} lines from {files} log file{'s' * (files != 1)}")
    if summary.malformed:
        console.print(f"[yellow]skipped {summary.malformed:,} malformed line(s)[/], e.g.:")
        for example in summary.malformed_examples:
            console.print(f"  [dim]{example}[/]", highlight=False)
