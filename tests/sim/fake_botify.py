"""A small stand-in for the botify service, for the simulator's HTTP tests and benchmark.

Implements the HTTP API (`POST /next/{user}`, `POST /last/{user}`, `GET /`) and writes
one event-log line per answered request (flushed before answering). Recommenders:
`random` (uniform) or `hash` (a deterministic function of user and track, so two runs
that send the same requests get the same answers). `--die-after N` makes the process
exit hard when its N-th request arrives, without answering or logging it: a replica
dying mid-run (`--log-then-die`: it logs that request first, then dies unanswered: the
retry elsewhere logs it twice). `--busy N` answers its first N requests 503 with
`Retry-After: 1` (shedding load). It logs the `X-Request-Id` header as `request_id` and
names itself in `x-botify-replica` (`--name`). Prints "PORT <n>" on stdout once it listens.

    python tests/sim/fake_botify.py --tracks 1000 --log /tmp/r1/data.json [--port 0]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import orjson
from aiohttp import web


def hash_recommendation(user: int, track: int, tracks: int) -> int:
    """A fixed pseudo-random track for (user, track)."""
    x = (user * 1_000_003 + track * 7919 + 12345) & 0xFFFFFFFF
    x = (x ^ (x >> 16)) * 0x45D9F3B & 0xFFFFFFFF
    x = (x ^ (x >> 16)) * 0x45D9F3B & 0xFFFFFFFF
    return (x ^ (x >> 16)) % tracks


def build_app(tracks: int, mode: str, log_path: str, die_after: int, *,
              log_then_die: bool = False, busy: int = 0,
              name: str = "fake") -> web.Application:
    log = open(log_path, "ab")  # noqa: SIM115 (lives as long as the process)
    state = {"requests": 0}
    rng = random.Random(0)
    replica = {"x-botify-replica": name}

    async def handle(request: web.Request, message: str) -> web.Response:
        state["requests"] += 1
        dying = bool(die_after and state["requests"] >= die_after)
        if dying and not log_then_die:
            os._exit(17)
        if state["requests"] <= busy:
            return web.json_response({"error": "busy: try later"}, status=503,
                                     headers={**replica, "Retry-After": "1"})
        try:
            user = int(request.match_info["user"])
            body = orjson.loads(await request.read())
            track, listened = int(body["track"]), float(body["time"])
        except (ValueError, KeyError, TypeError, orjson.JSONDecodeError):
            return web.json_response({"error": "bad request"}, status=400)
        if message == "next":
            rec = (hash_recommendation(user, track, tracks) if mode == "hash"
                   else rng.randrange(tracks))
            answer = {"user": user, "track": rec}
        else:
            rec, answer = None, {"user": user}
        line = {"message": message, "timestamp": int(time.time() * 1000), "user": user,
                "track": track, "time": listened, "latency": 0.0, "recommendation": rec,
                "experiments": {}, "session": body.get("session"), "replica": name,
                "request_id": request.headers.get("X-Request-Id")}
        log.write(orjson.dumps(line) + b"\n")
        log.flush()
        if dying:
            os._exit(17)
        return web.json_response(answer, headers=replica)

    async def next_(request: web.Request) -> web.Response:
        return await handle(request, "next")

    async def last(request: web.Request) -> web.Response:
        return await handle(request, "last")

    async def root(request: web.Request) -> web.Response:
        return web.json_response({"status": "alive", "message": "fake botify"})

    app = web.Application()
    app.add_routes([web.get("/", root), web.post("/next/{user}", next_),
                    web.post("/last/{user}", last)])
    return app


async def serve(args: argparse.Namespace) -> None:
    runner = web.AppRunner(build_app(args.tracks, args.mode, args.log, args.die_after,
                                     log_then_die=args.log_then_die, busy=args.busy,
                                     name=args.name), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", args.port)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    sys.stdout.write(f"PORT {port}\n")
    sys.stdout.flush()
    await asyncio.Event().wait()


@dataclass
class FakeReplica:
    """A running fake botify process: its URL and its event log."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)


def start_fake_replica(log: Path, tracks: int, mode: str = "random", die_after: int = 0,
                       log_then_die: bool = False, busy: int = 0,
                       name: str = "fake", port: int = 0) -> FakeReplica:
    """Start this script as a process on a free loopback port; returns once it listens."""
    log.parent.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [sys.executable, __file__, "--tracks", str(tracks), "--log", str(log), "--mode", mode,
         "--die-after", str(die_after), "--busy", str(busy), "--name", name,
         "--port", str(port),
         *(["--log-then-die"] if log_then_die else [])], stdout=subprocess.PIPE)
    assert process.stdout is not None
    line = process.stdout.readline().decode()
    if not line.startswith("PORT "):
        process.kill()
        raise RuntimeError(f"fake botify did not start: {line!r}")
    return FakeReplica(process, f"http://127.0.0.1:{int(line.split()[1])}", log)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tracks", type=int, required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--mode", choices=("random", "hash"), default="random")
    parser.add_argument("--die-after", type=int, default=0)
    parser.add_argument("--log-then-die", action="store_true")
    parser.add_argument("--busy", type=int, default=0)
    parser.add_argument("--name", default="fake")
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
