"""Benchmark: `recctl report` on 1,000,000 events across 2 replicas (not a timed test).

    python bench/report_bench.py [--events 1000000] [--keep DIR]

Generates the logs (untimed), then runs the report (read, sessions, metrics, tests,
Markdown/JSON/CSV/PNG outputs) in a fresh child process and prints its wall time and peak
RSS (ru_maxrss of the child, so the interpreter and imports are included). Targets:
<= 5 s and <= 500 MB on 2 cores.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import sys, time
t0 = time.perf_counter()
from recctl.analysis import build_report, write_outputs
t1 = time.perf_counter()
from recctl.eventlog import read_events
report = build_report([sys.argv[1]])
t2 = time.perf_counter()
write_outputs(report, sys.argv[2])
t3 = time.perf_counter()
print(f"imports {t1 - t0:.2f} s, read+analyse {t2 - t1:.2f} s, outputs {t3 - t2:.2f} s")
print(f"events {report.read.lines:,}, users {len(report.users):,}, files {len(report.read.files)}")
# VmHWM: this process's own peak RSS. (ru_maxrss would include the parent's pages that a
# vfork-ed child saw before exec.)
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1]
print(f"PEAK_KB {hwm}")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, default=None, help="write the logs here and keep them")
    args = parser.parse_args()
    from recctl.synthetic import generate_events, write_logs

    folder = args.keep or Path(tempfile.mkdtemp(prefix="recctl-bench-"))
    started = time.perf_counter()
    users = max(100, int(args.events / 14.5))  # ~15 events a user; cut to size below
    events = generate_events(users, seed=1, effects={"T1": 0.03})
    events = events.iloc[: args.events]
    files = write_logs(events, folder, replicas=2, rotate_lines=200_000)
    size = sum(f.stat().st_size for f in files) / 1e6
    print(f"generated {len(events):,} events (sessions cut at the end stay unclosed), "
          f"{len(files)} files, {size:.0f} MB "
          f"in {time.perf_counter() - started:.1f} s (not timed)")

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    child = subprocess.run([sys.executable, "-c", CHILD, str(folder), str(folder / "report")],
                           check=True, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    lines = child.stdout.splitlines()
    print("\n".join(line for line in lines if not line.startswith("PEAK_KB")))
    peak_mb = int(next(line for line in lines if line.startswith("PEAK_KB")).split()[1]) / 1024
    print(f"report: wall {wall:.2f} s, cpu {cpu:.2f} s, peak RSS {peak_mb:.0f} MB "
          f"(targets 5 s, 500 MB)")


if __name__ == "__main__":
    main()
