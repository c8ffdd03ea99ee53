"""`recctl report` and `recctl plan`: parse options, call the analysis library, render."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from recctl.constants import METRICS

PathsArg = Annotated[list[Path], typer.Argument(
    help="Run folders from `recctl fetch`, replica log folders, or log files. Every "
         "data.json and rotated data.json.N under them is read. An experiment file "
         "(.yml) stands for its latest fetched run.")]
EXPERIMENT_SUFFIXES = (".yml", ".yaml")


def latest_fetched_run(path: Path, command: str = "report") -> Path:
    """The newest run folder `recctl fetch` made for the experiment file at `path`."""
    from recctl.errors import RecctlError
    from recctl.paths import cache_root
    from recctl.spec import parse_experiment

    name = parse_experiment(path).spec.name
    folder = cache_root() / name
    runs = sorted(p for p in folder.glob("*/manifest.json")) if folder.is_dir() else []
    if not runs:
        raise RecctlError(
            f"{path} is an experiment file, and no run of {name!r} has been fetched "
            f"(nothing under {folder})",
            f"run `recctl fetch {path}` after `recctl simulate`, or `recctl run {path}`; "
            f"or pass a run folder: recctl {command} {folder}/RUN")
    return runs[-1].parent  # run ids start with their UTC start time: the last is newest


def is_experiment_file(path: Path) -> bool:
    return path.suffix in EXPERIMENT_SUFFIXES and path.is_file()


def fetched_runs_for(paths: list[Path], command: str) -> list[Path]:
    """`paths` with each experiment file replaced by its latest fetched run."""
    return [latest_fetched_run(p, command) if is_experiment_file(p) else p for p in paths]


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
    pre_period: Annotated[list[Path] | None, typer.Option(
        help="CUPED's pre-period: logs from before the experiment (a data folder's logs/, "
             "an earlier run folder); repeatable. Default: the run folder's stored one.")]
        = None,
    cuped: Annotated[str | None, typer.Option(
        help="CUPED: auto (on when there is a pre-period), on, or off. Default: the run "
             "folder's report settings, else auto.")] = None,
    engine: Annotated[str | None, typer.Option(
        help="How the logs are read: memory, duckdb (out of core, for logs larger than "
             "memory; pip install 'recctl\\[duckdb]'), or auto (DuckDB above 1 GiB of logs "
             "when installed). Default: the run folder's report settings, else auto.")]
        = None,
) -> None:
    """Turn fetched event logs into the A/B answer.

    Prints the table (green: significantly better, red: significantly worse).
    Writes a Markdown page, JSON, CSV, a PNG plot and a manifest. On a run folder from
    `recctl fetch`, the experiment file's `report:` block (stored by fetch) gives the
    defaults; flags override them.

    Example: recctl report cache/contextualmod_vs_dssm/RUN --out reports/mine
    (or recctl report experiments/contextualmod-vs-dssm.yml: its latest fetched run)
    """
    from recctl.analysis import ReportOptions, build_report
    from recctl.analysis.engine import EngineUnavailable, choose_engine
    from recctl.analysis.loading import stored_experiment
    from recctl.errors import RecctlError
    from recctl.spec import ReportSpec

    if any(map(is_experiment_file, paths)):
        paths = fetched_runs_for(paths, "report")
        Console(stderr=True).print(f"[dim]reading {', '.join(map(str, paths))}[/]")
    stored = stored_experiment(paths)
    spec = stored.report if stored and stored.report else ReportSpec()
    chosen_correction = correction or spec.correction
    if chosen_correction not in ("holm", "none"):
        raise RecctlError(f"unknown correction {chosen_correction!r}", "use holm or none")
    chosen_engine = engine or spec.engine
    try:  # an engine that cannot run here is a usage error (exit 2), found before reading
        choose_engine(paths, chosen_engine)
    except EngineUnavailable as exc:  # printed as text: "[duckdb]" is not a Rich tag
        err = Console(stderr=True)
        err.print(f"Error: {exc.message}", markup=False, highlight=False)
        err.print(f"hint: {exc.hint}", markup=False, highlight=False)
        raise typer.Exit(2) from None
    options = ReportOptions.from_spec(
        spec, experiment=experiment, correction=chosen_correction, aa=aa, seed=seed,
        engine=chosen_engine, expected_arms=stored.arms if stored else None,
        # unless flags name them, the stored guardrails among the metrics compared
        guardrails=guardrail if guardrail is not None
        else [g for g in spec.guardrails if g in (metric or spec.metrics)])
    # A flag given overrides the stored `report:` block.
    flags = {"control": control or None, "metrics": metric or None,
             "primary_metric": primary_metric or None, "alpha": alpha,
             "pre_period": pre_period or None,
             "cuped": _cuped_mode(cuped) if cuped is not None else None}
    options = options.replace(**{k: v for k, v in flags.items() if v is not None})
    result = build_report(paths, options)
    # After build_report, which imports them while it reads (recctl/analysis/build.py).
    from recctl.analysis import render_terminal, write_outputs

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


def _cuped_mode(value: str) -> bool | str:
    from recctl.errors import RecctlError

    modes: dict[str, bool | str] = {"auto": "auto", "on": True, "off": False}
    if value not in modes:
        raise RecctlError(f"unknown --cuped {value!r}", "use auto, on or off")
    return modes[value]


def plan(
    paths: Annotated[list[Path] | None, typer.Argument(
        help="A pilot run's logs, to take the control arm's variance from. An experiment "
             "file stands for its latest fetched run (and is the --file).")] = None,
    mde: Annotated[float, typer.Option(
        help="Minimum detectable effect, in % of the control mean.")] = 5.0,
    metric: Annotated[list[str] | None, typer.Option(
        help="A metric to plan for (repeatable). Default: the primary metric "
             "(mean_time_per_session, or the --file's).")] = None,
    alpha: Annotated[float | None, typer.Option(
        help="The family's significance level (default 0.05, or the --file's); each "
             "treatment arm is tested at alpha / (arms - 1), as the report does.")] = None,
    power: Annotated[float, typer.Option(help="Power to reach.")] = 0.8,
    arms: Annotated[int | None, typer.Option(
        help="Number of arms, control included (default 2, or the --file's).")] = None,
    experiment: Annotated[str | None, typer.Option(help="Experiment in the pilot logs.")] = None,
    control: Annotated[str | None, typer.Option(help="The control arm (default C).")] = None,
    file: Annotated[Path | None, typer.Option(
        "--file", "-f", help="An experiment file: its world, pre-period, arms, alpha, control "
                             "and primary metric are the plan's defaults.")] = None,
    world: Annotated[Path | None, typer.Option(
        help="The world folder (its population caps the users an experiment can "
             "reach). Default: the --file's.")] = None,
    pre_period: Annotated[list[Path] | None, typer.Option(
        help="Pre-period logs for a CUPED-aware plan (default: the --file's data logs).")
    ] = None,
    cuped: Annotated[str, typer.Option(
        help="auto (with a pre-period), on, or off.")] = "auto",
    episodes: Annotated[int | None, typer.Option(
        help="Also show the power at this many episodes.")] = None,
    variance: Annotated[float | None, typer.Option(
        help="A user-level variance, instead of logs (needs --mean; no world, no episodes).")
    ] = None,
    mean: Annotated[float | None, typer.Option(help="The metric's mean, with --variance.")] = None,
) -> None:
    """Episodes needed to detect --mde with the given power, in this world.

    Models the simulator: each episode draws one of the world's users, so E episodes reach
    U (1 - (1 - 1/U)^E) distinct users with Binomial(E, 1/U) sessions each; the per-user
    variance comes from the pilot's control arm (between users + within a user's
    sessions). Says so when no number of episodes reaches the power.

    Example: recctl plan cache/contextualmod_vs_dssm/RUN -f experiments/contextualmod-vs-dssm.yml
    """
    from recctl.analysis import api
    from recctl.analysis.plan import (
        plan_experiment,
        plan_from_variance,
        plan_without_world,
        world_population,
    )
    from recctl.analysis.preperiod import load_pre_period
    from recctl.errors import RecctlError

    if not 0 < power < 1:
        raise RecctlError(f"--power {power:g} is not a probability",
                          "give the chance to detect the effect, between 0 and 1, e.g. 0.8")
    if alpha is not None and not 0 < alpha < 1:
        raise RecctlError(f"--alpha {alpha:g} is not a significance level",
                          "give a value between 0 and 1, e.g. 0.05")
    if paths and any(map(is_experiment_file, paths)):
        # `recctl plan FILE.yml`: the file's settings, and its latest fetched run as pilot
        file = file or next(filter(is_experiment_file, paths))
        paths = fetched_runs_for(paths, "plan")
    spec = None
    if file is not None:
        from recctl.spec import parse_experiment

        spec = parse_experiment(file).spec
    alpha = alpha if alpha is not None else (spec.report.alpha if spec else 0.05)
    arms = arms if arms is not None else (len(spec.arms) if spec else 2)
    control = control or (spec.report.control if spec else "C")
    metrics = metric or [spec.report.primary_metric if spec else "mean_time_per_session"]
    if variance is not None:
        if mean is None:
            raise RecctlError("--variance needs --mean", "the MDE is relative to the mean")
        table = plan_from_variance(variance, mean, mde, alpha, power, arms)
    elif paths:
        world_dir = world or (spec.world_dir if spec else None)
        if world_dir is None:
            users = api.user_level(api.load(*paths), experiment)
            table = plan_without_world(users, control, metrics, mde, alpha, power, arms)
            _print_plan(table, mde, alpha, power, arms, None)
            return
        mode = _cuped_mode(cuped)
        pre_paths = pre_period or (spec.pre_period_paths if spec else [])
        if mode is True and not pre_paths:
            raise RecctlError("--cuped on needs a pre-period",
                              "pass --pre-period PATH or a --file whose data has logs/")
        pre = load_pre_period(pre_paths).users if pre_paths and mode is not False else None
        events = api.load(*paths)
        users = api.user_level(events, experiment)
        table = plan_experiment(events, users, control, metrics, mde,
                                world_population(world_dir), arms, alpha, power, pre, episodes)
    else:
        raise RecctlError("nothing to plan from",
                          "pass a pilot run's logs, or --variance and --mean")
    _print_plan(table, mde, alpha, power, arms, episodes)


def _print_plan(table: object, mde: float, alpha: float, power: float, arms: int,
                episodes: int | None) -> None:
    import pandas as pd

    assert isinstance(table, pd.DataFrame)
    view = Table(title=f"{mde:g}% effect, power {power:.0%}, alpha {alpha:g} over "
                       f"{arms - 1} treatment arm(s) ({alpha / max(arms - 1, 1):.3g} each)")
    shown = {"metric": "metric", "control_mean": "mean", "variance_reduction": "CUPED -var",
             "episodes_total": "episodes", "users_per_arm": "users/arm",
             "sessions_per_user": "sess/user", "power": "power", "max_power": "max"}
    if episodes is not None:
        shown["power_at_episodes"] = f"at {episodes:,}"
    for header in shown.values():
        view.add_column(header, justify="left" if header == "metric" else "right")
    for row in table[list(shown)].itertuples(index=False):
        view.add_row(*[_cell(name, value) for name, value in zip(shown, row, strict=True)])
    console = Console()
    console.print(view)
    for row in table.itertuples():
        if row.note:
            console.print(f"[bold]{row.metric}[/]: {row.note}")


def _cell(name: str, value: object) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if name in ("power", "max_power", "power_at_episodes", "variance_reduction"):
        return f"{float(value):.1%}"  # type: ignore[arg-type]
    if name in ("episodes_total", "users_per_arm"):
        return f"{int(value):,}"  # type: ignore[call-overload]
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def register(app: typer.Typer) -> None:
    app.command("report")(report)
    app.command("plan")(plan)
