"""Stack commands: up, status, down, fetch, simulate, run. Thin: parse, call, render."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from recctl.spec import load_experiment, parse_experiment

console = Console()

ExperimentArg = Annotated[
    Path, typer.Argument(help="The experiment file, e.g. experiments/contextualmod-vs-dssm.yml.",
                         show_default=False)
]
RunOption = Annotated[
    str | None, typer.Option("--run", help="A run id; the one `up` started last by default.")
]


def up(experiment: ExperimentArg) -> None:
    """Start the stack: Redis, the replicas and a balancer; wait until every replica is ready.

    Example: recctl up experiments/aa.yml
    """
    from recctl.stack.lifecycle import stack_up
    from recctl.workflow import warn_if_outdated

    loaded = load_experiment(experiment)
    warn_if_outdated(loaded.spec.data, console)
    state = stack_up(loaded, console)
    balancer = ("nginx" if state.balancer == "nginx"
                else "the replicas' shared port (SO_REUSEPORT)" if state.endpoint
                else "the simulator, across the replicas")
    console.print(f"[green]Up[/]: {loaded.spec.name} run [bold]{state.run_id}[/] "
                  f"({state.runtime}, {len(state.replicas)} replicas, balancer: {balancer})")
    console.print(f"Endpoint: [bold]{state.endpoint or ', '.join(state.replica_urls)}[/]")


def status(experiment: ExperimentArg, run: RunOption = None) -> None:
    """Show what is running for the experiment's current run; exit 1 if anything is down.

    Example: recctl status experiments/aa.yml
    """
    from recctl.stack.lifecycle import stack_status

    found = stack_status(parse_experiment(experiment).spec.name, run_id=run)
    state = found.state
    table = Table(title=f"{state.experiment} run {state.run_id} ({state.runtime})")
    table.add_column("component")
    table.add_column("state")
    table.add_column("detail")
    for component in found.components:
        mark = "[green]running[/]" if component.running else "[red]down[/]"
        table.add_row(component.name, mark, component.detail)
    console.print(table)
    balancer = ("nginx" if state.balancer == "nginx"
                else "the replicas' shared port (no nginx)" if state.endpoint
                else "the simulator, across the replicas (no nginx)")
    console.print(f"Balancer: {balancer}; endpoint: {state.endpoint}")
    if state.stopped:
        console.print("This run was stopped with `recctl down`.")
    elif found.stale:
        names = ", ".join(c.name for c in found.stale)
        console.print(f"[red]Stale:[/] {names} crashed or was killed; "
                      "`recctl down` cleans up the rest, then `recctl up` again.")
        raise typer.Exit(1)


def down(experiment: ExperimentArg, run: RunOption = None) -> None:
    """Stop exactly what `up` started for the experiment (by pid or container label).

    Example: recctl down experiments/aa.yml
    """
    from recctl.stack.lifecycle import stack_down

    state = stack_down(parse_experiment(experiment).spec.name, run_id=run)
    console.print(f"[green]Down[/]: {state.experiment} run {state.run_id}")


def fetch(experiment: ExperimentArg, run: RunOption = None) -> None:
    """Copy every replica's event log (rotated files too) into cache/<experiment>/<run-id>/.

    Safe to repeat: nothing already collected is deleted or overwritten. Exits 1 when a
    replica's logs could not be reached (the others are still saved).
    Example: recctl fetch experiments/aa.yml
    """
    from recctl.stack.lifecycle import stack_fetch

    result = stack_fetch(parse_experiment(experiment).spec.name, run_id=run)
    console.print(f"[green]Fetched[/] {len(result.copied)} new or grown file(s), "
                  f"{len(result.unchanged)} unchanged, {result.lines:,} lines in total "
                  f"-> [bold]{result.dest}[/]")
    if result.conflicts:
        console.print(f"[yellow]{len(result.conflicts)} file(s) changed in a way that is not "
                      f"an append; kept aside under {result.dest / 'conflicts'}[/]")
    for warning in result.warnings():
        console.print(f"[bold yellow]Warning[/]: {warning}", highlight=False)
    if result.unreachable:
        raise typer.Exit(1)


def simulate(
    experiment: ExperimentArg,
    run: RunOption = None,
    endpoint: Annotated[list[str] | None, typer.Option(
        "--endpoint", help="Send the users to this URL instead of the stack `up` started "
        "(repeat for several replicas): a compose stack or your own botify.")] = None,
) -> None:
    """Drive the file's simulated users through the running stack (progress bar, summary).

    Uses the `simulation:` block (episodes, days, seed, concurrency) against the stack that
    `recctl up` started. Exits 1 when more episodes failed than
    `simulation.max_failed_fraction` allows. Example: recctl simulate experiments/aa.yml
    """
    from recctl.stack.runs import current_run
    from recctl.workflow import require_running
    from recctl.workflow import simulate as run_simulation

    if endpoint:
        summary = run_simulation(parse_experiment(experiment), None, console, targets=endpoint)
    else:
        loaded = load_experiment(experiment)
        state = current_run(loaded.spec.name, run_id=run)
        require_running(state)
        summary = run_simulation(loaded, state, console)
    if summary["failed_too_many"]:
        raise typer.Exit(1)


def run(experiment: ExperimentArg) -> None:
    """Everything: bootstrap if needed, up, simulate, fetch, report, down.

    Ctrl-C is safe: the stack is torn down and what was logged is still fetched.
    Exits 1 (after fetching and reporting) when too many episodes failed or the report's
    verdict is invalid. Example: recctl run experiments/contextualmod-vs-dssm.yml
    """
    from recctl.workflow import run_experiment

    try:
        outcome = run_experiment(experiment, console)
    except KeyboardInterrupt:
        console.print("[yellow]Interrupted[/]: the stack is down; the logs fetched so far "
                      "are in cache/.")
        raise typer.Exit(130) from None
    if not outcome.valid:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command(rich_help_panel="Experiment")(run)
    app.command(rich_help_panel="Experiment")(simulate)
    panel = "Stack"
    app.command(rich_help_panel=panel)(up)
    app.command(rich_help_panel=panel)(status)
    app.command(rich_help_panel=panel)(down)
    app.command(rich_help_panel=panel)(fetch)
