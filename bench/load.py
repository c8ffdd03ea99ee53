"""Load on a whole stack: POST /next at 8 / 64 / 256 / 1,024 keep-alive connections.

Run:  python bench/load.py [EXPERIMENT] [--data FOLDER] [--duration 10]
                           [--levels 8,64,256,1024] [--balancers nginx,client]

For each balancer it brings up the experiment's stack with the local runtime (`recctl up`
as a library call, RECCTL_HOME in a temporary folder, so nothing lands in the project),
then drives the endpoint with wrk: each request posts `{"track": T, "time": 0.5}` to
`/next/U`, U uniform in [0, 9999], T uniform over the catalogue. `nginx` goes through
nginx; `client` uses the endpoint the stack prints without nginx. It prints req/s, p50,
p99, non-2xx answers, socket errors and the replicas' CPU per request at each level, and
whether throughput at the highest level is within 80% of the lowest.

Targets (issue 11): 0 non-2xx at every level; throughput at 1,024 connections >= 80% of
the 8-connection figure. The exit code is 1 when a target is missed. Figures on a shared
machine are noisy (wrk, nginx, Redis and the replicas share the cores): run it on a quiet
machine for the README.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import psutil
import yaml
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
USERS = 10_000
TARGET_RATIO = 0.8

WRK_SCRIPT = """
math.randomseed(%(seed)d)
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
%(catalogue)s
request = function()
  local user = math.random(0, %(users)d - 1)
  local track = draw_track()
  return wrk.format(nil, "/next/" .. user, nil,
                    string.format('{"track": %%d, "time": 0.5}', track))
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%%d non2xx=%%d socket=%%d p50_us=%%d p99_us=%%d duration_us=%%d\\n",
    summary.requests, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), summary.duration))
