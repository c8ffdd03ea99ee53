"""The local runtime with real processes: Redis, two replicas, nginx (when installed)."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import threading
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest
import redis
from local_fixtures import write_experiment
from rich.console import Console

from recctl.errors import RecctlError
from recctl.spec import load_experiment
from recctl.stack.base import STATE_FILE, RunState
from recctl.stack.lifecycle import stack_down, stack_status, stack_up
from recctl.stack.managed import ManagedProcess
from recctl.stack.nginx import find_nginx
from recctl.stack.probes import free_port, poll

QUIET = Console(file=open(os.devnull, "w"))  # noqa: SIM115


def post(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def ready_replica(url: str) -> str:
    """GET /ready on a fresh connection; the name of the replica that answered."""
    with urllib.request.urlopen(f"{url}/ready", timeout=5) as response:  # noqa: S310
        return str(json.loads(response.read())["replica"])


@pytest.mark.parametrize("balancer", ["client", "nginx"])
def test_up_status_down(tmp_path: Path, small_artifacts: Path, workspace: Path,
                        balancer: str) -> None:
    if balancer == "nginx" and find_nginx() is None:
        pytest.skip("nginx is not installed (apt-get install nginx-light)")
    port = free_port()
    path = write_experiment(tmp_path, f"up_{balancer}", small_artifacts,
                            stack={"balancer": balancer, "port": port})
    loaded = load_experiment(path)
    state = stack_up(loaded, QUIET)
    try:
        assert len(state.replicas) == 2 and state.balancer == balancer
        # stack.port is the endpoint, with nginx or without it.
        assert state.endpoint == f"http://127.0.0.1:{port}"
        answer = post(f"{state.endpoint}/next/1", {"track": 3, "time": 0.9})
        assert answer["user"] == 1 and 0 <= answer["track"] < 200
        # An oversized body is the client's mistake (4xx), never a 500: nginx buffers no
        # body in a temp file its workers could not reach in the 0700 run folder.
        for size in (20_000, 200_000):
            with pytest.raises(urllib.error.HTTPError) as too_big:
                post(f"{state.endpoint}/next/1", {"track": 3, "time": 0.9, "pad": "x" * size})
            assert too_big.value.code == 413
        # Another shell sees the same run through the state on disk.
        found = stack_status(loaded.spec.name)
        assert found.healthy and found.state.run_id == state.run_id
        # A second `up` of the same experiment is refused while this one runs.
        with pytest.raises(RecctlError, match="already running"):
            stack_up(loaded, QUIET)
    finally:
        stack_down(loaded.spec.name)
    after = stack_status(loaded.spec.name)
    assert not any(c.running for c in after.components)
    assert after.state.stopped and after.stale == []


def test_crashed_replica_is_reported_stale(tmp_path: Path, small_artifacts: Path,
                                           workspace: Path) -> None:
    path = write_experiment(tmp_path, "crash", small_artifacts, stack={"balancer": "client"})
    loaded = load_experiment(path)
    state = stack_up(loaded, QUIET)
    try:
        victim = state.replicas[0]
        ManagedProcess.attach({"pid": victim.pid, "started": victim.started},
                              name=victim.name).kill()
        found = stack_status(loaded.spec.name)
        assert [c.name for c in found.stale] == [victim.name]
    finally:
        stack_down(loaded.spec.name)
    assert not any(c.running for c in stack_status(loaded.spec.name).components)


def test_two_experiments_side_by_side(tmp_path: Path, small_artifacts: Path,
                                      workspace: Path) -> None:
    first = load_experiment(write_experiment(tmp_path, "side_a", small_artifacts,
                                             stack={"balancer": "client", "replicas": 1}))
    second = load_experiment(write_experiment(tmp_path, "side_b", small_artifacts,
                                              stack={"balancer": "client", "replicas": 1}))
    a = stack_up(first, QUIET)
    try:
        b = stack_up(second, QUIET)
        try:
            assert a.redis["port"] != b.redis["port"]
            assert post(f"{a.endpoint}/next/5", {"track": 1, "time": 0.1})["user"] == 5
            assert post(f"{b.endpoint}/next/5", {"track": 1, "time": 0.1})["user"] == 5
        finally:
            stack_down("side_b")
        # Stopping one leaves the other running.
        assert stack_status("side_a").healthy
    finally:
        stack_down("side_a")


def test_failed_start_cleans_up(tmp_path: Path, small_artifacts: Path, workspace: Path) -> None:
    path = write_experiment(tmp_path, "broken", small_artifacts, stack={"balancer": "client"})
    loaded = load_experiment(path)
    # The artifacts disappear after validation: replicas die at start-up and up must fail
    # with their log, leaving nothing running.
    for file in small_artifacts.iterdir():
        file.unlink()
    small_artifacts.rmdir()
    with pytest.raises(RecctlError) as info:
        stack_up(loaded, QUIET)
    assert "replica-1" in str(info.value)
    found = stack_status("broken")
    assert found.state.stopped
    assert found.components and not any(c.running for c in found.components)


def listeners(port: int) -> list[int | None]:
    """The pids of the sockets listening on `port` (None: a socket no process holds any
    more, which the kernel has not closed yet)."""
    return [c.pid for c in psutil.net_connections("tcp")
            if c.status == psutil.CONN_LISTEN and c.laddr.port == port]


def test_without_nginx_the_endpoint_spreads_over_every_replica(
        tmp_path: Path, small_artifacts: Path, workspace: Path) -> None:
    path = write_experiment(tmp_path, "shared", small_artifacts,
                            stack={"balancer": "client", "replicas": 3})
    loaded = load_experiment(path)
    state = stack_up(loaded, QUIET)
    try:
        assert state.endpoint and state.endpoint not in state.replica_urls
        # Each request on its own connection (a plain client, no recctl simulator):
        # the kernel hands the connections to every replica.
        seen = [ready_replica(state.endpoint) for _ in range(60)]
        assert set(seen) == {"replica-1", "replica-2", "replica-3"}
        # Each replica keeps its own port too (probes, client-side failover).
        assert [ready_replica(u) for u in state.replica_urls] == [
            r.name for r in state.replicas]
        endpoint = next(c for c in stack_status("shared").components if c.name == "endpoint")
        assert endpoint.running and state.endpoint in endpoint.detail
        # A replica that dies stops getting connections; the endpoint keeps answering.
        # (A connection the kernel queued for it as it died is reset, as with any server
        # that crashes; so wait until the kernel has dropped its listener.)
        victim = state.replicas[0]
        ManagedProcess.attach({"pid": victim.pid, "started": victim.started},
                              name=victim.name).kill()
        port = int(state.endpoint.rsplit(":", 1)[1])
        poll(lambda: len(listeners(port)) == 2, timeout=5, what="the dead replica's listener")
        assert victim.pid not in listeners(port)
        after = [ready_replica(state.endpoint) for _ in range(30)]
        assert victim.name not in after and len(after) == 30
    finally:
        stack_down("shared")


def test_a_taken_port_is_refused_before_anything_starts(
        tmp_path: Path, small_artifacts: Path, workspace: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        path = write_experiment(tmp_path, "taken", small_artifacts,
                                stack={"balancer": "client", "port": port})
        loaded = load_experiment(path)
        with pytest.raises(RecctlError) as info:
            stack_up(loaded, QUIET)
    assert f"stack.port: cannot listen on 127.0.0.1:{port}" in info.value.message
    assert f"held by pid {os.getpid()}" in info.value.message  # this test holds it
    assert "ss -ltnp" in (info.value.hint or "") and "remove stack.port" in (info.value.hint or "")
    found = stack_status("taken")
    assert found.state.stopped and found.state.redis == {} and found.state.replicas == []


def listening_addresses(pid: int) -> set[str]:
    return {c.laddr.ip for c in psutil.Process(pid).net_connections("inet")
            if c.status == psutil.CONN_LISTEN}


def test_redis_is_private_and_the_run_folder_too(
        tmp_path: Path, small_artifacts: Path, workspace: Path) -> None:
    path = write_experiment(tmp_path, "private", small_artifacts,
                            stack={"balancer": "client", "replicas": 1, "host": "0.0.0.0"})
    loaded = load_experiment(path)
    state = stack_up(loaded, QUIET)
    try:
        password = state.redis["password"]
        port = state.redis["port"]
        # stack.host 0.0.0.0 is for the replicas; Redis listens on loopback only.
        assert listening_addresses(state.redis["pid"]) == {"127.0.0.1"}
        assert listening_addresses(state.replicas[0].pid) == {"0.0.0.0"}
        # A client without the password gets NOAUTH (raw RESP, as any client would send).
        with socket.create_connection(("127.0.0.1", port), timeout=2) as anonymous:
            anonymous.sendall(b"CONFIG SET dir /tmp\r\n")
            assert anonymous.recv(200).startswith(b"-NOAUTH")
        with redis.Redis(host="127.0.0.1", port=port, password=password) as client:
            assert client.config_get("bind") == {"bind": "127.0.0.1"}
            assert client.config_get("appendonly") == {"appendonly": "yes"}
        # The password is in no process's command line (what `ps` shows).
        for pid in [state.redis["pid"]] + [r.pid for r in state.replicas]:
            assert password not in " ".join(psutil.Process(pid).cmdline())
        assert password not in state.redis["url"]
        # Only this user can read the state (it holds the password) and the logs.
        run_dir = state.path
        assert stat.S_IMODE((run_dir / STATE_FILE).stat().st_mode) == 0o600
        for folder in [run_dir.parent, run_dir, *[p for p in run_dir.rglob("*") if p.is_dir()]]:
            assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
        assert Path(state.replicas[0].log_dir or "").is_relative_to(run_dir)
        assert RunState.load(run_dir).redis["password"] == password
    finally:
        stack_down("private")


def snapshot(client: redis.Redis) -> dict[bytes, object]:
    """Every key's content, independent of how Redis orders it internally."""
    read = {b"string": client.get, b"hash": client.hgetall, b"set": client.smembers,
            b"list": lambda k: client.lrange(k, 0, -1),
            b"zset": lambda k: client.zrange(k, 0, -1, withscores=True)}
    return {key: read[client.type(key)](key) for key in client.scan_iter("*")}


