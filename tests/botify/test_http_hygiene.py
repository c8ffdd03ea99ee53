"""HTTP hygiene of a real replica over raw sockets: deadlines, connection cap, upgrades,
request ids and the replica header, fresh randomness for clients without a session."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from botify_fixtures import HEADLINE_ARMS, Replica, start_replica, write_experiment
from http_client import Client

from recctl.stack.redis_server import RedisServer

QUICK = {"RECCTL_HEADER_TIMEOUT": "1", "RECCTL_BODY_TIMEOUT": "1"}


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory, artifacts_dir: Path,
           redis_server: RedisServer) -> Iterator[Replica]:
    """One replica with the default limits for the tests that need nothing else."""
    tmp = tmp_path_factory.mktemp("hygiene")
    replica = start_replica(tmp, write_experiment(tmp, HEADLINE_ARMS), artifacts_dir,
                            redis_server.url)
    yield replica
    replica.stop()


def connect(url: str) -> socket.socket:
    parsed = urlparse(url)
    sock = socket.create_connection((parsed.hostname, parsed.port), timeout=10)
    return sock


def read_until_closed(sock: socket.socket) -> tuple[bytes, float]:
    """Everything the server sends until it closes, and how long that took."""
    started = time.monotonic()
    chunks = []
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks), time.monotonic() - started


def parse(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


POST = (b"POST /next/7 HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        b"Content-Length: 27\r\n\r\n{\"track\": 3, \"time\": 0.5}  ")


def test_half_sent_requests_are_closed_after_the_deadlines(replica_factory):
    replica = replica_factory(env=QUICK)
    headers_only = connect(replica.url)
    headers_only.sendall(b"POST /next/1 HTTP/1.1\r\nHost: t\r\nContent-Le")
    silent = connect(replica.url)
    half_body = connect(replica.url)
    half_body.sendall(POST[:-10])
    raw, waited = read_until_closed(headers_only)
    status, headers, body = parse(raw)
    assert status == 408 and "headers not received" in json.loads(body)["error"]
    assert headers["x-botify-replica"] == "r1" and waited < 5
    for sock in (silent, half_body):
        raw, waited = read_until_closed(sock)
        assert raw == b"" and waited < 5
    # The server is still fine.
    assert Client(replica.url).next(1, 3, 0.5)[0] == 200


def test_idle_keep_alive_connections_outlive_the_header_deadline(replica_factory):
    replica = replica_factory(env=QUICK)
    client = Client(replica.url)
    assert client.next(1, 3, 0.5)[0] == 200
    first = client.conn.sock
    time.sleep(1.6)  # idle between requests: the keep-alive timeout (75 s) applies
    # http.client does not reconnect by itself: a closed connection would raise here.
    assert client.next(1, 4, 0.5)[0] == 200
    assert client.conn.sock is first  # the same connection
    client.close()


def test_connections_over_the_cap_are_answered_busy(replica_factory):
    replica = replica_factory(env={"RECCTL_MAX_CONNECTIONS": "3"})
    idle = [connect(replica.url) for _ in range(3)]
    time.sleep(0.2)  # let the server accept them
    extra = connect(replica.url)
    extra.sendall(POST)
    status, headers, body = parse(read_until_closed(extra)[0])
    assert status == 503 and int(headers["retry-after"]) >= 1
    assert json.loads(body)["error"].startswith("busy: ")
    probe = connect(replica.url)  # probes are answered even over the cap
    probe.sendall(b"GET /ready HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    assert parse(read_until_closed(probe)[0])[0] == 200
    idle.pop().close()
    time.sleep(0.2)
    again = connect(replica.url)
    again.sendall(POST.replace(b"HTTP/1.1\r\n", b"HTTP/1.1\r\nConnection: close\r\n", 1))
    assert parse(read_until_closed(again)[0])[0] == 200
    for sock in idle:
        sock.close()


@pytest.mark.parametrize("request_line", [b"GET / HTTP/1.1", b"GET /next/1 HTTP/1.1",
                                          b"POST /next/1 HTTP/1.1"])
def test_websocket_upgrade_is_refused_with_4xx(shared, request_line):
    sock = connect(shared.url)
    sock.sendall(request_line + b"\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                 b"Sec-WebSocket-Version: 13\r\n\r\n")
    raw, _ = read_until_closed(sock)
    status, headers, body = parse(raw)
    assert status == 400 and "upgrade" in json.loads(body)["error"]
    assert headers["x-botify-replica"] == "r1" and headers["connection"] == "close"
    assert "upgrade" not in headers
    assert "Exception" not in shared.log_file.read_text()


def test_request_ids_are_echoed_assigned_and_logged(shared):
    replica = shared
    client = Client(replica.url)
    answers = {}
    for sent in ["sim-7-0-12:3:next", None, "x" * 129, "has space"]:
        headers = {"x-request-id": sent} if sent is not None else {}
        client.conn.request("POST", "/next/424242", body=b'{"track": 3, "time": 0.5}',
                            headers={"content-type": "application/json", **headers})
        response = client.conn.getresponse()
        response.read()
        assert response.status == 200
        assert response.getheader("x-botify-replica") == "r1"
        answers[sent] = response.getheader("x-request-id")
    assert answers["sim-7-0-12:3:next"] == "sim-7-0-12:3:next"
    for fresh in (answers[None], answers["x" * 129], answers["has space"]):
        assert len(fresh) == 32 and int(fresh, 16) >= 0
    assert len(set(answers.values())) == 4
    # Errors carry both headers too, uvicorn's own 400 for broken HTTP included.
    client.conn.request("GET", "/nope", headers={"x-request-id": "r-404"})
    response = client.conn.getresponse()
    response.read()
    assert (response.status, response.getheader("x-request-id")) == (404, "r-404")
    assert response.getheader("x-botify-replica") == "r1"
    client.close()
    sock = connect(replica.url)
    sock.sendall(b"GARBAGE\r\n\r\n")
    status, headers, _ = parse(read_until_closed(sock)[0])
    assert status == 400 and headers["x-botify-replica"] == "r1"
    # Each line is written before its answer (unbuffered): the log has them already.
    lines = [json.loads(line) for line in (replica.log_dir / "data.json").read_text().splitlines()]
    assert [e["request_id"] for e in lines if e["user"] == 424242] == list(answers.values())


def test_sessionless_requests_get_fresh_randomness_sessions_stay_deterministic(
        tmp_path, replica_factory):
    experiment = write_experiment(tmp_path, {"C": {"type": "random"},
                                             "T1": {"type": "top_pop"}}, name="rand")
    replica = replica_factory(experiment=experiment)  # started with --seed 1
    client = Client(replica.url)
    for user in (1, 2, 3, 4):  # both arms among them
        sessionless = {client.next(user, 3, 0.5)[1]["track"] for _ in range(100)}
        assert len(sessionless) > 1, sessionless
        with_session = {client.next(user, 3, 0.5, session="s1")[1]["track"] for _ in range(30)}
        assert len(with_session) == 1, with_session
    client.close()


def test_endless_headers_are_cut_off_with_431(shared):
    sock = connect(shared.url)
    # 70 x 1 KB header lines, never finished; sent at once and then nothing, so the
    # server has read everything when it closes (unread bytes would make it reset).
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\n"
                 + (b"X-Filler: " + b"a" * 1000 + b"\r\n") * 70)
    raw, _ = read_until_closed(sock)
    status, headers, _ = parse(raw)
    assert status == 431 and headers["x-botify-replica"] == "r1"
