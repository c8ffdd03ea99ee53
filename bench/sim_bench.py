"""Simulator throughput: in-process steps/s and HTTP episodes/s against a stand-in server.

    python bench/sim_bench.py [--tracks 50000] [--users 10000] [--episodes 50000]
                              [--http-episodes 2000] [--concurrency 64]

Prints figures; it is not a timed test. The end-to-end figure through a real replica
stack is measured with `recctl run`. For reference, the course's gym simulator runs
about 6,700 steps/s.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console

from recctl.sim.http_runner import run_http_simulation
from recctl.sim.inprocess import simulate_in_process
from recctl.sim.serving import random_policy
from recctl.sim.user_model import load_user_model
from recctl.sim.world import WorldParams, generate_world
from recctl.sim.world_io import save_world

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "sim"))
from fake_botify import start_fake_replica  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tracks", type=int, default=50_000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--episodes", type=int, default=50_000)
    parser.add_argument("--http-episodes", type=int, default=2_000)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()
    console = Console()
    model = load_user_model()

    started = time.perf_counter()
    world = generate_world(WorldParams(tracks=args.tracks, users=args.users), seed=0)
    generated = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        save_world(world, Path(tmp) / "world")
        saved = time.perf_counter() - started
        started = time.perf_counter()
        world.interest_neighbours(model.interest_neighbours)
        neighbours = time.perf_counter() - started
        console.print(f"world: {args.tracks:,} tracks, {args.users:,} users: generated in "
                      f"{generated:.2f} s, written in {saved:.2f} s; interest neighbours "
                      f"(first simulation only) {neighbours:.2f} s")

        policy = random_policy(world.n_tracks)
        plain = simulate_in_process(world, model, policy, episodes=args.episodes, seed=1)
        console.print(f"in-process, random policy: {args.episodes:,} episodes, "
                      f"{plain.total_steps:,} steps in {plain.elapsed_seconds:.2f} s = "
                      f"[bold]{plain.steps_per_second:,.0f} steps/s[/]; "
                      f"session time {plain.session_time.mean():.3f}")
        logged = simulate_in_process(world, model, policy, episodes=args.episodes, seed=1,
                                     log_path=Path(tmp) / "log" / "data.json",
                                     experiment="BENCH", arm_of=lambda u: ["C"] * len(u))
        console.print(f"in-process with event log: {logged.lines_written:,} lines, "
                      f"[bold]{logged.steps_per_second:,.0f} steps/s[/]")

        replicas = [start_fake_replica(Path(tmp) / f"r{i}" / "data.json", world.n_tracks)
                    for i in range(2)]
        try:
            result = run_http_simulation(world, model, [r.url for r in replicas],
                                         episodes=args.http_episodes, seed=1,
                                         concurrency=args.concurrency, console=console,
                                         progress=False)
        finally:
            for replica in replicas:
                replica.kill()
        console.print(f"HTTP, 2 stand-in replicas (aiohttp, random), concurrency "
                      f"{args.concurrency}: {result.episodes:,} episodes, "
                      f"{result.acked_requests:,} requests in {result.elapsed_seconds:.2f} s = "
                      f"[bold]{result.episodes_per_second:,.0f} episodes/s[/] "
                      f"({result.acked_requests / result.elapsed_seconds:,.0f} requests/s); "
                      f"failed {result.failed_episodes}")


if __name__ == "__main__":
    main()
