"""Recommenders run two ways: in-process steps/s per built-in chain, and the CPU cost of
one service request's recommender part (key + chain on an in-memory store).

    python bench/recommenders_bench.py [--data data/default] [--episodes 10000]

Prints figures; it is not a timed test. Reads a bootstrapped data folder (world and
artifacts). The in-process figure includes the user model; the per-request figure
excludes Redis and HTTP (the service's own store reads add their round trips).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from pathlib import Path

import numpy as np

from recctl.bootstrap.config import default_ab_arms
from recctl.recommenders import MemoryStore, build_chain
from recctl.recommenders.draws import request_key
from recctl.recommenders.state import UserStates
from recctl.sim.inprocess import simulate_in_process
from recctl.sim.serving import ChainPolicy
from recctl.sim.user_model import load_user_model
from recctl.sim.world_io import load_world


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("data/default"))
    parser.add_argument("--episodes", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=20_000)
    args = parser.parse_args()
    model = load_user_model()
    world = load_world(args.data / "world", model)
    store = MemoryStore.from_artifacts(args.data / "artifacts")
    arms = default_ab_arms(0.7)
    print(f"in-process, {args.episodes:,} episodes per arm (day 100000, seed 0):")
    for name, spec in arms.items():
        policy = ChainPolicy([build_chain(spec, store)])
        result = simulate_in_process(world, model, policy, episodes=args.episodes, seed=0,
                                     day=100_000)
        print(f"  {name:15s} {result.steps_per_second:12,.0f} steps/s   "
              f"session time {result.session_time.mean():.3f}")
    print(f"one request's recommender part, {args.requests:,} requests (scalar path):")
    rng = random.Random(0)
    for name in ("random", "dssm", "contextual_mod"):
        chain = build_chain(arms[name], store)
        store.state = UserStates(len(store.track_artist))
        requests = [(rng.randrange(world.n_users), rng.randrange(world.n_tracks),
                     rng.choice([0.2, 0.8, 1.0])) for _ in range(args.requests)]

        async def run(chain=chain, requests=requests) -> None:  # noqa: ANN001
            for i, (user, track, time_) in enumerate(requests):
                await chain.answer(user, track, time_, request_key(1, f"s{i}", user, track,
                                                                   time_))

        started = time.perf_counter()
        asyncio.run(run())
        per = (time.perf_counter() - started) / args.requests * 1e6
        print(f"  {name:15s} {per:8.1f} us/request (key + state + chain, MemoryStore)")
    started = time.perf_counter()
    for i in range(args.requests):
        request_key(1, f"s{i}", 5, 7, 0.5)
    per = (time.perf_counter() - started) / args.requests * 1e6
    print(f"  request_key alone {per:.2f} us; numpy {np.__version__}")


if __name__ == "__main__":
    main()