def test_user_state_survives_a_redis_restart(
        tmp_path: Path, small_artifacts: Path, workspace: Path) -> None:
    path = write_experiment(tmp_path, "persist", small_artifacts,
                            stack={"balancer": "client", "replicas": 1})
    loaded = load_experiment(path)
    state = stack_up(loaded, QUIET)
    try:
        for user in range(10):  # some users land in contextual_mod, which keeps state
            for step in range(3):
                post(f"{state.endpoint}/next/{user}",
                     {"track": step, "time": 0.9, "session": f"s{user}"})
        with redis.Redis.from_url(state.redis_url) as client:
            before = snapshot(client)
        # The user's state (tracks heard) is there, next to the loaded artifacts.
        assert any(key.endswith(b":heard") for key in before)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            os.kill(state.redis["pid"], sig)
            psutil.Process(state.redis["pid"]).wait(10)
            # Started again with the same arguments: same port, password and folder.
            restarted = ManagedProcess(state.redis["argv"], name="redis",
                                       log_file=state.path / "redis" / "stdout.log")
            restarted.spawn()
            state.redis.update(pid=restarted.pid, started=restarted.started)
            state.save()
            with redis.Redis.from_url(state.redis_url, retry_on_timeout=True) as client:
                for _ in range(100):
                    try:
                        client.ping()
                        break
                    except (redis.ConnectionError, redis.BusyLoadingError):
                        threading.Event().wait(0.05)
                after = snapshot(client)
            assert after == before, sig
    finally:
        stack_down("persist")


