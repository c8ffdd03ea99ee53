"""Recommenders run two ways: in-process steps/s per built-in chain, and the CPU cost of
one service request's recommender part (request key + pick).

    python bench/recommenders_bench.py [--data data/default] [--episodes 10000]

Prints figures; it is not a timed test. Reads a bootstrapped data folder (world and
artifacts). The in-process figure includes the user model; the per-request figure
excludes Redis and HTTP (the service's store reads add their round trips). Before the
recommenders ran two ways (per-request random.Random seeded by mmh3) the same pick took
about 24 us on the same machine; now about 9 us.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from recctl.bootstrap.config import default_ab_arms
from recctl.recommenders import MemoryStore, Query, Recommender, UserState, build_chain
from recctl.recommenders.draws import request_key
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
    # The service's CPU per request for the recommender part: the key and one pick from a
    # 100-track list with 30 of them heard (heard as Redis returns them, bytes).
    candidates = tuple(range(1000, 1100))
    state = UserState(heard={b"%d" % t for t in range(1000, 1030)})
    recommender = Recommender(None, store, 0)
    started = time.perf_counter()
    for i in range(args.requests):
        key = request_key(1, f"s{i}", 5, i, 0.5)
        recommender.pick(candidates, Query(5, i, 0.5, state, key))
    per = (time.perf_counter() - started) / args.requests * 1e6
    print(f"service path, request key + one pick (100 candidates, 30 heard): {per:.1f} us")

if __name__ == "__main__":
    main()
