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
    control: Annotated[str | None, typer.Option(
        help="The control arm. Default: the run folder's report settings, else C.")] = None,
    metric: Annotated[list[str] | None, typer.Option(
        help=f"A metric to compare (repeatable). Default: the run folder's report "
             f"settings, else all of {', '.join(METRICS)}.")] = None,
    primary_metric: Annotated[str | None, typer.Option(
        help="The metric the verdict rests on (corrected across treatment arms only). "
             "Default: mean_time_per_session.")] = None,
    guardrail: Annotated[list[str] | None, typer.Option(
        help="A guardrail metric (repeatable): tested one-sided for harm, uncorrected. "
             "Default: mean_request_latency when compared.")] = None,
    alpha: Annotated[float | None, typer.Option(help="Significance level (0.05).")] = None,
    correction: Annotated[str | None, typer.Option(
        help="Correction within each family (primary: across arms; secondary: arms x "
             "metrics): holm or none. Default: holm.")] = None,
    out: Annotated[Path | None, typer.Option(
        help="Folder for report.md, report.json, CSVs, effects.png and manifest.json. "
             "Default: PATHS[0]/report for a folder, ./report otherwise.")] = None,
    output_format: Annotated[list[str] | None, typer.Option(
        "--format", help="An output file format (repeatable): markdown, json, csv, png. "
                         "Default: the run folder's report outputs, else all.")] = None,
    aa: Annotated[bool, typer.Option(
        "--aa", help="A/A mode: ignore the arms and split users into two halves by a hash "
                     "of the user id with --seed.")] = False,
    seed: Annotated[int, typer.Option(help="Seed of the A/A split's hash.")] = 0,
) -> None:
    """Turn fetched event logs into the A/B answer.

    Prints the table (green: significantly better, red: significantly worse).
    Writes a Markdown page, JSON, CSV, a PNG plot and a manifest. On a run folder from
    `recctl fetch`, the experiment file's `report:` block (stored by fetch) gives the
    defaults; flags override them.

    Example: recctl report cache/contextualmod_vs_dssm/RUN --out reports/mine
    """
    from recctl.analysis import build_report, render_terminal, write_outputs
    from recctl.analysis.loading import stored_experiment
    from recctl.errors import RecctlError
    from recctl.spec import ReportSpec

    stored = stored_experiment(paths)
    spec = stored.report if stored and stored.report else ReportSpec()
    chosen_correction = correction or spec.correction
    if chosen_correction not in ("holm", "none"):
        raise RecctlError(f"unknown correction {chosen_correction!r}", "use holm or none")
    result = build_report(
        paths, experiment=experiment, control=control or spec.control,
        metrics=metric or spec.metrics, primary_metric=primary_metric or spec.primary_metric,
        alpha=alpha if alpha is not None else spec.alpha,
        correction=chosen_correction,  # type: ignore[arg-type]
        aa=aa, seed=seed,
        guardrails=guardrail if guardrail is not None
        else [g for g in spec.guardrails if g in (metric or spec.metrics)],
        expected_arms=stored.arms if stored else None,
    )
    formats = output_format or [f for f in spec.outputs if f != "terminal"]
    console = Console()
    if output_format or "terminal" in spec.outputs:
        render_terminal(result, console)
    target = out or (paths[0] / "report" if paths[0].is_dir() else Path("report"))
    written = write_outputs(result, target, formats)
    names = ", ".join(sorted(p.name for p in written.values()))
    settings_from = f" (report settings from {stored.source})" if stored and stored.report \
        else ""
    console.print(f"[dim]written to {target}: {names}{settings_from}[/]")
    if not result.valid:  # every output is written first: they say why
        raise typer.Exit(1)


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
