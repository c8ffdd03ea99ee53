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
        main_cpu = time.thread_time()
        result = bootstrap(out, seed=args.seed, force=True, console=Console())
        wall = time.perf_counter() - clock
        main_cpu = time.thread_time() - main_cpu
        manifest = result.manifest
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(f"bootstrap wall time: {wall:.1f} s  (target <= 60 s), CPU of the whole process "
          f"{usage.ru_utime + usage.ru_stime:.1f} s (user {usage.ru_utime:.1f} + sys "
          f"{usage.ru_stime:.1f}), load average at the end {os.getloadavg()[0]:.2f}")
    # The critical path: what the wall time would be on two idle cores. The main thread's
    # CPU, where each day's fit waits for the second thread's LFM and scoring if longer.
    days = [d.get("timings", {}) for d in manifest["days"]]
    waits = sum(max(0.0, t.get("cpu_second_thread", 0) - t.get("cpu_main_thread", 0))
                for t in days)
    print(f"main thread CPU {main_cpu:.1f} s + waits for the second thread {waits:.1f} s "
          f"= critical path {main_cpu + waits:.1f} s (the wall time on 2 idle cores)")
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