end
"""
# A catalogue of ids lo..hi is drawn from directly; any other is written out as a table.
RANGE_DRAW = "draw_track = function() return math.random(%d, %d) end"
TABLE_DRAW = ("local tracks = {%s}\n"
              "draw_track = function() return tracks[math.random(1, #tracks)] end")
RESULT = re.compile(r"RESULT requests=(\d+) non2xx=(\d+) socket=(\d+) p50_us=(\d+) "
                    r"p99_us=(\d+) duration_us=(\d+)")


def experiment_copy(source: Path, data: Path | None, balancer: str, folder: Path) -> Path:
    """The experiment file with `data:` made absolute and `stack.balancer` set."""
    body = yaml.safe_load(source.read_text())
    if data is None:
        data = (source.parent / body.get("data", "data/default")).resolve()
    body["data"] = str(data)
    body.pop("artifacts", None)
    body.setdefault("stack", {}).update(balancer=balancer, runtime="local")
    path = folder / f"{balancer}-{source.name}"
    path.write_text(yaml.safe_dump(body))
    return path


def run_wrk(url: str, script: Path, connections: int, seconds: float) -> dict[str, float]:
    argv = ["wrk", "-t", str(min(connections, 2)), "-c", str(connections),
            "-d", f"{seconds:g}s", "--timeout", "10s", "-s", str(script), url]
    out = subprocess.run(argv, capture_output=True, text=True, check=False)
    match = RESULT.search(out.stdout)
    if match is None:
        raise RuntimeError(f"wrk printed no result (exit {out.returncode}):\n"
                           f"{out.stdout}\n{out.stderr}")
    requests, non2xx, socket_errors, p50, p99, duration = (int(g) for g in match.groups())
    return {"requests": requests, "non2xx": non2xx, "socket": socket_errors,
            "rps": requests / (duration / 1e6), "p50_ms": p50 / 1000, "p99_ms": p99 / 1000}


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def measure(experiment: Path, levels: list[int], seconds: float, script: Path,
            console: Console) -> tuple[str, list[dict[str, float]]]:
    from recctl.spec import load_experiment
    from recctl.stack.lifecycle import stack_down, stack_up

    loaded = load_experiment(experiment)
    quiet = Console(quiet=True)
    state = stack_up(loaded, quiet)
    rows = []
    try:
        url = state.endpoint or state.replica_urls[0]
        pids = [r.pid for r in state.replicas if r.pid]
        console.print(f"[bold]{state.balancer}[/]: {url} ({len(pids)} replicas)")
        run_wrk(url, script, min(levels), 1)  # warm-up: caches, pooled connections
        for connections in levels:
            before = cpu_seconds(pids)
            figures = run_wrk(url, script, connections, seconds)
            used = cpu_seconds(pids) - before
            figures["cpu_ms"] = 1000 * used / max(figures["requests"], 1)
            figures["connections"] = connections
            rows.append(figures)
            console.print(f"  {connections:>5} connections: {figures['rps']:,.0f} req/s, "
                          f"non-2xx {figures['non2xx']}, socket errors {figures['socket']}")
    finally:
        stack_down(loaded.spec.name)
    return state.balancer, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiment", nargs="?", type=Path,
                        default=ROOT / "experiments" / "contextualmod-vs-dssm.yml")
    parser.add_argument("--data", type=Path, default=None,
                        help="the data folder (bootstrap output) instead of the file's `data:`")
    parser.add_argument("--duration", type=float, default=10, help="seconds per level")
    parser.add_argument("--levels", default="8,64,256,1024",
                        help="comma-separated connection counts")
    parser.add_argument("--balancers", default="nginx,client",
                        help="nginx (through nginx) and/or client (the endpoint without nginx)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")
    levels = sorted(int(x) for x in args.levels.split(","))
    balancers = [b.strip() for b in args.balancers.split(",") if b.strip()]
    console = Console(width=max(Console().width, 110))

    work = Path(tempfile.mkdtemp(prefix="recctl-load-"))
    os.environ["RECCTL_HOME"] = str(work / "home")  # run state and logs stay in `work`
    try:
        from recctl.artifacts import ArtifactSet
        from recctl.spec import load_experiment

        first = load_experiment(experiment_copy(args.experiment.resolve(), args.data,
                                                balancers[0], work))
        tracks = [row["track"] for row in ArtifactSet(first.spec.artifacts_dir).tracks()]
        script = work / "next.lua"
        contiguous = sorted(tracks) == list(range(min(tracks), min(tracks) + len(tracks)))
        catalogue = (RANGE_DRAW % (min(tracks), max(tracks)) if contiguous
                     else TABLE_DRAW % ",".join(map(str, tracks)))
        script.write_text(WRK_SCRIPT % {"seed": args.seed, "users": USERS,
                                        "catalogue": catalogue})
        results = {}
        for balancer in balancers:
            path = experiment_copy(args.experiment.resolve(), args.data, balancer, work)
            used, rows = measure(path, levels, args.duration, script, console)
            results[f"{balancer} ({used})" if used != balancer else balancer] = rows
    finally:
        shutil.rmtree(work, ignore_errors=True)

    table = Table(title=f"POST /next, {args.duration:g} s per level, {len(tracks):,} tracks, "
                        f"{USERS:,} users")
    for column in ("endpoint", "connections", "req/s", "p50 ms", "p99 ms", "non-2xx",
                   "socket errors", "replica CPU ms/req"):
        table.add_column(column, justify="left" if column == "endpoint" else "right")
    missed = []
    for name, rows in results.items():
        for row in rows:
            table.add_row(name, f"{row['connections']:,}", f"{row['rps']:,.0f}",
                          f"{row['p50_ms']:.1f}", f"{row['p99_ms']:.1f}",
                          f"{row['non2xx']:,}", f"{row['socket']:,}", f"{row['cpu_ms']:.3f}")
            if row["non2xx"] or row["socket"]:
                missed.append(f"{name}: {row['non2xx']} non-2xx and {row['socket']} socket "
                              f"errors at {row['connections']} connections")
        low, high = rows[0], rows[-1]
        ratio = high["rps"] / low["rps"] if low["rps"] else 0.0
        verdict = "yes" if ratio >= TARGET_RATIO else "NO"
        table.add_section()
        console.print(f"{name}: {high['connections']:,} connections give {ratio:.0%} of the "
                      f"{low['connections']} figure (>= {TARGET_RATIO:.0%}: {verdict})")
        if ratio < TARGET_RATIO:
            missed.append(f"{name}: throughput at {high['connections']} connections is "
                          f"{ratio:.0%} of {low['connections']}")
    console.print(table)
    console.print(f"cores: {os.cpu_count()}; wrk, nginx, Redis and the replicas share them")
    if missed:
        for line in missed:
            console.print(f"[red]TARGET MISSED[/] {line}")
        sys.exit(1)


if __name__ == "__main__":
    from recctl.errors import RecctlError

    try:
        main()
    except RecctlError as exc:  # a missing data folder, nginx not installed, ...
        sys.exit(f"Error: {exc.message}" + (f"\nhint: {exc.hint}" if exc.hint else ""))