def test_two_simultaneous_ups_of_one_file_exactly_one_wins(
        tmp_path: Path, small_artifacts: Path, workspace: Path) -> None:
    path = write_experiment(tmp_path, "race", small_artifacts,
                            stack={"balancer": "client", "replicas": 1})
    loaded = load_experiment(path)
    start = threading.Barrier(2)
    outcomes: list[object] = []

    def up() -> None:
        start.wait()
        try:
            outcomes.append(stack_up(loaded, QUIET))
        except RecctlError as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=up) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    try:
        won = [o for o in outcomes if isinstance(o, RunState)]
        lost = [o for o in outcomes if isinstance(o, RecctlError)]
        assert len(won) == 1 and len(lost) == 1, outcomes
        assert won[0].run_id in lost[0].message
        assert "recctl down" in (lost[0].hint or "")
    finally:
        stack_down("race")
    # Nothing is left holding the experiment: the next `up` starts.
    again = stack_up(loaded, QUIET)
    stack_down("race")
    assert again.run_id != won[0].run_id


def test_a_failed_docker_up_does_not_block_the_experiment(
        tmp_path: Path, small_artifacts: Path, workspace: Path) -> None:
    docker_file = write_experiment(tmp_path, "switch", small_artifacts, stack={
        "runtime": "docker", "docker_host": f"unix://{tmp_path}/no-engine.sock"})
    with pytest.raises(RecctlError, match="no Docker engine"):
        stack_up(load_experiment(docker_file), QUIET)
    failed = RunState.load(next((workspace / ".recctl" / "runs" / "switch").glob("2*")))
    assert failed.stopped and failed.runtime == "docker"
    # status and down of that run need no engine either.
    assert stack_status("switch").components == [] and stack_down("switch").stopped
    # The same experiment on the local runtime starts, although that engine never answers.
    (tmp_path / "local").mkdir()
    local_file = write_experiment(tmp_path / "local", "switch", small_artifacts,
                                  stack={"balancer": "client", "replicas": 1})
    state = stack_up(load_experiment(local_file), QUIET)
    try:
        assert ready_replica(state.endpoint or "") == "replica-1"
    finally:
        stack_down("switch")


def test_a_replica_shares_its_endpoint_port_only_with_other_replicas() -> None:
    from recctl.botify.server import listen_sockets

    first = listen_sockets("127.0.0.1", free_port(), endpoint_port=0)
    shared = first[1].getsockname()[1]
    try:
        # Another replica joins the shared port (SO_REUSEPORT on both sides) ...
        second = listen_sockets("127.0.0.1", free_port(), endpoint_port=shared)
        for sock in second:
            sock.close()
        # ... a program that did not opt in holds it exclusively: a clear refusal.
        with socket.socket() as plain:
            plain.bind(("127.0.0.1", 0))
            plain.listen()
            taken = plain.getsockname()[1]
            with pytest.raises(RecctlError) as info:
                listen_sockets("127.0.0.1", free_port(), endpoint_port=taken)
        assert f"shared endpoint port 127.0.0.1:{taken}" in info.value.message
    finally:
        for sock in first:
            sock.close()
