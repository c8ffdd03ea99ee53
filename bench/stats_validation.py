"""Do the report's statistics keep their promises? Hundreds of simulated experiments.

    python bench/stats_validation.py [--data DIR] [--replicates 400] [--power-replicates 200]
                                     [--quick]

Uses the in-process simulator (recctl.sim.inprocess) on a bootstrapped data folder (world,
artifacts, and the bootstrap logs as CUPED's pre-period; read only). Every replicate has
its own seed and experiment name (so its own user split). Per-user metrics are the
report's definitions computed from the simulator's episodes (a session's time counts the
first track's 1.0, as the event log does), and the tests are the report's own
(compare_arms, the CUPED adjustment, check_srm, the sequential monitor).

Checks (figures for the README):
- A/A false-positive rate on the primary metric (>= 400 replicates): without CUPED, with
  CUPED, and with a look every 500 episodes under the sequential test (plus what naive
  peeking with the fixed-horizon interval would give, for contrast).
- Coverage of the headline (delta-method) interval at a true +5% and +50% effect, made by
  scaling the treatment users' listen times in the A/A replicates.
- `recctl plan` for a 5% effect: the promised power against the observed one.
- CUPED: interval width on the headline experiment (contextual_mod vs dssm).
- SRM: how often a 10% (and 5%) loss of one arm's users is warned (p < 0.01) or flagged.
Rates come with Wilson 95% intervals. --quick runs few replicates to check it works.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table
from scipy import stats as ss
from statsmodels.stats.proportion import proportion_confint

from recctl.analysis.adjustment import CupedAdjustment
from recctl.analysis.compare import compare_arms
from recctl.analysis.loading import load_events
from recctl.analysis.metrics import user_metrics
from recctl.analysis.plan import plan_experiment
from recctl.analysis.preperiod import load_pre_period
from recctl.artifacts import ArtifactSet
from recctl.assignment import assign
from recctl.bootstrap.config import default_arms
from recctl.recommenders import MemoryStore, build_chain
from recctl.sim.inprocess import InProcessResult, simulate_in_process
from recctl.sim.monitor import SequentialMonitor
from recctl.sim.serving import ChainPolicy
from recctl.sim.user_model import UserModel, load_user_model
from recctl.sim.world import World
from recctl.sim.world_io import load_world
from recctl.stats.settings import ReportSettings
from recctl.stats.srm import check_srm

PRIMARY = "mean_time_per_session"
ARMS = ["C", "T1"]
DAY = 500  # a day index no bootstrap day used


@dataclass
class Setup:
    world: World
    model: UserModel
    store: MemoryStore  # the artifacts
    arms: dict[str, Any]  # "dssm" (both arms of the A/A), "contextual_mod" (the headline's T1)

    def policy(self, *names: str, arm_of: Any = None) -> ChainPolicy:
        """A fresh policy (fresh user state) serving the named arms."""
        return ChainPolicy([build_chain(self.arms[n], self.store) for n in names], arm_of)
    pre: pd.DataFrame  # pre-period user metrics (the bootstrap logs)
    alpha: float
    episodes: int


@dataclass
class Rates:
    """Counts of events over replicates, printed as rates with a Wilson interval."""

    hits: dict[str, int] = field(default_factory=dict)
    trials: dict[str, int] = field(default_factory=dict)
    values: dict[str, list[float]] = field(default_factory=dict)

    def count(self, name: str, hit: bool) -> None:
        self.hits[name] = self.hits.get(name, 0) + int(hit)
        self.trials[name] = self.trials.get(name, 0) + 1

    def add(self, name: str, value: float) -> None:
        self.values.setdefault(name, []).append(value)

    def rate(self, name: str) -> tuple[float, float, float, int]:
        hits, n = self.hits.get(name, 0), self.trials.get(name, 0)
        low, high = proportion_confint(hits, n, alpha=0.05, method="wilson") if n else (0, 0)
        return (hits / n if n else float("nan")), float(low), float(high), n


def load_setup(data: Path, alpha: float, episodes: int, console: Console) -> Setup:
    started = time.perf_counter()
    model = load_user_model()
    world = load_world(data / "world", model)
    store = MemoryStore.from_artifacts(ArtifactSet(data / "artifacts"))
    pre = load_pre_period([data / "logs"]).users
    console.print(f"loaded {data}: {world.n_users:,} users, {world.n_tracks:,} tracks, "
                  f"pre-period of {len(pre):,} users in {time.perf_counter() - started:.0f} s")
    return Setup(world=world, model=model, store=store, arms=default_arms(0.7), pre=pre,
                 alpha=alpha, episodes=episodes)


def arms_of(users: np.ndarray, experiment: str) -> np.ndarray:
    return np.array([assign(int(u), experiment, ARMS) for u in users])


def users_frame(result: InProcessResult, n_users: int, experiment: str) -> pd.DataFrame:
    """The report's user-level metrics from the episodes (log time = 1.0 + session_time)."""
    time_ = np.bincount(result.users, weights=result.session_time + 1.0, minlength=n_users)
    tracks = np.bincount(result.users, weights=result.steps + 1.0, minlength=n_users)
    sessions = np.bincount(result.users, minlength=n_users)
    seen = np.flatnonzero(sessions)
    frame = pd.DataFrame({
        "arm": pd.Categorical(arms_of(seen, experiment), categories=ARMS),
        "time": time_[seen], "sessions": sessions[seen],
        "mean_time_per_session": time_[seen] / sessions[seen],
        "mean_tracks_per_session": tracks[seen] / sessions[seen]}, index=seen)
    frame.index.name = "user"
    return frame


