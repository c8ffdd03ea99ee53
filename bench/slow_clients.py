"""Slow and hostile clients against one replica, over real sockets.

Run:  python bench/slow_clients.py [--half-sent 2000] [--idle 1500] [--fd-limit 1024]

1. `--half-sent` connections each send half a request's headers and stall: how long until
   the replica has closed every one (issue 11: 2,000 were held 40 s), and does a normal
   request still get answered meanwhile?
2. `--idle` connections that send nothing, against a replica started with `--fd-limit`
   open files (fewer than the connections): how many it accepts and refuses, whether
   normal requests and /ready still work (issue 11: 20,000 idle connections exhausted the
   descriptors), and how long until they are reaped.
3. A WebSocket upgrade: the status it gets (issue 11: 500).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from recctl.artifacts import ArtifactWriter
from recctl.stack.probes import free_port, http_ok, poll
from recctl.stack.redis_server import RedisServer

HALF = b"POST /next/1 HTTP/1.1\r\nHost: bench\r\nContent-Le"
POST = (b"POST /next/7 HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
        b"Content-Length: 25\r\n\r\n{\"track\": 3, \"time\": 0.5}")
UPGRADE = (b"GET / HTTP/1.1\r\nHost: bench\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")


def make_artifacts(root: Path) -> None:
    with ArtifactWriter(root) as writer:
        writer.tracks({"track": t, "artist": f"a{t % 50}", "title": f"t{t}"} for t in range(1000))
        writer.top_tracks(list(range(100)))
        writer.user_lists("dssm", ((u, [(u + k) % 1000 for k in range(20)]) for u in range(1000)))
        writer.finish(producer="bench")


async def status_of(port: int, request: bytes, timeout: float = 10) -> str:
    """The status code the replica answers `request` with, or what went wrong."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 5)
        writer.write(request)
        line = await asyncio.wait_for(reader.readline(), timeout)
        writer.close()
        return line.split()[1].decode() if line else "closed"
    except (OSError, asyncio.TimeoutError) as exc:
        return type(exc).__name__


async def held_until_closed(port: int, payload: bytes) -> float | None:
    """Open, send `payload`, and return the seconds until the server closes (None: refused)."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return None
    started = time.monotonic()
    if payload:
        writer.write(payload)
    with contextlib.suppress(OSError, asyncio.TimeoutError):
        await asyncio.wait_for(reader.read(), 120)
    writer.close()
    return time.monotonic() - started


async def crowd(port: int, count: int, payload: bytes) -> tuple[list[float | None], list[str]]:
    """`count` stalled connections, and normal requests sent every second meanwhile."""
    tasks = [asyncio.create_task(held_until_closed(port, payload)) for _ in range(count)]
    normal = []
    while not all(task.done() for task in tasks):
        await asyncio.sleep(1)
        normal.append(await status_of(port, POST))
        normal.append("ready " + await status_of(port, b"GET /ready HTTP/1.1\r\nHost: b\r\n\r\n"))
    return [task.result() for task in tasks], normal


def start_replica(work: Path, redis_url: str, fd_limit: int | None) -> tuple[subprocess.Popen, int]:
    port = free_port()
    argv = [sys.executable, "-m", "recctl.botify", "--experiment", str(work / "exp.yml"),
            "--artifacts", str(work / "artifacts"), "--port", str(port), "--redis", redis_url,
            "--replica", "bench", "--log-dir", str(work / f"logs-{port}")]

    def limit() -> None:
        if fd_limit:
            resource.setrlimit(resource.RLIMIT_NOFILE, (fd_limit, fd_limit))

    with open(work / f"replica-{port}.log", "wb") as output:
        process = subprocess.Popen(argv, stdout=output, stderr=subprocess.STDOUT,
                                   preexec_fn=limit)  # noqa: PLW1509 (no threads yet)
    poll(lambda: http_ok(f"http://127.0.0.1:{port}/ready"), timeout=60, what="replica")
    return process, port


def log_problems(work: Path) -> str:
    """What the replicas' logs say went wrong: descriptor exhaustion, errors, tracebacks."""
    text = "".join(p.read_text(errors="replace") for p in work.glob("replica-*.log"))
    return (f"'Too many open files' {text.count('Too many open files')}, "
            f"ERROR lines {text.count(' ERROR ')}, tracebacks {text.count('Traceback')}")


def summary(label: str, held: list[float | None], normal: list[str]) -> None:
    closed = [h for h in held if h is not None]
    refused = len(held) - len(closed)
    longest = max(closed) if closed else float("nan")
    print(f"{label}: {len(closed)} accepted, {refused} refused at connect; all closed by the "
          f"replica after {longest:.1f} s at most")
    counts: dict[str, int] = {}
    for answer in normal:
        counts[answer] = counts.get(answer, 0) + 1
    print(f"  normal requests meanwhile: {counts}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--half-sent", type=int, default=2000)
    parser.add_argument("--idle", type=int, default=1500)
    parser.add_argument("--fd-limit", type=int, default=1024)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="recctl-slow-"))
    make_artifacts(work / "artifacts")
    (work / "exp.yml").write_text(yaml.safe_dump({"name": "slow", "arms": {
        "C": {"type": "indexed", "params": {"artifact": "dssm"}, "fallback": {"type": "top_pop"}},
        "T1": {"type": "random"}}}))
    with RedisServer() as server:
        process, port = start_replica(work, server.url, None)
        try:
            held, normal = asyncio.run(crowd(port, args.half_sent, HALF))
            summary(f"{args.half_sent} half-sent requests", held, normal)
            print(f"WebSocket upgrade: {asyncio.run(status_of(port, UPGRADE))}")
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(30)
        process, port = start_replica(work, server.url, args.fd_limit)
        try:
            held, normal = asyncio.run(crowd(port, args.idle, b""))
            summary(f"{args.idle} idle connections, replica limited to {args.fd_limit} "
                    "open files", held, normal)
            print(f"  afterwards: {asyncio.run(status_of(port, POST))}")
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(30)
    print(f"replica logs: {log_problems(work)}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
