"""Simulator throughput: in-process steps/s and HTTP episodes/s against two real replicas.

    python bench/sim_bench.py [--tracks 50000] [--users 10000] [--episodes 50000]
                              [--http-episodes 2000] [--concurrency 64]

Prints figures; it is not a timed test. The end-to-end figure through a real replica
stack is measured with `recctl run`. For reference, the course's gym simulator runs
about 6,700 steps/s.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import yaml
from rich.console import Console

from recctl.artifacts import ArtifactWriter
from recctl.sim.http_runner import run_http_simulation
from recctl.sim.inprocess import simulate_in_process
from recctl.sim.serving import random_policy
from recctl.sim.user_model import load_user_model
from recctl.sim.world import World, WorldParams, generate_world
from recctl.sim.world_io import save_world
from recctl.stack.redis_server import RedisServer
from recctl.stack.replica_process import ReplicaProcess


def start_replicas(world: World, folder: Path, redis_url: str) -> list[ReplicaProcess]:
    """Two botify replicas serving a random arm over the world's catalog."""
    with ArtifactWriter(folder / "artifacts") as writer:
        writer.tracks({"track": t, "artist": world.artist_names[a], "title": world.titles[t]}
                      for t, a in enumerate(world.track_artist.tolist()))
        writer.finish(producer="bench")
    experiment = folder / "bench.yml"
    experiment.write_text(yaml.safe_dump({"name": "bench", "artifacts": str(folder / "artifacts"),
                                          "arms": {"C": {"type": "random"}}}))
    replicas = [ReplicaProcess(name=f"r{i}", experiment=experiment, redis_url=redis_url,
                               log_dir=folder / f"r{i}" / "logs",
                               service_log=folder / f"r{i}" / "service.log", seed=1)
                for i in range(2)]
    for replica in replicas:
        replica.spawn()
    try:
        for replica in replicas:
            replica.wait_ready()
    except BaseException:
        for replica in replicas:
            replica.stop()
        raise
    return replicas


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

        with RedisServer() as redis_server:
            replicas = start_replicas(world, Path(tmp), redis_server.url)
            try:
                result = run_http_simulation(world, model, [r.url for r in replicas],
                                             episodes=args.http_episodes, seed=1,
                                             concurrency=args.concurrency, console=console,
                                             progress=False)
            finally:
                for replica in replicas:
                    replica.stop()
        console.print(f"HTTP, 2 real replicas (botify, random arm), concurrency "
                      f"{args.concurrency}: {result.episodes:,} episodes, "
                      f"{result.acked_requests:,} requests in {result.elapsed_seconds:.2f} s = "
                      f"[bold]{result.episodes_per_second:,.0f} episodes/s[/] "
                      f"({result.acked_requests / result.elapsed_seconds:,.0f} requests/s); "
                      f"failed {result.failed_episodes}")


if __name__ == "__main__":
    main()
