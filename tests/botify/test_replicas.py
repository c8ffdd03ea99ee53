"""Replicas as processes: graceful stop, Redis outages, shared state, load once, CLI."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time

import redis
from botify_fixtures import HEADLINE_ARMS, N_TRACKS, start_replica, wait_for, write_experiment
from http_client import Client

from recctl.eventlog import read_events
from recctl.stack.redis_server import RedisServer


def test_sigterm_leaves_every_answered_request_on_disk(replica):
    answered = [0] * 4

    def hammer(k: int) -> None:
        client = Client(replica.url)
        for i in range(150):
            status, _ = client.next(k * 1000 + i % 13, i % N_TRACKS, 0.5, session=f"s{k}")
            assert status == 200
            answered[k] += 1
        client.close()

    threads = [threading.Thread(target=hammer, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert replica.stop() in (0, -signal.SIGTERM)
    frame, summary = read_events([replica.log_dir])
    assert summary.malformed == 0
    assert len(frame) == sum(answered) == 600
    assert set(frame["replica"]) == {"r1"} and set(frame["session"]) == {"s0", "s1", "s2", "s3"}
    assert frame["latency"].between(0, 1).all() and (frame["recommendation"] >= 0).all()
    assert set(frame["exp:svc_test"]) == {"C", "T1"}


def test_redis_outage_gives_503_then_recovers_by_itself(tmp_path, artifacts_dir):
    server = RedisServer().start()
    port = server.port
    replica = start_replica(tmp_path, write_experiment(tmp_path, HEADLINE_ARMS), artifacts_dir,
                            server.url)
    client = Client(replica.url)
    try:
        assert client.next(1, 3, 0.9)[0] == 200
        server.stop()
        status, body = client.next(1, 3, 0.9)
        assert status == 503 and "error" in body
        assert client.request("GET", "/ready")[0] == 503
        assert client.request("GET", "/health")[0] == 200  # alive, just not ready
        server = RedisServer(port=port).start()  # a new, empty Redis on the same port
        wait_for(lambda: client.request("GET", "/ready")[0] == 200, timeout=15)
        status, body = client.next(1, 3, 0.9)
        assert status == 200 and body["track"] in range(N_TRACKS)
        assert replica.log_file.read_text().count("loaded artifacts") == 2  # at start, after
        keys = redis.Redis.from_url(server.url).keys("recctl:a:*:done")
        assert len(keys) == 4  # catalog, dssm, i2i, top_tracks reloaded
    finally:
        client.close()
        replica.kill()
        server.stop()


def test_two_replicas_load_once_and_share_user_state(replica_factory):
    # Started together: one loads, the other waits for the done flags.
    results = {}

    def start(name: str) -> None:
        results[name] = replica_factory(name=name)

    threads = [threading.Thread(target=start, args=(n,)) for n in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    outputs = [results[n].log_file.read_text() for n in ("a", "b")]
    assert sum("loaded artifacts" in out for out in outputs) == 1, outputs
    # A contextual_mod user bouncing between replicas never hears a track twice.
    clients = [Client(results[n].url) for n in ("a", "b")]
    user = next(u for u in range(100) if u % 2 and _arm(u) == "T1")
    track, heard = 3, [3]
    for i in range(40):
        status, body = clients[i % 2].next(user, track, 1.0)
        assert status == 200
        track = body["track"]
        assert track not in heard
        heard.append(track)
    for client in clients:
        client.close()


def _arm(user: int) -> str:
    from recctl.assignment import assign

    return assign(user, "svc_test", ["C", "T1"])


def test_cli_serve_reports_user_mistakes(tmp_path, redis_url):
    experiment = write_experiment(tmp_path, HEADLINE_ARMS)
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "recctl", "serve", "--experiment", str(experiment),
         "--artifacts", str(tmp_path / "nowhere"), "--redis", redis_url],
        capture_output=True, text=True, timeout=30)
    assert done.returncode == 1, done.stderr
    stderr = " ".join(done.stderr.split())  # rich wraps long lines
    assert "does not exist" in stderr and "Traceback" not in stderr
    assert time.monotonic() - started < 20
    bad_arm = write_experiment(tmp_path, {"C": {"type": "contextual_mod", "params": {"i2j": "x"}}},
                               name="bad")
    done = subprocess.run(
        [sys.executable, "-m", "recctl.botify", "--experiment", str(bad_arm),
         "--artifacts", str(tmp_path), "--redis", redis_url],
        capture_output=True, text=True, timeout=30)
    assert done.returncode == 1 and "unknown parameter" in done.stderr, done.stderr
    helped = subprocess.run([sys.executable, "-m", "recctl", "serve", "--help"],
                            capture_output=True, text=True, timeout=30)
    assert helped.returncode == 0 and "--log-dir" in helped.stdout