def primary_row(users: pd.DataFrame, setup: Setup, cuped: bool) -> pd.Series:
    """The report's primary-metric row (one treatment arm: its family is that one test)."""
    settings = ReportSettings(alpha=setup.alpha, primary_metric=PRIMARY)
    adjust = (CupedAdjustment(users, setup.pre, ARMS, [PRIMARY], setup.alpha)
              if cuped else None)
    table = compare_arms(users, ARMS, "C", [PRIMARY], settings, adjust=adjust)
    return table.iloc[0]


def scaled(users: pd.DataFrame, effect: float) -> pd.DataFrame:
    """The treatment users' listen times x (1 + effect): a known true relative effect."""
    out = users.copy()
    rows = (out["arm"] == "T1").to_numpy()
    for column in ("time", "mean_time_per_session"):
        out.loc[rows, column] = out.loc[rows, column] * (1 + effect)
    return out


def covers(row: pd.Series, effect: float) -> tuple[bool, bool]:
    """(delta interval covers, course Welch interval covers) the true effect in %."""
    truth = effect * 100
    return (bool(row["delta_lower"] <= truth <= row["delta_upper"]),
            bool(row["welch_lower"] <= truth <= row["welch_upper"]))


def peeking(result: InProcessResult, setup: Setup, experiment: str,
            every: int) -> tuple[bool, bool]:
    """(sequential test rejected at some look, naive fixed-horizon test rejected)."""
    monitor = SequentialMonitor(experiment=experiment, arms=ARMS, n_users=setup.world.n_users,
                                planned_episodes=setup.episodes, alpha=setup.alpha,
                                peek_every=every)
    z = ss.norm.ppf(1 - setup.alpha / 2)
    sequential = naive = False
    for start in range(0, len(result.users), every):
        part = slice(start, start + every)
        monitor.add(result.users[part], result.session_time[part], result.steps[part])
        peek = monitor.peek()
        sequential |= peek.conclusive
        value, arm = monitor.values()
        c, t = value[arm == 0], value[arm == 1]
        if len(c) > 1 and len(t) > 1:
            ratio = t.mean() / c.mean() - 1
            se = np.sqrt(t.var(ddof=1) / (len(t) * c.mean() ** 2)
                         + t.mean() ** 2 * c.var(ddof=1) / (len(c) * c.mean() ** 4))
            naive |= bool(abs(ratio) > z * se)
    return sequential, naive


def srm_hits(users: pd.DataFrame, loss: float) -> tuple[bool, bool]:
    """(warned: p < 0.01, flagged: p < 0.001) after losing a share `loss` of T1's users."""
    counts = users["arm"].value_counts()
    lost = round(loss * int(counts["T1"]))
    p = check_srm([int(counts["C"]), int(counts["T1"]) - lost]).p_value
    return p < 0.01, p < 0.001


