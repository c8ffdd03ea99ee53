"""Benchmark `recctl bootstrap` with the default config: wall time per stage and the
in-process A/B of the recommenders it trained.

    python bench/bootstrap_bench.py [--seed 0] [--out DIR]

Target: <= 60 s wall on 2 cores for the default world (issue 15).
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

from rich.console import Console

from recctl.bootstrap import bootstrap


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp) / "bootstrap"
        clock = time.perf_counter()
        result = bootstrap(out, seed=args.seed, force=True, console=Console())
        wall = time.perf_counter() - clock
        manifest = result.manifest
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(f"bootstrap wall time: {wall:.1f} s  (target <= 60 s), CPU of the whole process "
          f"{usage.ru_utime + usage.ru_stime:.1f} s (user {usage.ru_utime:.1f} + sys "
          f"{usage.ru_stime:.1f}), load average at the end {os.getloadavg()[0]:.2f}")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    print("stages done at (s):", {k: round(v, 1) for k, v in manifest["timings"].items()})
    for day in manifest["days"]:
        times = {k: round(v, 3) for k, v in day["session_time"].items()}
        print(
            f"day {day['day']}: {day['episodes']:,} episodes, {day['lines']:,} lines, "
            f"{day['seconds']:.1f} s, session time by arm {times}"
        )
        if "timings" in day:
            print("   seconds:", {k: round(v, 1) for k, v in day["timings"].items()})
    print("in-process A/B on the final artifacts (mean session time ± s.e., steps):")
    for name, row in manifest["in_process_ab"].items():
        print(
            f"  {name:15s} {row['session_time']:.3f} ± {row['session_time_se']:.3f}  "
            f"steps {row['steps']:.2f}"
        )


if __name__ == "__main__":
    main()
