"""The report's validity section: the verdict's validity and the reconciliation of
acknowledged vs logged vs read requests, for the terminal, the Markdown page and the JSON."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Console
from rich.table import Table

from recctl.analysis.reconcile import Counts

if TYPE_CHECKING:  # (not imported: see recctl/analysis/__init__.py)
    from recctl.analysis.report import Report

_COLUMNS = ("acknowledged", "logged", "lost_to_rotation", "duplicates", "read")
_HEADERS = ("acked", "logged", "lost (rotation)", "duplicates dropped", "read")


def _n(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def _cells(counts: Counts) -> list[str]:
    return [counts.replica, *(_n(getattr(counts, c)) for c in _COLUMNS)]


def verdict_line(report: Report) -> str:
    if report.valid:
        return "Verdict valid: every check passed."
    return "VERDICT INVALID: " + "; ".join(report.invalid_reasons) + "."


def reconciliation_line(report: Report) -> str:
    rec = report.reconciliation
    total = rec.total
    state = {True: "match", False: "MISMATCH", None: "acknowledgements unknown"}[rec.balanced]
    line = (f"Requests: {_n(total.acknowledged)} acknowledged, {_n(total.logged)} logged, "
            f"{total.duplicates:,} duplicate(s) dropped, {total.read:,} read ({state})")
    if rec.failed_episodes is not None:
        line += f"; {rec.failed_episodes:,} of {_n(rec.episodes)} episodes failed"
    if rec.interrupted:
        line += "; run interrupted"
    return line + "."


def render_validity_terminal(report: Report, console: Console) -> None:
    """A red VERDICT INVALID line when it is, and the reconciliation per replica."""
    table = Table(title="reconciliation", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("replica")
    for header in _HEADERS:
        table.add_column(header, justify="right")
    rec = report.reconciliation
    for counts in rec.replicas:
        table.add_row(*_cells(counts))
    table.add_row(*_cells(rec.total), style="bold")
    console.print(table)
    console.print(reconciliation_line(report), highlight=False)
    console.print(verdict_line(report), style="green" if report.valid else "bold red",
                  highlight=False)


def validity_markdown(report: Report) -> list[str]:
    """The Markdown section's lines."""
    verdict = verdict_line(report)
    lines = ["## Validity", "", f"**{verdict}**" if not report.valid else verdict, ""]
    if not report.valid:
        lines += [f"- {reason}" for reason in report.invalid_reasons] + [""]
    lines += [reconciliation_line(report), "",
              "| replica | " + " | ".join(_HEADERS) + " |", "|---|" + "---:|" * len(_HEADERS)]
    rec = report.reconciliation
    for counts in [*rec.replicas, rec.total]:
        lines.append("| " + " | ".join(_cells(counts)) + " |")
    return lines


def validity_json(report: Report) -> dict[str, Any]:
    """The JSON keys: valid, invalid_reasons, interrupted, reconciliation."""
    return {"valid": report.valid, "invalid_reasons": list(report.invalid_reasons),
            "interrupted": report.reconciliation.interrupted,
            "reconciliation": report.reconciliation.as_dict()}
