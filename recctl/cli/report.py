"""`recctl report` and `recctl plan`: parse options, call the analysis library, render."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from recctl.analysis.metrics import METRICS

PathsArg = Annotated[list[Path], typer.Argument(
    help="Run folders from `recctl fetch`, replica log folders, or log files. Every "
         "data.json and rotated data.json.N under them is read.")]


def report(
    paths: PathsArg,
    experiment: Annotated[str | None, typer.Option(
        help="The experiment to analyse. Default: the fetch manifest's, or the only one "
             "named in the logs.")] = None,
    control: Annotated[str, typer.Option(help="The control arm.")] = "C",
    metric: Annotated[list[str] | None, typer.Option(
        help=f"A metric to compare (repeatable). Default: all of {', '.join(METRICS)}.")] = None,
    primary_metric: Annotated[str, typer.Option(
        help="The metric the verdict rests on.")] = "mean_time_per_session",
    alpha: Annotated[float, typer.Option(help="Significance level.")] = 0.05,
    correction: Annotated[str, typer.Option(
        help="Multiple-comparison correction across arms x metrics: holm or none.")] = "holm",
    out: Annotated[Path | None, typer.Option(
        help="Folder for report.md, report.json, CSVs, effects.png and manifest.json. "
             "Default: PATHS[0]/report for a folder, ./report otherwise.")] = None,
    output_format: Annotated[list[str] | None, typer.Option(
        "--format", help="An output file format (repeatable): markdown, json, csv, png. "
                         "Default: all.")] = None,
    aa: Annotated[bool, typer.Option(
        "--aa", help="A/A mode: ignore the arms and split users into two random halves.")] = False,
    seed: Annotated[int, typer.Option(help="Seed of the A/A split.")] = 0,
    pre_period: Annotated[list[Path] | None, typer.Option(
        help="CUPED's pre-period: logs from before the experiment (a data folder's logs/, "
             "an earlier run folder); repeatable.")] = None,
    cuped: Annotated[str, typer.Option(
        help="CUPED: auto (on when --pre-period is given), on, or off.")] = "auto",
) -> None:
    """Turn fetched event logs into the A/B answer.

    Prints the table (green: significantly better, red: significantly worse).
    Writes a Markdown page, JSON, CSV, a PNG plot and a manifest.

    Example: recctl report cache/contextualmod_vs_dssm/RUN --out reports/mine
    """
    from recctl.analysis import build_report, render_terminal, write_outputs

    if correction not in ("holm", "none"):
        from recctl.errors import RecctlError
        raise RecctlError(f"unknown correction {correction!r}", "use holm or none")
    result = build_report(paths, experiment=experiment, control=control, metrics=metric,
                          primary_metric=primary_metric, alpha=alpha,
                          correction=correction,  # type: ignore[arg-type]
                          aa=aa, seed=seed, pre_period=pre_period or None,
                          cuped=_cuped_mode(cuped))
    console = Console()
    render_terminal(result, console)
    target = out or (paths[0] / "report" if paths[0].is_dir() else Path("report"))
    written = write_outputs(result, target, output_format or ["markdown", "json", "csv", "png"])
    names = ", ".join(sorted(p.name for p in written.values()))
    console.print(f"[dim]written to {target}: {names}[/]")


def _cuped_mode(value: str) -> bool | str:
    from recctl.errors import RecctlError

    modes: dict[str, bool | str] = {"auto": "auto", "on": True, "off": False}
    if value not in modes:
        raise RecctlError(f"unknown --cuped {value!r}", "use auto, on or off")
    return modes[value]


def plan(
    paths: Annotated[list[Path] | None, typer.Argument(
        help="A previous run's logs, to take the control arm's variance from.")] = None,
    mde: Annotated[float, typer.Option(
        help="Minimum detectable effect, in % of the control mean.")] = 5.0,
    metric: Annotated[list[str] | None, typer.Option(
        help="A metric to plan for (repeatable). Default: all.")] = None,
    alpha: Annotated[float, typer.Option(help="Significance level.")] = 0.05,
    power: Annotated[float, typer.Option(help="Power to reach.")] = 0.8,
    arms: Annotated[int, typer.Option(help="Number of arms, control included.")] = 2,
    experiment: Annotated[str | None, typer.Option(help="Experiment in the logs.")] = None,
    control: Annotated[str, typer.Option(help="The control arm.")] = "C",
    variance: Annotated[float | None, typer.Option(
        help="A user-level variance, instead of logs (needs --mean).")] = None,
    mean: Annotated[float | None, typer.Option(help="The metric's mean, with --variance.")] = None,
) -> None:
    """Users and episodes needed to detect --mde with the given power.

    Uses statsmodels' power for a two-sample t-test on user-level values.

    Example: recctl plan cache/contextualmod_vs_dssm/RUN --mde 5
    """
    from recctl.analysis import api
    from recctl.analysis.plan import plan_from_users, plan_from_variance
    from recctl.errors import RecctlError

    if variance is not None:
        if mean is None:
            raise RecctlError("--variance needs --mean", "the MDE is relative to the mean")
        table = plan_from_variance(variance, mean, mde, alpha, power, arms)
    elif paths:
        users = api.user_level(api.load(*paths), experiment)
        table = plan_from_users(users, control, metric or list(METRICS), mde, alpha, power, arms)
    else:
        raise RecctlError("nothing to plan from",
                          "pass a previous run's logs, or --variance and --mean")
    view = Table(title=f"sample size for a {mde:g}% effect, alpha={alpha}, power={power}, "
                       f"{arms} arms")
    shown = {"metric": "metric", "control_mean": "mean", "control_std": "std",
             "mde_absolute": "MDE (abs.)", "users_per_arm": "users/arm",
             "users_total": "users", "episodes_total": "episodes"}
    for header in shown.values():
        view.add_column(header, justify="left" if header == "metric" else "right")
    for row in table[list(shown)].itertuples(index=False):
        view.add_row(*["-" if v is None or v != v else f"{v:.4g}" if isinstance(v, float)
                       else str(v) for v in row])
    Console().print(view)


def register(app: typer.Typer) -> None:
    app.command("report")(report)
    app.command("plan")(plan)
