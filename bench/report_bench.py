"""Benchmark: `recctl report` on N events across 2 replicas, per engine (not a timed test).

    python bench/report_bench.py [--events 1000000] [--engine both|memory|duckdb]
                                 [--cache DIR]

Generates the logs once into a cache folder (reused by later runs with the same
--events; not timed), then runs the report (read, sessions, metrics, tests, Markdown/
JSON/CSV/PNG outputs) in a fresh child process per engine and prints its wall time and
peak RSS (the child's VmHWM, so the interpreter and imports are included) and CPU time.
The wall time is the whole child's, from the interpreter's start: what a user's script
pays. The child imports as such a script does (`from recctl.analysis import
build_report, write_outputs`), which loads only what comes before the read: with the
duckdb engine, build_report imports the statistics and matplotlib while DuckDB reads
(recctl/analysis/build.py), so the child's "imports" figure is the part before the read
and "read+analyse" includes the rest of the imports.
Targets: memory engine <= 5 s and <= 500 MB on 1M events; duckdb engine <= 30 s and
<= 1 GB on 20M events, on 2 cores.

The logs are heavy-tailed synthetic traffic (recctl.synthetic's model), one
million events at a time with disjoint users, written as the service writes them (the
lines are checked against recctl.eventlog.dumps_event(make_event(...))), one rotated
file (~120 MB) per replica per million events. Generating needs DuckDB (the writer).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CHUNK_EVENTS = 1_000_000
REPLICAS = 2
EXPERIMENT = "EXP"

CHILD = """
import sys, time
t0 = time.perf_counter()
from recctl.analysis import build_report, write_outputs
t1 = time.perf_counter()
report = build_report([sys.argv[1]], engine=sys.argv[3])
t2 = time.perf_counter()
write_outputs(report, sys.argv[2])
t3 = time.perf_counter()
print(f"imports {t1 - t0:.2f} s, read+analyse {t2 - t1:.2f} s, outputs {t3 - t2:.2f} s")
print(f"events {report.read.lines:,}, users {len(report.users):,}, "
      f"files {len(report.read.files)}, engine {report.engine}")
primary = report.primary.iloc[0]
print(f"primary {primary.metric}: {primary.arm} {primary.effect:+.3f}% p={primary.p_value:.4g}")
# VmHWM: this process's own peak RSS. (ru_maxrss would include the parent's pages that a
# vfork-ed child saw before exec.)
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1]
print(f"PEAK_KB {hwm}")
"""


# One chunk's lines for one replica, as the service writes them (make_event's key order,
# then the extras). DuckDB's JSON writer is ~4x faster than Python f-strings here; the
# bytes are checked against recctl.eventlog.dumps_event(make_event(...)) below.
_COPY = """
COPY (SELECT message, timestamp_us // 1000 AS "timestamp", timestamp_us, "user", track,
             "time", latency,
             CASE WHEN recommendation < 0 THEN NULL ELSE recommendation END AS recommendation,
             {{'{experiment}': arm}} AS experiments, concat("user", '-', session) AS session,
             concat('replica-', replica) AS replica,
             concat('{chunk}-', number) AS request_id
      FROM chunk WHERE replica = {replica} ORDER BY number)
TO '{path}' (FORMAT json)
"""


def _check_format(path: Path, events: object, replica: int) -> None:
    """The first lines written are byte for byte what the service's writer would log."""
    from recctl.eventlog import dumps_event, make_event

    rows = events[events["replica"] == replica].head(50)  # type: ignore[index]
    with open(path, "rb") as handle:
        for row in rows.itertuples():
            line = handle.readline()
            expected = dumps_event(make_event(
                row.message, row.timestamp_us, row.user, row.track, row.time, row.latency,
                None if row.recommendation < 0 else row.recommendation, {EXPERIMENT: row.arm},
                session=f"{row.user}-{row.session}", replica=f"replica-{replica}",
                request_id=line.split(b'"request_id":"')[1][:-3].decode()))
            if line != expected:
                raise SystemExit(f"generated line differs from the log format:\n{line!r}\n"
                                 f"{expected!r}")


