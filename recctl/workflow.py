"""`recctl run`: bootstrap if needed, up, simulate, quiesce, fetch, report, down.

Ctrl-C safe: whatever happens after `up`, the replicas are stopped gracefully (their logs
flushed), what was logged is fetched, and the stack is torn down.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from recctl.errors import RecctlError
from recctl.failures import DEFAULT_MAX_FAILED_FRACTION, failed_too_many
from recctl.paths import workspace_dir
from recctl.spec import LoadedExperiment, load_experiment, parse_experiment
from recctl.stack.base import RunState
from recctl.stack.fetch import FetchResult, fetch_run
from recctl.stack.lifecycle import simulation_targets, stack_up
from recctl.stack.runs import check_still_served, runtime_for

EPISODES_FILE = "episodes.csv"  # per-episode stats of the simulator (day, user, time, steps)


@dataclass
class RunOutcome:
    state: RunState
    fetched: FetchResult | None = None
    simulation: dict[str, Any] | None = None
    report: Any = None
    report_dir: Path | None = None
    interrupted: bool = False
    simulation_error: RecctlError | None = None  # the simulation stopped on this error
    stages: dict[str, float] = field(default_factory=dict)

    @property
    def failed_too_many(self) -> bool:
        return bool(self.simulation and self.simulation.get("failed_too_many"))

    @property
    def valid(self) -> bool:
        """False when the simulation stopped or failed too often, or the verdict is invalid."""
        return (self.simulation_error is None and not self.failed_too_many
                and (self.report is None or self.report.valid))


def ensure_data(path: Path, console: Console) -> LoadedExperiment:
    """Load the experiment; bootstrap its data folder first when it is missing."""
    parsed = parse_experiment(path)
    spec = parsed.spec
    if spec.artifacts is None and not spec.artifacts_dir.is_dir():
        from recctl.bootstrap import bootstrap

        console.print(f"[bold]No artifacts at {spec.artifacts_dir}[/]: bootstrapping "
                      f"{spec.data} (world, cold-start logs, training; runs once)")
        bootstrap(spec.data, console=console)
    else:
        warn_if_outdated(spec.data, console)
    return load_experiment(path)


def warn_if_outdated(data: Path, console: Console) -> None:
    """Say so when a bootstrap-made data folder predates a change of shipped defaults:
    it still serves, but its verdicts are not those a fresh clone gets (the README's)."""
    from recctl.bootstrap.build import outdated

    seed = outdated(data)
    if seed is not None:
        console.print(
            f"[yellow]Note[/]: {data} was built by `recctl bootstrap` before a change to the "
            "shipped world or training defaults (config/world.yml, config/train.yml or the "
            "code's), so its artifacts differ from a fresh build's. To rebuild it (about a "
            f"minute): `recctl bootstrap --out {data} --seed {seed}`, with the --config it "
            "was built with, if any.")


def simulate(loaded: LoadedExperiment, state: RunState | None, console: Console,
             targets: list[str] | None = None) -> dict[str, Any]:
    """Drive the experiment's simulated users through the running stack (or `targets`,
    any botify-compatible endpoints); returns a summary, saved as simulation.json in the
    run folder when there is one."""
    from recctl.sim.http_runner import run_http_simulation
    from recctl.sim.monitor import monitor_for
    from recctl.sim.rendering import render_summary
    from recctl.sim.user_model import load_user_model
    from recctl.sim.world_io import load_world

    sim = loaded.spec.simulation
    world_dir = loaded.spec.world_dir
    if not world_dir.is_dir():
        raise RecctlError(f"{loaded.path}: world folder {world_dir} does not exist",
                          f"run `recctl bootstrap --out {loaded.spec.data}` or point `world:` "
                          "at a folder made by `recctl world`")
    user_model = load_user_model(sim.user_model)
    world = load_world(world_dir, user_model)
    if state is not None:
        check_still_served(loaded, state)
    sharded = targets is None and state is not None and state.runtime == "ray"
    if targets is None:
        assert state is not None, "a run state or explicit targets are needed"
        targets = simulation_targets(state)
    monitor = monitor_for(loaded, world.n_users, console)
    if state is not None:  # replaced by the summary at the end: a run killed outright
        _mark_unfinished(state, sim.seed, UNFINISHED)  # (SIGKILL, out of memory) says so
    give_up = GiveUp(math.floor(sim.max_failed_fraction * sim.episodes * sim.days),
                     monitor.on_episode if monitor is not None else None)
    try:
        if sharded:  # (the shards run apart: no giving up early there)
            assert state is not None
            result = _sharded(loaded, state, console, monitor)
        else:
            result = run_http_simulation(
                world, user_model, targets, episodes=sim.episodes, days=sim.days,
                seed=sim.seed, concurrency=sim.concurrency, console=console,
                on_episode=give_up,
            )
    except BaseException as stopped:  # Ctrl-C, a lost node, a bug: the logs are partial
        if state is not None:  # a later fetch must know it (the verdict is then invalid)
            why = None if isinstance(stopped, KeyboardInterrupt) else (
                stopped.message if isinstance(stopped, RecctlError)
                else f"{type(stopped).__name__}: {stopped}")
            _mark_unfinished(state, sim.seed, f"it stopped on an error ({why})" if why else None)
        raise
    render_summary(result, console)
    summary = simulation_summary(result, sim.max_failed_fraction)
    if give_up.failed > give_up.allowed:
        summary["gave_up"] = True
        console.print(f"[bold red]Stopped after {give_up.failed:,} failed episodes[/]: more "
                      f"than simulation.max_failed_fraction allows for the whole run "
                      f"({give_up.allowed:,} of {sim.episodes * sim.days:,}), so no answer "
                      "could be valid; the last errors are above")
    if monitor is not None:
        summary["sequential"] = monitor.summary()
        if monitor.stop_reason:
            console.print(f"[bold]Sequential test: {monitor.stop_reason}[/]")
    if summary["failed_too_many"]:
        console.print(f"[bold red]{result.failed_episodes:,} of {result.episodes:,} episodes "
                      f"failed ({result.failed_fraction:.1%}), above "
                      f"simulation.max_failed_fraction ({sim.max_failed_fraction:.1%}): "
                      "this run's answer is not valid[/]")
    if state is not None:
        (state.path / "simulation.json").write_text(json.dumps(summary, indent=2))
        result.episode_frame().to_csv(state.path / EPISODES_FILE, index=False)
    return summary


class GiveUp:
    """The simulator's per-episode hook: stop starting episodes once more have failed than
    the whole run may (its answer can no longer be valid: with the service down, 10,000
    episodes would otherwise each wait out the retry window), else ask the monitor."""

    def __init__(self, allowed: int, monitor_hook: Any | None) -> None:
        self.allowed = allowed
        self.failed = 0
        self.monitor_hook = monitor_hook

    def __call__(self, user: int, session_time: float, steps: int, failed: bool) -> bool:
        self.failed += bool(failed)
        stop_for_monitor = bool(self.monitor_hook is not None
                                and self.monitor_hook(user, session_time, steps, failed))
        return self.failed > self.allowed or stop_for_monitor


UNFINISHED = ("it is still running, or it was killed before it could record its end "
              "(SIGKILL, out of memory)")


def _mark_unfinished(state: RunState, seed: int, why: str | None) -> None:
    """simulation.json saying the run's logs are partial (`why`: None for a Ctrl-C)."""
    partial: dict[str, Any] = {"seed": seed, "interrupted": True}
    if why:
        partial["error"] = why
    (state.path / "simulation.json").write_text(json.dumps(partial, indent=2))


def _sharded(loaded: LoadedExperiment, state: RunState, console: Console,
             monitor: Any) -> Any:
    """The Ray runtime's sharded simulation; the live monitor sees the episodes afterwards,
    in episode order (the shards cannot stop early together)."""
    from recctl.stack.ray_simulation import run_sharded_simulation

    if loaded.spec.simulation.stop_early:
        console.print("[yellow]simulation.stop_early is not applied on the Ray runtime[/]: "
                      "every planned episode runs; the sequential figures follow the run")
    result = run_sharded_simulation(loaded, state, console)
    if monitor is not None:
        for user, time_, steps, failed in zip(result.user.tolist(),
                                              result.session_time.tolist(),
                                              result.steps.tolist(), result.failed.tolist(),
                                              strict=True):
            monitor.on_episode(user, time_, steps, failed)
    return result


def simulation_summary(result: Any,
                       max_failed_fraction: float = DEFAULT_MAX_FAILED_FRACTION) -> dict[str, Any]:
    days = [
        {"day": d.day, "episodes": d.episodes, "failed": d.failed,
         "session_time": d.session_time.mean, "session_time_se": d.session_time.se,
         "steps": d.steps.mean, "steps_se": d.steps.se}
        for d in result.day_summaries()
    ]
    return {
        "seed": result.seed, "targets": result.targets, "episodes": result.episodes,
        "failed_episodes": result.failed_episodes, "acked_requests": result.acked_requests,
        "acked_by_replica": dict(result.acked_by_replica),
        "max_failed_fraction": max_failed_fraction,
        "failed_too_many": failed_too_many(result.failed_episodes, result.episodes,
                                           max_failed_fraction),
        "retried_requests": result.retried_requests, "busy_retries": result.busy_retries,
        "errors": result.errors[:5],
        "elapsed_seconds": round(result.elapsed_seconds, 3),
        "episodes_per_second": round(result.episodes_per_second, 1), "days": days,
    }


def report_dir_for(state: RunState) -> Path:
    return workspace_dir() / "reports" / state.experiment / state.run_id


def make_report(loaded: LoadedExperiment, run_dir: Path, out_dir: Path, console: Console) -> Any:
    from recctl.analysis.build import build_report
    from recctl.analysis.options import ReportOptions

    spec = loaded.spec.report
    options = ReportOptions.from_spec(
        spec, experiment=loaded.spec.name, expected_arms=loaded.spec.arm_list,
        pre_period=loaded.spec.pre_period_paths if spec.cuped is not False else None)
    report = build_report([run_dir], options)
    # After build_report, which imports them while it reads (recctl/analysis/build.py).
    from recctl.analysis.outputs import write_outputs
    from recctl.analysis.render_terminal import render_terminal

    if "terminal" in spec.outputs:
        render_terminal(report, console)
    write_outputs(report, out_dir, formats=[f for f in spec.outputs if f != "terminal"])
    return report


def run_experiment(path: Path, console: Console) -> RunOutcome:
    stages: dict[str, float] = {}
    started = time.perf_counter()
    loaded = ensure_data(path, console)
    stages["bootstrap"] = time.perf_counter() - started

    mark = time.perf_counter()
    state = stack_up(loaded, console)
    stages["up"] = time.perf_counter() - mark
    console.print(f"Stack up: run [bold]{state.run_id}[/], endpoint {state.endpoint}")
    runtime = runtime_for(state.runtime, loaded.spec.stack.docker_host)
    outcome = RunOutcome(state=state, stages=stages)
    fetch_failed = False
    try:
        mark = time.perf_counter()
        try:
            outcome.simulation = simulate(loaded, state, console)
        except KeyboardInterrupt:
            outcome.interrupted = True
            console.print("[yellow]Interrupted[/]: stopping the stack and fetching what was "
                          "logged")
        except RecctlError as error:  # e.g. a Ray node lost: keep what was logged
            outcome.simulation_error = error
            console.print(f"[bold red]The simulation stopped[/]: {error.message}\n"
                          "Fetching what was logged; the verdict will be marked invalid.",
                          highlight=False)
        stages["simulate"] = time.perf_counter() - mark
        mark = time.perf_counter()
        runtime.quiesce(state)
        extra = {"simulation": outcome.simulation,
                 "interrupted": outcome.interrupted or outcome.simulation_error is not None}
        try:
            outcome.fetched = fetch_run(state, runtime, extra_manifest=extra)
        except (RecctlError, OSError):
            fetch_failed = True
            raise
        episodes = state.path / EPISODES_FILE
        if episodes.is_file() and not (outcome.fetched.dest / EPISODES_FILE).exists():
            shutil.copyfile(episodes, outcome.fetched.dest / EPISODES_FILE)
        stages["fetch"] = time.perf_counter() - mark
    finally:
        mark = time.perf_counter()
        if fetch_failed:  # `down` would take the logs with it (Docker, Ray): keep them
            console.print(f"[yellow]The stack is stopped but kept[/] so that its logs can "
                          f"still be fetched: once the cause is fixed, `recctl fetch "
                          f"{path}`, then `recctl down {path}`", highlight=False)
        else:
            runtime.down(state)
        stages["down"] = time.perf_counter() - mark
    console.print(f"Fetched {outcome.fetched.lines:,} log lines -> {outcome.fetched.dest}")
    for warning in outcome.fetched.warnings():
        console.print(f"[bold yellow]Warning[/]: {warning}", highlight=False)
    if outcome.interrupted:
        raise KeyboardInterrupt
    mark = time.perf_counter()
    outcome.report_dir = report_dir_for(state)
    outcome.report = make_report(loaded, outcome.fetched.dest, outcome.report_dir, console)
    stages["report"] = time.perf_counter() - mark
    console.print(f"Report: {outcome.report_dir}")
    return outcome


def require_running(state: RunState) -> None:
    if state.stopped:
        raise RecctlError(f"run {state.run_id} of {state.experiment} was stopped",
                          "start a new one with `recctl up`")
