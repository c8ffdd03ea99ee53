"""The HTTP API of one real replica (subprocess, real Redis, loopback HTTP)."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from botify_fixtures import (
    HEADLINE_ARMS,
    N_TRACKS,
    Replica,
    i2i_of,
    start_replica,
    write_experiment,
)
from http_client import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recctl.assignment import assign
from recctl.stack.redis_server import RedisServer


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, artifacts_dir: Path,
        redis_server: RedisServer) -> Iterator[Replica]:
    redis.Redis.from_url(redis_server.url).flushall()
    tmp = tmp_path_factory.mktemp("api")
    replica = start_replica(tmp, write_experiment(tmp, HEADLINE_ARMS), artifacts_dir,
                            redis_server.url)
    yield replica
    replica.stop()


@pytest.fixture()
def client(api: Replica) -> Iterator[Client]:
    c = Client(api.url)
    yield c
    c.close()


def test_read_only_endpoints(client):
    status, alive = client.request("GET", "/")
    assert status == 200 and alive["status"] == "alive"
    assert client.request("GET", "/health")[0] == 200
    assert client.request("GET", "/ready") == (200, {"ready": True, "replica": "r1"})
    status, arms = client.request("GET", "/arms")
    assert status == 200 and arms["experiment"] == "svc_test" and len(arms["artifact_hash"]) == 16
    assert [r["type"] for r in arms["arms"]["T1"]] == ["contextual_mod", "top_pop", "random"]
    assert client.request("GET", "/track/4") == (
        200, {"track": 4, "artist": "artist-4", "title": "song 4"})
    assert client.request("GET", "/track/4000")[0] == 404


def test_next_and_last_follow_the_arm(client):
    for user in range(12):
        status, body = client.next(user, 3, 1.0, session=f"s{user}")
        assert status == 200 and body["user"] == user and 0 <= body["track"] < N_TRACKS
        if assign(user, "svc_test", ["C", "T1"]) == "T1":  # contextual_mod after a liked 3
            assert body["track"] in i2i_of(3)
        assert client.request("POST", f"/last/{user}", {"track": body["track"], "time": 0.3}) == (
            200, {"user": user})


def test_keep_alive_requests_do_not_stall(client):
    # Nagle + delayed ACK stalls each keep-alive request ~40 ms on servers that leave it on.
    timings = []
    for i in range(100):
        started = time.perf_counter()
        assert client.next(1000 + i % 7, i % N_TRACKS, 0.8)[0] == 200
        timings.append(time.perf_counter() - started)
    assert statistics.median(timings) < 0.010, statistics.median(timings)


BAD = [
    ("POST", "/next/1", b"{bad json"),
    ("POST", "/next/1", b""),
    ("POST", "/next/1", b"[1, 2]"),
    ("POST", "/next/1", b'{"time": 0.5}'),
    ("POST", "/next/1", b'{"track": 1}'),
    ("POST", "/next/1", b'{"track": "1", "time": 0.5}'),
    ("POST", "/next/1", b'{"track": true, "time": 0.5}'),
    ("POST", "/next/1", b'{"track": 1.0, "time": 0.5}'),
    ("POST", "/next/1", b'{"track": -1, "time": 0.5}'),
    ("POST", "/next/1", b'{"track": 123456789012345678901234567890, "time": 0.5}'),
    ("POST", "/next/1", b'{"track": 9223372036854775808, "time": 0.5}'),
    ("POST", "/next/1", b'{"track": 1, "time": 1.5}'),
    ("POST", "/next/1", b'{"track": 1, "time": -0.1}'),
    ("POST", "/next/1", b'{"track": 1, "time": "0.5"}'),
    ("POST", "/next/1", b'{"track": 1, "time": NaN}'),
    ("POST", "/next/1", b'{"track": 1, "time": true}'),
    ("POST", "/next/1", b'{"track": 1, "time": 0.5, "session": 7}'),
    ("POST", "/next/-1", b'{"track": 1, "time": 0.5}'),
    ("POST", "/next/abc", b'{"track": 1, "time": 0.5}'),
    ("POST", "/next/1.5", b'{"track": 1, "time": 0.5}'),
    ("POST", "/next/99999999999999999999999", b'{"track": 1, "time": 0.5}'),
    ("POST", "/next/%D9%A3", b'{"track": 1, "time": 0.5}'),  # Arabic-Indic digit
    ("POST", "/last/1", b'{"track": -5, "time": 0.5}'),
    ("GET", "/track/-1", None),
    ("GET", "/track/x", None),
]


@pytest.mark.parametrize(("method", "path", "body"), BAD, ids=range(len(BAD)))
def test_bad_input_is_400_with_a_json_error(client, method, path, body):
    status, payload = client.request(method, path, raw=body)
    assert status == 400, payload
    assert isinstance(payload, dict) and isinstance(payload["error"], str)


def test_unknown_track_unknown_route_wrong_method_big_body(client):
    assert client.next(1, N_TRACKS + 5, 0.5)[0] == 404
    assert client.request("POST", "/last/1", {"track": 10**6, "time": 0.5})[0] == 404
    assert client.request("GET", "/nope")[0] == 404
    assert client.request("GET", "/next/1")[0] == 405
    assert client.request("POST", "/next/1", raw=b"[" + b"1," * 20000 + b"1]")[0] == 413


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)
bodies = st.one_of(
    st.binary(max_size=64),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries(
        {"track": st.one_of(st.integers(-5, 2**70), st.floats(), st.booleans(),
                            st.text(max_size=3)),
         "time": st.one_of(st.floats(-2, 2), st.integers(-3, 3), st.none())},
        optional={"session": st.one_of(st.text(max_size=5), st.integers())},
    ).map(lambda v: json.dumps(v).encode()),
)
segments = st.one_of(st.integers(-10, 2**70).map(str), st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="/?#%"), max_size=6))


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(verb=st.sampled_from(["next", "last", "track"]), segment=segments, body=bodies)
def test_fuzzed_requests_never_get_a_5xx(api, verb, segment, body):
    from urllib.parse import quote

    client = Client(api.url)
    try:
        method = "GET" if verb == "track" else "POST"
        status, payload = client.request(method, f"/{verb}/{quote(segment)}",
                                         raw=None if method == "GET" else body)
    finally:
        client.close()
    assert status < 500, (status, payload)
    if status >= 400:
        assert isinstance(payload, dict) and "error" in payload