def run_aa(setup: Setup, replicates: int, console: Console, rates: Rates,
           first: int = 0) -> None:
    """A/A replicates: false positives, coverage by injection, peeking, SRM."""
    started = time.perf_counter()
    for r in range(first, first + replicates):
        experiment = f"aa-validation-{r}"
        result = simulate_in_process(setup.world, setup.model, setup.policy("dssm"),
                                     episodes=setup.episodes, seed=10_000 + r, day=DAY)
        users = users_frame(result, setup.world.n_users, experiment)
        for cuped in (False, True):
            tag = "cuped" if cuped else "raw"
            row = primary_row(users, setup, cuped)
            rates.count(f"aa_{tag}", bool(row["significant"]))
            rates.count(f"aa_{tag}_interval", not covers(row, 0.0)[0])
            rates.add(f"width_aa_{tag}", float(row["delta_upper"] - row["delta_lower"]))
            for effect in (0.05, 0.5):
                delta_ok, welch_ok = covers(primary_row(scaled(users, effect), setup, cuped),
                                            effect)
                rates.count(f"cover_{tag}_{effect}", delta_ok)
                rates.count(f"cover_welch_{tag}_{effect}", welch_ok)
        sequential, naive = peeking(result, setup, experiment, 500)
        rates.count("aa_sequential", sequential)
        rates.count("aa_naive_peeking", naive)
        for loss in (0.0, 0.05, 0.10):
            warned, flagged = srm_hits(users, loss)
            rates.count(f"srm_warn_{loss}", warned)
            rates.count(f"srm_flag_{loss}", flagged)
        rates.add("users", float(len(users)))
        if (r + 1 - first) % max(replicates // 10, 1) == 0:
            console.print(f"  A/A {r + 1 - first}/{replicates} "
                          f"({time.perf_counter() - started:.0f} s)")


def headline_widths(setup: Setup, seeds: int, rates: Rates) -> None:
    """The headline experiment (contextual_mod vs dssm): delta interval width, CUPED/raw."""
    for s in range(seeds):
        experiment = "contextualmod_vs_dssm"
        arm_table = np.array([ARMS.index(assign(u, experiment, ARMS))
                              for u in range(setup.world.n_users)])
        policy = setup.policy("dssm", "contextual_mod",
                              arm_of=lambda users, _episodes, table=arm_table: table[users])
        result = simulate_in_process(setup.world, setup.model, policy, episodes=setup.episodes,
                                     seed=42 + s, day=0)
        users = users_frame(result, setup.world.n_users, experiment)
        raw, adjusted = primary_row(users, setup, False), primary_row(users, setup, True)
        rates.add("headline_width_ratio", float((adjusted["delta_upper"] - adjusted["delta_lower"])
                                                / (raw["delta_upper"] - raw["delta_lower"])))
        rates.add("headline_effect_raw", float(raw["effect"]))
        rates.add("headline_effect_cuped", float(adjusted["effect"]))
        rates.add("headline_variance_reduction", float(adjusted["variance_reduction"]))


def plan_check(setup: Setup, replicates: int, console: Console, rates: Rates,
               pilot_episodes: int) -> dict[str, float]:
    """Plan a 5% effect from a pilot (the report's reader on its logs), then measure."""
    with tempfile.TemporaryDirectory() as tmp:
        simulate_in_process(setup.world, setup.model, setup.policy("dssm"), episodes=pilot_episodes,
                            seed=7, day=DAY + 1, log_path=Path(tmp) / "data.json",
                            experiment="pilot",
                            arm_of=lambda us: [assign(int(u), "pilot", ARMS) for u in us])
        events, _ = load_events([tmp])
    pilot_users, _ = user_metrics(events, "exp:pilot")
    cuped_plan = plan_experiment(events, pilot_users, "C", [PRIMARY], 5.0, setup.world.n_users,
                                 2, setup.alpha, 0.8, pre=setup.pre).iloc[0]
    episodes = (int(cuped_plan["episodes_total"]) if cuped_plan["detectable"]
                else 3 * setup.episodes)
    raw_plan = plan_experiment(events, pilot_users, "C", [PRIMARY], 5.0, setup.world.n_users,
                               2, setup.alpha, 0.8, episodes=episodes).iloc[0]
    promised = {"episodes": float(episodes), "raw": float(raw_plan["power_at_episodes"]),
                "raw_detectable": float(raw_plan["detectable"]),
                "raw_max": float(raw_plan["max_power"]),
                "cuped": float(cuped_plan["power"]) if cuped_plan["detectable"] else float("nan")}
    console.print(f"  plan from a {pilot_episodes:,}-episode pilot: CUPED needs "
                  f"{episodes:,} episodes for 80%; without CUPED "
                  f"{'detectable' if raw_plan['detectable'] else 'not detectable'} "
                  f"(max {raw_plan['max_power']:.1%}), {raw_plan['power_at_episodes']:.1%} "
                  f"at {episodes:,}")
    started = time.perf_counter()
    for r in range(replicates):
        experiment = f"power-validation-{r}"
        result = simulate_in_process(setup.world, setup.model, setup.policy("dssm"),
                                     episodes=episodes, seed=50_000 + r, day=DAY)
        users = scaled(users_frame(result, setup.world.n_users, experiment), 0.05)
        for tag, cuped in (("raw", False), ("cuped", True)):
            row = primary_row(users, setup, cuped)
            rates.count(f"power_{tag}", bool(row["significant"]))
            rates.count(f"power_{tag}_delta", bool(row["delta_lower"] > 0
                                                   or row["delta_upper"] < 0))
        if (r + 1) % max(replicates // 5, 1) == 0:
            console.print(f"  power {r + 1}/{replicates} ({time.perf_counter() - started:.0f} s)")
    return promised


def report(rates: Rates, promised: dict[str, float], alpha: float, console: Console) -> int:
    table = Table(title="Statistics validation (in-process simulation)")
    for column in ("check", "measured", "Wilson 95%", "n", "target", "ok"):
        table.add_column(column, justify="left" if column in ("check", "target") else "right")
    failures = 0

    def rate_row(label: str, name: str, target: str, ok: Callable[[float, float, float], bool]
                 ) -> None:
        nonlocal failures
        value, low, high, n = rates.rate(name)
        if n == 0:
            return
        passed = ok(value, low, high)
        failures += not passed
        table.add_row(label, f"{value:.1%}", f"[{low:.1%}, {high:.1%}]", str(n), target,
                      "[green]yes[/]" if passed else "[red]NO[/]")

    n_aa = rates.rate("aa_raw")[3]
    band = ss.binom.interval(0.95, max(n_aa, 1), alpha)
    low_band, high_band = band[0] / max(n_aa, 1), band[1] / max(n_aa, 1)
    within = f"within [{low_band:.1%}, {high_band:.1%}]"

    def in_band(v: float, lo: float, hi: float) -> bool:
        return low_band <= v <= high_band

    rate_row("A/A false positives, primary", "aa_raw", within, in_band)
    rate_row("A/A false positives, primary, CUPED", "aa_cuped", within, in_band)
    rate_row("A/A, sequential test, a look every 500 episodes", "aa_sequential",
             f"<= {alpha:.0%} (upper band {high_band:.1%})", lambda v, lo, hi: v <= high_band)
    rate_row("A/A, naive peeking (fixed interval every 500)", "aa_naive_peeking",
             "(for contrast: inflated)", lambda v, lo, hi: True)
    for tag, label in (("raw", ""), ("cuped", ", CUPED")):
        for effect in (0.05, 0.5):
            rate_row(f"coverage at +{effect:.0%}, delta interval{label}",
                     f"cover_{tag}_{effect}", "93.5%-96.5%",
                     lambda v, lo, hi: 0.935 <= v <= 0.965)
            rate_row(f"coverage at +{effect:.0%}, course Welch interval{label}",
                     f"cover_welch_{tag}_{effect}", "(for contrast)", lambda v, lo, hi: True)
    if promised:
        for tag, label in (("raw", "no CUPED"), ("cuped", "CUPED")):
            target = promised[tag]
            if target != target:
                continue
            for suffix, how in (("", "report's sig"), ("_delta", "delta interval excludes 0")):
                rate_row(f"power at +5%, {promised['episodes']:,.0f} episodes, {label} "
                         f"({how})", f"power_{tag}{suffix}", f"plan: {target:.1%} +- 5 pts",
                         lambda v, lo, hi, t=target: abs(v - t) <= 0.05)
    users = np.mean(rates.values.get("users", [float("nan")]))
    for loss in (0.10, 0.05, 0.0):
        rate_row(f"SRM warned (p<0.01), {loss:.0%} of T1 lost, ~{users:,.0f} users",
                 f"srm_warn_{loss}", ">= 90%" if loss == 0.10 else "(beyond any test)"
                 if loss == 0.05 else "false alarms ~1%",
                 (lambda v, lo, hi: v >= 0.9) if loss == 0.10 else (lambda v, lo, hi: True))
        rate_row(f"SRM flagged (p<0.001), {loss:.0%} of T1 lost", f"srm_flag_{loss}", "",
                 lambda v, lo, hi: True)
    console.print(table)

    ratios = rates.values.get("headline_width_ratio", [])
    if ratios:
        narrower = 1 - float(np.mean(ratios))
        ok = narrower >= 0.15
        failures += not ok
        console.print(
            f"CUPED on the headline experiment (contextual_mod vs dssm, {len(ratios)} seed(s)): "
            f"delta interval {narrower:.1%} narrower (target >= 15%: "
            f"{'[green]yes[/]' if ok else '[red]NO[/]'}); variance reduction "
            f"{np.mean(rates.values['headline_variance_reduction']):.1%}; effect "
            f"{np.mean(rates.values['headline_effect_raw']):+.2f}% raw, "
            f"{np.mean(rates.values['headline_effect_cuped']):+.2f}% adjusted")
    for tag in ("raw", "cuped"):
        widths = rates.values.get(f"width_aa_{tag}")
        if widths:
            console.print(f"A/A mean delta interval width, {tag}: {np.mean(widths):.2f} points")
    if "raw_max" in promised:
        console.print(f"plan without CUPED: max power for +5% at any number of episodes "
                      f"{promised['raw_max']:.1%}"
                      + (" (not detectable at 80% in this world)"
                         if not promised["raw_detectable"] else ""))
    for loss in (0.05, 0.10) if users == users else ():  # only after the A/A replicates
        # Losing `loss` of one arm moves each arm's count ~loss x users / 4 from the
        # expected half; the split's own noise has sd sqrt(users) / 2.
        shift = loss * users / 4 / (np.sqrt(users) / 2)
        console.print(f"A {loss:.0%} loss of one arm's users at ~{users:,.0f} users moves the "
                      f"split by {shift:.1f} sd of its own noise; a test at p<0.01 needs 2.6 sd"
                      + (" in most runs: beyond any test at this size." if shift < 2.6 else "."))
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("/work/main/data/default"),
                        help="a bootstrapped data folder (world/, artifacts/, logs/)")
    parser.add_argument("--replicates", type=int, default=400, help="A/A replicates")
    parser.add_argument("--power-replicates", type=int, default=200)
    parser.add_argument("--headline-seeds", type=int, default=5)
    parser.add_argument("--episodes", type=int, default=10_000,
                        help="episodes per replicate (the headline experiment's)")
    parser.add_argument("--pilot-episodes", type=int, default=30_000)
    parser.add_argument("--alpha", type=float, default=0.05)
    parser.add_argument("--first-replicate", type=int, default=0,
                        help="number of the first A/A replicate (its seed and name): another "
                             "batch of new replicates to pool with an earlier run's")
    parser.add_argument("--quick", action="store_true",
                        help="few replicates (40 A/A, 20 power, 1 headline seed): does it "
                             "work? (its pass/fail marks are noise at that size)")
    parser.add_argument("--skip", action="append", default=[], choices=["aa", "power", "headline"])
    args = parser.parse_args()
    if args.quick:
        args.replicates, args.power_replicates, args.headline_seeds = 40, 20, 1
    console = Console(width=150)
    for sub in ("world", "artifacts", "logs"):
        if not (args.data / sub).is_dir():
            console.print(f"[red]{args.data / sub} is missing[/]: pass --data with a folder "
                          "made by `recctl bootstrap`")
            return 2
    started = time.perf_counter()
    setup = load_setup(args.data, args.alpha, args.episodes, console)
    rates = Rates()
    promised: dict[str, float] = {}
    if "headline" not in args.skip:
        headline_widths(setup, args.headline_seeds, rates)
    if "aa" not in args.skip:
        run_aa(setup, args.replicates, console, rates, args.first_replicate)
    if "power" not in args.skip:
        promised = plan_check(setup, args.power_replicates, console, rates, args.pilot_episodes)
    failures = report(rates, promised, args.alpha, console)
    console.print(f"done in {time.perf_counter() - started:.0f} s; "
                  f"{failures} check(s) outside their target")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
