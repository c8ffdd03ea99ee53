"""What each world knob does to the verdicts: one knob moved at a time, the table measured.

    python bench/world_knobs.py [--knobs genres centre_norm ...] [--episodes 4000]
                                [--scale 0.5] [--json out.json]

For the shipped config/world.yml and for each knob set to a lower and a higher value (the
others at their defaults), it bootstraps a data folder (the shipped bootstrap with the
simulated traffic scaled by --scale, so a sweep takes minutes, not hours) and runs
experiments/all-recommenders.yml in-process (`recctl.bootstrap.ab_experiment`). It prints,
per setting, the random control's mean time per session and every arm's effect on it, then
the ordering. The figures quoted in config/world.yml come from this script.

Traffic scaled down trains weaker models than the default bootstrap, so compare rows with
the baseline row of the same sweep, not with the README's table.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from scipy import stats
from world_calibration import FIRST_TRACK, pointed_experiment, ratio_interval

from recctl.bootstrap import ab_experiment, bootstrap, load_bootstrap_config
from recctl.paths import config_file

ROOT = Path(__file__).resolve().parent.parent
# A lower and a higher value per knob: far enough from the default for an effect to show,
# close enough that the world stays one a course user would recognise.
SWEEP: dict[str, tuple[Any, Any]] = {
    "tracks": (25_000, 100_000),
    "users": (5_000, 20_000),
    "dim": (16, 64),
    "genres": (12, 48),
    "genre_zipf": (0.3, 1.0),
    "centre_norm": (1.8, 3.0),
    "artist_norm": (1.6, 2.8),
    "noise_norm": (1.2, 2.0),
    "artist_pareto_alpha": (0.9, 1.5),
    "artist_max_tracks": (100, 1_000),
    "interest_popularity_sigma": (0.5, 1.5),
    "consume_bias_range": ([0.0, 8.0], [0.0, 12.0]),
    "consume_sharpness_range": ([0.5, 1.0], [1.0, 3.0]),
    "sound_norm": (3.4, 4.5),
}


def measure(world: dict[str, Any], scale: float, episodes: int, seed: int,
            tmp: Path) -> dict[str, dict[str, float]]:
    """Bootstrap with `world` overrides and return each arm's session time, steps, effect."""
    shipped = yaml.safe_load(config_file("bootstrap.yml").read_text()) or {}
    sizes = {key: max(1, int(shipped[key] * scale))
             for key in ("cold_start_episodes", "episodes_per_day", "ab_episodes")}
    config = load_bootstrap_config(world=world, **sizes)
    data = tmp / "data"
    bootstrap(data, seed=seed, config=config, force=True, console=None)
    experiment, _ = pointed_experiment(ROOT / "experiments" / "all-recommenders.yml",
                                            data, tmp)
    rows = ab_experiment(experiment, episodes=episodes, seed=seed + 7)
    names = {key: short_name(spec) for key, spec in
             yaml.safe_load(experiment.read_text())["arms"].items()}
    z = float(stats.norm.ppf(0.975))
    control = rows["C"]
    out: dict[str, dict[str, float]] = {}
    for key, row in rows.items():
        row = {**row, "session_time": row["session_time"] + FIRST_TRACK}
        effect, low, high = (ratio_interval(row, {**control, "session_time":
                                                  control["session_time"] + FIRST_TRACK}, z)
                             if key != "C" else (0.0, 0.0, 0.0))
        out[names[key]] = {"session_time": row["session_time"], "effect": effect,
                            "low": low, "high": high}
    return out


def short_name(spec: dict[str, Any]) -> str:
    """An arm's name in the table: its artifact for list recommenders, else its type."""
    artifact = (spec.get("params") or {}).get("artifact")
    return artifact if spec["type"] in ("indexed", "contextual") and artifact else spec["type"]


def print_row(setting: str, arms: dict[str, dict[str, float]]) -> None:
    control = next(iter(arms.values()))
    effects = "  ".join(f"{v['effect']:+5.0%}" for v in list(arms.values())[1:])
    order = " < ".join(sorted(arms, key=lambda name: arms[name]["session_time"]))
    print(f"{setting:40s} {control['session_time']:6.2f}  {effects}   {order}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--knobs", nargs="*", default=list(SWEEP), choices=list(SWEEP),
                        help="knobs to move (none: the defaults only, e.g. with --seed to see "
                             "how much one build differs from another)")
    parser.add_argument("--episodes", type=int, default=4_000, help="episodes per arm")
    parser.add_argument("--scale", type=float, default=0.5,
                        help="share of the shipped bootstrap's simulated traffic")
    parser.add_argument("--seed", type=int, default=0, help="world and bootstrap seed")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    settings: list[tuple[str, dict[str, Any]]] = [("defaults", {})]
    for knob in args.knobs:
        settings += [(f"{knob}={value}", {knob: value}) for value in SWEEP[knob]]
    results: dict[str, Any] = {}
    header_done = False
    for name, world in settings:
        clock = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="world-knobs-") as tmp:
            arms = measure(world, args.scale, args.episodes, args.seed, Path(tmp))
        if not header_done:
            print("effect of each arm on the random control's mean time per session: "
                  + ", ".join(f"{n} {name}" for n, name in enumerate(list(arms)[1:], 1)))
            labels = "  ".join(str(n).rjust(5) for n in range(1, len(arms)))
            print(f"{'setting':40s} {'random':>6s}  {labels}   ordering (low to high)")
            header_done = True
        print_row(name, arms)
        results[name] = {"world": world, "arms": arms,
                         "seconds": round(time.perf_counter() - clock, 1)}
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
