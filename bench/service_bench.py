"""Benchmark one botify replica: throughput, latency, CPU per request, RSS, start-up.

Run:  python bench/service_bench.py [--duration 10] [--tracks 50000] [--users 10000]

It generates random artifacts (a 50,000-track catalog, 10,000 user lists of 100 tracks,
50,000 item-to-item lists of 100 tracks), starts a private Redis and one replica
(`python -m recctl.botify`, experiment: indexed vs contextual_mod), times start-up to
/ready, then drives POST /next with wrk (keep-alive, random users and tracks) at 1 and 8
connections. Service CPU per request is the replica's user+system CPU time over the run
divided by the requests wrk completed. Figures on a shared 2-core machine are noisy:
wrk and Redis share the cores with the service.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil
import yaml

from recctl.artifacts import ArtifactWriter
from recctl.stack.probes import free_port
from recctl.stack.redis_server import RedisServer
from recctl.stack.replica_process import ReplicaProcess

WRK_SCRIPT = """
math.randomseed(%(seed)d)
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  local user = math.random(0, %(users)d - 1)
  local track = math.random(0, %(tracks)d - 1)
  local body = string.format('{"track": %%d, "time": %%.3f}', track, math.random())
  return wrk.format(nil, "/next/" .. user, nil, body)
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%%d errors=%%d p50_us=%%d p99_us=%%d\\n",
    summary.requests, summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def make_artifacts(root: Path, tracks: int, users: int, list_len: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    with ArtifactWriter(root) as writer:
        writer.tracks({"track": t, "artist": f"artist-{t % 5000}", "title": f"title {t}"}
                      for t in range(tracks))
        writer.top_tracks(rng.permutation(tracks)[:1000].tolist())
        writer.user_lists("dssm", ((u, rng.integers(0, tracks, list_len).tolist())
                                   for u in range(users)))
        writer.item_lists("i2i", ((t, rng.integers(0, tracks, list_len).tolist())
                                  for t in range(tracks)))
        writer.finish(producer="bench", seed=seed)


def run_wrk(url: str, script: Path, connections: int, duration: int) -> dict[str, float]:
    threads = min(connections, 2)
    argv = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration}s",
            "-s", str(script), url]
    out = subprocess.run(argv, capture_output=True, text=True, check=True)
    match = re.search(r"RESULT requests=(\d+) errors=(\d+) p50_us=(\d+) p99_us=(\d+)", out.stdout)
    if match is None:
        raise RuntimeError(f"wrk printed no result:\n{out.stdout}\n{out.stderr}")
    requests, errors, p50, p99 = (int(g) for g in match.groups())
    return {"requests": requests, "errors": errors, "rps": requests / duration,
            "p50_ms": p50 / 1000, "p99_ms": p99 / 1000}


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--tracks", type=int, default=50_000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--list-len", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")

    work = Path(tempfile.mkdtemp(prefix="recctl-bench-"))
    started = time.perf_counter()
    make_artifacts(work / "artifacts", args.tracks, args.users, args.list_len, args.seed)
    print(f"artifacts: {args.tracks} tracks, {args.users} user lists and {args.tracks} i2i lists "
          f"of {args.list_len} in {time.perf_counter() - started:.1f} s")
    experiment = work / "bench.yml"
    experiment.write_text(yaml.safe_dump({"name": "bench", "arms": {
        "C": {"type": "indexed", "params": {"artifact": "dssm"}, "fallback": {"type": "top_pop"}},
        "T1": {"type": "contextual_mod", "params": {"i2i": "i2i", "user_list": "dssm"},
               "fallback": {"type": "top_pop"}}}}))
    script = work / "next.lua"
    script.write_text(WRK_SCRIPT % {"seed": args.seed, "users": args.users, "tracks": args.tracks})

    with RedisServer() as server:
        port = free_port()
        url = f"http://127.0.0.1:{port}"

        def replica(name: str) -> ReplicaProcess:
            return ReplicaProcess(name=name, experiment=experiment, artifacts=work / "artifacts",
                                  port=port, redis_url=server.url, log_dir=work / name,
                                  service_log=work / f"{name}.out", ready_timeout=60)

        started = time.perf_counter()
        with replica("bench") as process:
            print(f"start-up to /ready (cold Redis, loads everything): "
                  f"{time.perf_counter() - started:.2f} s")
            service = psutil.Process(process.pid)
            for connections in (1, 8):
                before = service.cpu_times()
                figures = run_wrk(url, script, connections, args.duration)
                after = service.cpu_times()
                user = after.user - before.user
                system = after.system - before.system
                requests = max(figures["requests"], 1)
                per_request = 1000 * (user + system) / requests
                print(f"{connections} keep-alive connection(s): {figures['rps']:,.0f} req/s, "
                      f"p50 {figures['p50_ms']:.2f} ms, p99 {figures['p99_ms']:.2f} ms, "
                      f"service CPU {per_request:.3f} ms/request "
                      f"(user {1000 * user / requests:.3f}, kernel {1000 * system / requests:.3f}),"
                      f" errors {figures['errors']}")
            print(f"peak RSS of the replica: {peak_rss_mb(process.pid or 0):.0f} MB")
        # A second replica against the warm Redis: the skip-loading path.
        started = time.perf_counter()
        with replica("bench2"):
            print(f"start-up to /ready (artifacts already in Redis): "
                  f"{time.perf_counter() - started:.2f} s")
    print(f"cores: {os.cpu_count()} (shared with other work; figures are noisy)")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
