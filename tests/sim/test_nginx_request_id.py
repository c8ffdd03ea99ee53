"""nginx (the balancer's real config) keeps one request id across its own upstream retries:
the client's X-Request-Id when it sent one, else nginx's $request_id. A replica that logged
a request and died before answering then leaves a copy the reader can drop."""

from __future__ import annotations

import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest
from fake_botify import FakeReplica

from recctl.eventlog import read_events
from recctl.stack.nginx import find_nginx, write_nginx_conf
from recctl.stack.probes import free_port, port_open

pytestmark = pytest.mark.skipif(find_nginx() is None, reason="nginx is not installed")


@pytest.fixture()
def balancer(tmp_path: Path) -> Iterator[Callable[[list[FakeReplica]], str]]:
    started: list[subprocess.Popen[bytes]] = []

    def start(replicas: list[FakeReplica]) -> str:
        folder = tmp_path / "nginx"
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (folder / "tmp" / sub).mkdir(parents=True, exist_ok=True)
        port = free_port("127.0.0.1")
        conf = write_nginx_conf(folder / "nginx.conf", listen=f"127.0.0.1:{port}",
                                upstreams=[r.url.removeprefix("http://") for r in replicas],
                                pid_file=str(folder / "nginx.pid"),
                                error_log=str(folder / "error.log"), temp_dir=str(folder / "tmp"))
        started.append(subprocess.Popen([find_nginx() or "nginx", "-c", str(conf), "-p",
                                         str(folder), "-e", str(folder / "error.log")]))
        deadline = time.monotonic() + 10
        while True:
            try:
                if port_open("127.0.0.1", port):
                    break
            except OSError:  # not listening yet
                assert time.monotonic() < deadline, "nginx did not start"
                time.sleep(0.05)
        return f"http://127.0.0.1:{port}"

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=10)


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
        start_replica: Callable[..., FakeReplica], balancer: Callable[[list[FakeReplica]], str],
        client_id: str | None) -> None:
    # `dying` logs its first request, then dies without answering: nginx retries it on
    # `healthy` (non_idempotent), and the client still gets its answer.
    dying = start_replica(100, die_after=1, log_then_die=True)
    healthy = start_replica(100)
    endpoint = balancer([dying, healthy])
    for _ in range(4):  # round robin may send the first request to `healthy`
        assert "track" in _post(f"{endpoint}/next/5", client_id)
        if dying.process.poll() is not None:
            break
    assert dying.process.wait(timeout=10) == 17
    lost = orjson.loads(dying.log.read_bytes())
    retried = [orjson.loads(line) for line in healthy.log.read_bytes().splitlines()]
    assert lost["request_id"] in [line["request_id"] for line in retried]
    if client_id is not None:
        assert lost["request_id"] == client_id
    else:  # nginx's own $request_id: 32 hex digits
        assert len(lost["request_id"]) == 32
        int(lost["request_id"], 16)
    events, read = read_events([dying.log.parent, healthy.log.parent])
    assert read.duplicates == 1 and len(events) == len(retried)
