"""Benchmark `recctl train`: wall time and peak memory on about 200,000 events.

    python bench/train_bench.py [--events 200000] [--seed 0]

Writes logs of a random recommender on the default simulated world (recctl.sim, in
process; `--source synthetic` uses recctl.synthetic's learnable logs instead, 2 replicas with
rotated files), with the world's public tracks.json as the catalog, then runs the
training pipeline with the default config (offline evaluation and refit included) in a
child process, so the peak RSS measured is training's own. Targets: <= 60 s and <= 2 GB on 2 cores.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from recctl.synthetic import write_learnable_logs

CHILD = """
import sys, time
from rich.console import Console
from recctl.train.pipeline import train
started = time.perf_counter()
catalog = sys.argv[4] if len(sys.argv) > 4 else None
result = train([sys.argv[1]], sys.argv[2], seed=int(sys.argv[3]), catalog=catalog,
               console=Console(width=120))
print(f"TRAIN_SECONDS {time.perf_counter() - started:.2f}")
print("TIMINGS", {k: round(v, 2) for k, v in result.manifest["timings"].items()})
"""


def _sim_logs(root: Path, events: int, seed: int) -> Path:
    """Random-recommender traffic on the default world (about 7.2 lines an episode)."""
    from recctl.sim.inprocess import simulate_in_process
    from recctl.sim.serving import random_policy
    from recctl.sim.user_model import UserModel
    from recctl.sim.world_io import build_world, load_world_params

    world, _ = build_world(root / "world", load_world_params(), seed)
    simulate_in_process(
        world,
        UserModel(),
        random_policy(world.n_tracks),
        episodes=int(events / 7.2),
        seed=seed,
        log_path=root / "logs" / "data.json",
    )
    return root / "world" / "tracks.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--source", choices=("sim", "synthetic"), default="sim")
    args = parser.parse_args()
    steps = 8
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        clock = time.perf_counter()
        extra: list[str] = []
        if args.source == "sim":
            extra = [str(_sim_logs(root, args.events, args.seed))]
        else:
            write_learnable_logs(
                root / "logs",
                np.random.default_rng(args.seed),
                replicas=2,
                rotate_every=50_000,
                n_users=10_000,
                n_tracks=50_000,
                n_genres=24,
                n_sessions=args.events // steps,
                steps=steps,
            )
        print(f"wrote about {args.events:,} events in {time.perf_counter() - clock:.1f} s")
        clock = time.perf_counter()
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                CHILD,
                str(root / "logs"),
                str(root / "art"),
                str(args.seed),
                *extra,
            ],
            check=True,
        )
        wall = time.perf_counter() - clock
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"train wall time (child process, incl. interpreter start): {wall:.1f} s  (target <= 60 s)"
    )
    print(f"train peak RSS: {peak_mb:.0f} MB  (target <= 2048 MB)")
    assert done.returncode == 0


if __name__ == "__main__":
    main()
