"""Terminal output of a simulation: the per-day summary table and the progress bar.

The Console is passed in, so tests render into a StringIO console.
"""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from recctl.sim.results import DaySummary, MeanWithError, SimulationResult


def _pm(value: MeanWithError, digits: int = 3) -> str:
    if value.n == 0:
        return "-"
    if value.n == 1:
        return f"{value.mean:.{digits}f}"
    return f"{value.mean:.{digits}f} ± {value.se:.{digits}f}"


def _row(table: Table, label: str, summary: DaySummary, style: str | None = None) -> None:
    failed = f"[red]{summary.failed}[/]" if summary.failed else "0"
    table.add_row(label, str(summary.episodes), failed, _pm(summary.session_time),
                  _pm(summary.steps, 2), style=style)


def summary_table(result: SimulationResult) -> Table:
    """A table with one row per day (mean ± standard error) and a total row."""
    busy = (f", {result.busy_retries} busy answers (503 Retry-After) waited out"
            if result.busy_retries else "")
    table = Table(title="Simulated sessions", caption=(
        f"{result.acked_requests} requests acknowledged, {result.retried_requests} retried"
        f"{busy}; {result.episodes_per_second:.0f} episodes/s"))
    table.add_column("day", justify="right")
    table.add_column("episodes", justify="right")
    table.add_column("failed", justify="right")
    table.add_column("session time", justify="right")
    table.add_column("steps", justify="right")
    days = result.day_summaries()
    for summary in days:
        _row(table, str(summary.day), summary)
    if len(days) > 1:
        _row(table, "all", result.overall(), style="bold")
    return table


def render_summary(result: SimulationResult, console: Console) -> None:
    """Print the summary table, then the first errors if any episode failed."""
    console.print(summary_table(result))
    if result.failed_episodes:
        console.print(f"[bold red]{result.failed_episodes} episode(s) failed[/] "
                      "(not included in the means); first errors:")
        for error in result.errors:
            console.print(f"  {error}", highlight=False, markup=False)


class RateColumn(ProgressColumn):
    """Completed units per second, e.g. "412 episodes/s"."""

    def __init__(self, unit: str = "episodes") -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("-" if speed is None else f"{speed:,.0f} {self.unit}/s", style="cyan")


def episode_progress(console: Console, enabled: bool = True) -> Progress:
    """A progress bar for episodes; disabled when asked or when not on a terminal."""
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    RateColumn(), TimeElapsedColumn(), console=console,
                    disable=not enabled or not console.is_terminal, transient=False)