def generate(folder: Path, total: int) -> None:
    """`total` events in REPLICAS replica folders, one rotated file per replica per
    million events (oldest first)."""
    import duckdb

    from recctl.synthetic import generate_events

    con = duckdb.connect(config={"memory_limit": "1GB"})
    con.execute("SET enable_progress_bar = false")
    parts: dict[int, list[Path]] = {r: [] for r in range(REPLICAS)}
    written, chunk = 0, 0
    while written < total:
        # ~1.03M events per 71k users; cut to size. Users of each chunk are disjoint.
        events = generate_events(71_000, seed=chunk, experiment=EXPERIMENT,
                                 effects={"T1": 0.03}).iloc[:min(CHUNK_EVENTS, total - written)]
        events = events.assign(
            user=events["user"] + chunk * 10**8,
            latency=np.maximum(events["latency"], 0.0005),  # no 1e-05 notation
            replica=np.random.default_rng(chunk).integers(0, REPLICAS, len(events)),
            number=np.arange(len(events)),
            message=events["message"].astype("category"), arm=events["arm"].astype("category"))
        con.register("chunk", events)
        for r in range(REPLICAS):
            path = folder / f"replica-{r}" / f"part-{chunk:05d}"
            path.parent.mkdir(parents=True, exist_ok=True)
            con.execute(_COPY.format(experiment=EXPERIMENT, chunk=chunk, replica=r, path=path))
            _check_format(path, events, r)
            parts[r].append(path)
        con.unregister("chunk")
        written += len(events)
        chunk += 1
        print(f"  generated {written:,} events", end="\r", flush=True)
    con.close()
    for r in range(REPLICAS):
        # Rotated names: the newest part is data.json, older ones data.json.1, .2, ...
        for age, part in enumerate(reversed(parts[r])):
            part.rename(part.with_name("data.json" if age == 0 else f"data.json.{age}"))
    print()


def ensure_logs(cache: Path, total: int) -> Path:
    folder = cache / f"events-{total}"
    done = folder / "COMPLETE"
    if done.is_file():
        return folder
    started = time.perf_counter()
    if folder.exists():
        import shutil

        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    generate(folder, total)
    done.write_text(f"{total}\n")
    print(f"generated {total:,} events in {time.perf_counter() - started:.0f} s (not timed)")
    return folder


def run(folder: Path, engine: str) -> dict[str, str]:
    out = Path(tempfile.mkdtemp(prefix="recctl-bench-report-"))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    child = subprocess.run([sys.executable, "-c", CHILD, str(folder), str(out), engine],
                           capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # CPU seconds: on a busy shared machine, CPU / cores bounds the wall time it would
    # take alone (the wall time includes waiting for the other jobs).
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    if child.returncode:
        raise SystemExit(f"{engine}: the report failed\n{child.stderr[-3000:]}")
    lines = child.stdout.splitlines()
    peak_mb = int(next(line for line in lines if line.startswith("PEAK_KB")).split()[1]) / 1024
    return {"engine": engine, "wall": f"{wall:.1f} s", "cpu": f"{cpu:.1f} s",
            "peak RSS": f"{peak_mb:.0f} MB",
            "details": "; ".join(line for line in lines if not line.startswith("PEAK_KB"))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--engine", choices=["both", "memory", "duckdb"], default="both")
    parser.add_argument("--cache", type=Path,
                        default=Path(tempfile.gettempdir()) / "recctl-report-bench",
                        help="where generated logs are kept and reused")
    args = parser.parse_args()
    folder = ensure_logs(args.cache, args.events)
    files = [p for p in folder.rglob("data.json*")]
    size = sum(p.stat().st_size for p in files)
    load = os.getloadavg()[0]
    print(f"{args.events:,} events, {len(files)} files, {size / 1e6:,.0f} MB; "
          f"{os.cpu_count()} cores, load average {load:.1f} before the runs")
    engines = ["memory", "duckdb"] if args.engine == "both" else [args.engine]
    results = [run(folder, engine) for engine in engines]
    print(f"{'engine':<8} {'wall':>8} {'cpu':>8} {'peak RSS':>10}")
    for result in results:
        print(f"{result['engine']:<8} {result['wall']:>8} {result['cpu']:>8} "
              f"{result['peak RSS']:>10}")
    for result in results:
        print(f"  {result['engine']}: {result['details']}")
    print(f"load average {os.getloadavg()[0]:.1f} after the runs")


if __name__ == "__main__":
    main()
