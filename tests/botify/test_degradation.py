"""Under load and Redis faults a replica degrades (waits, or answers busy) but stays ready.

Real replica processes, real Redis, many concurrent loopback connections (aiohttp).
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis
from botify_fixtures import HEADLINE_ARMS, N_TRACKS, start_replica, wait_for, write_experiment
from http_client import Client

from recctl.assignment import assign
from recctl.eventlog import read_events
from recctl.stack.redis_server import RedisServer

# Users of the contextual_mod arm: each of their requests runs the state script in Redis.
STATEFUL_USERS = [u for u in range(2000) if assign(u, "svc_test", ["C", "T1"]) == "T1"]


async def _burst(url: str, requests: int, probes: int = 0) -> dict[str, Any]:
    """`requests` concurrent POST /next, each on its own connection, while /ready is
    polled `probes` times; returns the answers (status, body, headers) and probe statuses."""
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=30)) as session:
        async def one(i: int) -> tuple[int, Any, Any]:
            user = STATEFUL_USERS[i % len(STATEFUL_USERS)]
            async with session.post(f"{url}/next/{user}",
                                    json={"track": i % N_TRACKS, "time": 0.9}) as response:
                return response.status, await response.json(), response.headers

        async def probe() -> list[int]:
            statuses = []
            for _ in range(probes):
                async with session.get(f"{url}/ready") as response:
                    statuses.append(response.status)
                await asyncio.sleep(0.01)
            return statuses

        answers, ready = await asyncio.gather(
            asyncio.gather(*(one(i) for i in range(requests))), probe())
    return {"answers": answers, "ready": ready}


def burst(url: str, requests: int, probes: int = 0) -> dict[str, Any]:
    return asyncio.run(_burst(url, requests, probes))


def test_pool_exhaustion_waits_for_a_connection(replica_factory):
    # Two pooled connections for 200 concurrent requests: they queue, none is refused.
    replica = replica_factory(env={"RECCTL_REDIS_POOL": "2"})
    result = burst(replica.url, 200, probes=20)
    statuses = [status for status, _, _ in result["answers"]]
    assert statuses == [200] * 200, sorted(set(statuses))
    assert result["ready"] == [200] * 20
    assert Client(replica.url).request("GET", "/ready")[0] == 200
    assert replica.stop() in (0, -signal.SIGTERM)
    frame, _ = read_events([replica.log_dir])
    assert len(frame) == 200


def _assert_busy_but_ready(result: dict[str, Any], replica, reason: str) -> None:
    busy = [(body, headers) for status, body, headers in result["answers"] if status == 503]
    others = {status for status, _, _ in result["answers"]} - {503}
    # How many of the burst get through depends on the machine's load (on a loaded CI
    # machine, none did once): what must hold is that only 200 and 503 are answered...
    assert others <= {200}, others
    assert busy, "expected some requests to be shed"
    for body, headers in busy:
        assert body["error"].startswith("busy: ") and reason in body["error"], body
        assert int(headers["Retry-After"]) >= 1
        assert headers["x-botify-replica"] == "r1"
    assert result["ready"] and set(result["ready"]) == {200}
    client = Client(replica.url)
    assert client.request("GET", "/ready")[0] == 200
    # ...and that the replica serves again once the burst is over.
    assert client.request("POST", f"/next/{STATEFUL_USERS[0]}",
                          {"track": 1, "time": 0.9})[0] == 200
    assert "redis unreachable" not in replica.log_file.read_text()


def test_admission_limit_answers_busy_and_stays_ready(replica_factory):
    replica = replica_factory(env={"RECCTL_MAX_INFLIGHT": "3"})
    result = burst(replica.url, 200, probes=20)
    _assert_busy_but_ready(result, replica, "requests in flight")


def test_pool_wait_running_out_answers_busy_and_stays_ready(replica_factory):
    replica = replica_factory(env={"RECCTL_REDIS_POOL": "1", "RECCTL_REDIS_POOL_WAIT": "0.001"})
    result = burst(replica.url, 200, probes=20)
    _assert_busy_but_ready(result, replica, "Redis connections stayed busy")


def test_redis_restart_stale_connections_are_replaced(tmp_path: Path, artifacts_dir: Path):
    workdir = tmp_path / "redis"  # ours, so the restarted server reads the saved data
    server = RedisServer(workdir=workdir).start()
    replica = start_replica(tmp_path, write_experiment(tmp_path, HEADLINE_ARMS), artifacts_dir,
                            server.url)
    try:
        # Fill the pool with connections that the restart will leave stale.
        assert {status for status, _, _ in burst(replica.url, 60)["answers"]} == {200}
        redis.Redis.from_url(server.url).save()
        server.stop()
        server = RedisServer(port=server.port, workdir=workdir).start()
        client = Client(replica.url)
        wait_for(lambda: client.request("GET", "/ready")[0] == 200, timeout=5)
        statuses = [status for status, _, _ in burst(replica.url, 60)["answers"]]
        assert statuses == [200] * 60, sorted(set(statuses))
        client.close()
    finally:
        replica.kill()
        server.stop()


def test_a_log_write_the_disk_refuses_is_not_acknowledged_and_tears_no_line(replica):
    """A full disk under a replica, made real with a file-size limit on its process (the
    kernel then takes part of a write and refuses the rest, as on a full disk): the
    request gets a 503 (the simulator retries it elsewhere, same request id), the torn
    part is cut back, and once writes succeed again no acknowledged line is lost."""
    resource = pytest.importorskip("resource")
    if not hasattr(resource, "prlimit"):
        pytest.skip("resource.prlimit (Linux) sets a limit on another process")
    client = Client(replica.url)
    acked = [client.next(user, user % N_TRACKS, 0.5)[0] for user in range(5)]
    assert acked == [200] * 5
    log_file = replica.event_log
    size = log_file.stat().st_size
    soft, hard = resource.prlimit(replica.pid, resource.RLIMIT_FSIZE)
    # Room for half a line: the next write is torn, exactly what a full disk does.
    resource.prlimit(replica.pid, resource.RLIMIT_FSIZE, (size + 60, hard))
    try:
        refused = [client.next(user, 1, 0.5) for user in range(5, 8)]
    finally:
        resource.prlimit(replica.pid, resource.RLIMIT_FSIZE, (soft, hard))
    for status, body in refused:
        assert status == 503, (status, body)
        assert "event log cannot be written" in body["error"]
    assert log_file.stat().st_size == size and log_file.read_bytes().endswith(b"\n")
    # Room again: the next answers are logged whole, and the file reads back clean.
    again = [client.next(user, 2, 0.5)[0] for user in range(8, 11)]
    assert again == [200] * 3
    frame, summary = read_events([log_file])
    assert summary.malformed == 0
    assert len(frame) == 8 and sorted(frame["user"]) == [0, 1, 2, 3, 4, 8, 9, 10]
    client.close()
    service_log = replica.log_file.read_text()
    assert service_log.count("cannot write the event log") == 1  # once, not per request
    assert "is written again" in service_log
