"""nginx (the balancer's real config) keeps one request id across its own upstream retries:
the client's X-Request-Id when it sent one, else nginx's $request_id. A replica that logged
a request and died before answering then leaves a copy the reader can drop."""

from __future__ import annotations

import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest
from fault_proxy import FaultProxy
from sim_fixtures import ReplicaStarter

from recctl.eventlog import read_events
from recctl.stack.nginx import NginxProcess, find_nginx
from recctl.stack.probes import free_port

pytestmark = pytest.mark.skipif(find_nginx() is None, reason="nginx is not installed")


@pytest.fixture()
def balancer(tmp_path: Path) -> Iterator[Callable[[list[str]], str]]:
    """nginx with the balancer's real config in front of the given upstream URLs."""
    started: list[NginxProcess] = []

    def start(upstreams: list[str]) -> str:
        # Ready when it listens: a /ready probe through it would count as a request.
        nginx = NginxProcess(tmp_path / "nginx", host="127.0.0.1", port=free_port(),
                             upstreams=[u.removeprefix("http://") for u in upstreams],
                             ready_path=None)
        started.append(nginx)
        return nginx.start().endpoint

    yield start
    for nginx in started:
        nginx.stop()


def _post(url: str, request_id: str | None) -> dict:
    headers = {"Content-Type": "application/json"}
    if request_id:
        headers["X-Request-Id"] = request_id
    request = urllib.request.Request(url, data=b'{"track": 3, "time": 0.5}', headers=headers,
                                     method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return orjson.loads(response.read())


@pytest.mark.parametrize("client_id", ["sim-7-0-1:0:next", None])
def test_an_upstream_retry_keeps_the_request_id(
        start_replica: ReplicaStarter, balancer: Callable[[list[str]], str],
        client_id: str | None) -> None:
    # `dying` logs its first request, but the answer is lost (fault_proxy.py): nginx
    # retries it on `healthy` (non_idempotent), and the client still gets its answer.
    dying, healthy = start_replica.many(2)
    fault = FaultProxy(dying.url, die_after=1).start()
    try:
        endpoint = balancer([fault.url, healthy.url])
        for _ in range(4):  # round robin may send the first request to `healthy`
            assert "track" in _post(f"{endpoint}/next/5", client_id)
            if fault.died.is_set():
                break
    finally:
        fault.stop()
    assert fault.died.is_set()
    lost = orjson.loads(dying.event_log.read_bytes())
    retried = [orjson.loads(line) for line in healthy.event_log.read_bytes().splitlines()]
    assert lost["request_id"] in [line["request_id"] for line in retried]
    if client_id is not None:
        assert lost["request_id"] == client_id
    else:  # nginx's own $request_id: 32 hex digits
        assert len(lost["request_id"]) == 32
        int(lost["request_id"], 16)
    events, read = read_events([dying.log_dir, healthy.log_dir])
    assert read.duplicates == 1 and len(events) == len(retried)
