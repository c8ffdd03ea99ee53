"""The HTTP runner against real replicas (the botify service on a real Redis, loopback):
deterministic whatever the concurrency, failover when a replica dies, failures counted,
every acknowledged request logged exactly once (a retried copy dropped by the reader)."""

from __future__ import annotations

import io
import re
import socket
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import orjson
from fault_proxy import FaultProxy
from rich.console import Console
from sim_fixtures import ReplicaStarter, next_track

from recctl.eventlog import read_events
from recctl.sim.agents import scalar_policy
from recctl.sim.http_runner import run_http_simulation
from recctl.sim.inprocess import simulate_in_process
from recctl.sim.rendering import render_summary
from recctl.sim.user_model import UserModel
from recctl.sim.world import World
from recctl.stack.replica_process import ReplicaProcess


def _quiet() -> Console:
    return Console(file=io.StringIO(), width=100, color_system=None)


def _lines(*replicas: ReplicaProcess) -> int:
    """Event-log lines the replicas wrote (a line per request they handled)."""
    return sum(len(r.event_log.read_bytes().splitlines()) for r in replicas)


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _kill_after_lines(replica: ReplicaProcess, lines: int) -> threading.Thread:
    """SIGKILL the replica once its event log holds `lines` lines (mid-run)."""
    def watch() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if replica.event_log.exists() and _lines(replica) >= lines:
                replica.kill()
                return
            time.sleep(0.005)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_same_seed_same_sessions_whatever_the_concurrency(
        start_replica: ReplicaStarter, small_world: World, user_model: UserModel) -> None:
    replica = start_replica("chain")
    runs = [run_http_simulation(small_world, user_model, [replica.url], episodes=80, days=2,
                                seed=21, concurrency=c, console=_quiet()) for c in (1, 24)]
    a, b = runs
    assert a.failed_episodes == b.failed_episodes == 0
    assert np.array_equal(a.user, b.user) and np.array_equal(a.steps, b.steps)
    assert np.array_equal(a.session_time, b.session_time)
    # ... and the same as the in-process simulator with the service's recommender.
    policy = scalar_policy(lambda _u, t, _x: next_track(t, small_world.n_tracks))
    for day in (0, 1):
        local = simulate_in_process(small_world, user_model, policy, episodes=80, seed=21,
                                    day=day)
        mask = a.day == day
        assert np.array_equal(local.users, a.user[mask])
        assert np.array_equal(local.steps, a.steps[mask])
        assert np.allclose(local.session_time, a.session_time[mask], atol=1e-9)


def test_round_robin_over_two_replicas_acks_match_the_logs(
        start_replica: ReplicaStarter, small_world: World, user_model: UserModel) -> None:
    one, two = start_replica.many(2)
    result = run_http_simulation(small_world, user_model, [one.url, two.url], episodes=300,
                                 seed=2, concurrency=16, console=_quiet())
    assert result.failed_episodes == 0 and result.retried_requests == 0
    assert result.acked_requests == result.steps.sum() + 300 == _lines(one, two)
    assert result.acked_by_replica == {"replica0": _lines(one), "replica1": _lines(two)}
    assert abs(_lines(one) - _lines(two)) <= 2  # round robin splits requests evenly
    assert 0.5 < np.nanmean(result.session_time) < 2.0  # a random recommender


def test_a_replica_dying_mid_run_fails_over_to_the_other(
        start_replica: ReplicaStarter, small_world: World, user_model: UserModel) -> None:
    dying, healthy = start_replica.many(2)
    killer = _kill_after_lines(dying, 300)
    result = run_http_simulation(small_world, user_model, [dying.url, healthy.url],
                                 episodes=400, seed=8, concurrency=32, console=_quiet())
    killer.join()
    assert not dying.running and dying.returncode == -9  # it really died, mid-run
    assert result.failed_episodes == 0, result.errors
    assert result.retried_requests >= 1
    assert 300 <= _lines(dying) < result.acked_requests // 2
    # Every acknowledged request is one event; a request the victim logged but could
    # not answer before it died was retried elsewhere and is dropped as a duplicate.
    events, read = read_events([dying.log_dir, healthy.log_dir])
    assert len(events) == result.acked_requests == result.steps.sum() + 400
    assert _lines(dying, healthy) == result.acked_requests + read.duplicates


def test_sessions_failing_everywhere_are_counted_and_reported(
        small_world: World, user_model: UserModel) -> None:
    console = _quiet()
    result = run_http_simulation(small_world, user_model, [_closed_port_url(), _closed_port_url()],
                                 episodes=20, seed=1, concurrency=8, console=console,
                                 retry_window=0.5)
    assert result.failed_episodes == 20 and result.acked_requests == 0
    assert np.isnan(result.session_time).all()
    assert result.errors and "every replica" in result.errors[0]
    render_summary(result, console)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "20 episode(s) failed" in text


def test_summary_table_shows_each_day_with_standard_errors(
        start_replica: ReplicaStarter, small_world: World, user_model: UserModel) -> None:
    replica = start_replica()
    console = _quiet()
    result = run_http_simulation(small_world, user_model, [replica.url], episodes=100, days=2,
                                 seed=3, console=console)
    days = result.day_summaries()
    assert [d.episodes for d in days] == [100, 100]
    times = result.session_time[result.day == 0]
    assert np.isclose(days[0].session_time.mean, times.mean())
    assert np.isclose(days[0].session_time.se, times.std(ddof=1) / 10)
    render_summary(result, console)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "session time" in text and "±" in text and "all" in text
    assert len(result.episode_frame()) == 200


def test_a_retry_reuses_the_request_id_and_the_reader_drops_the_copy(
        start_replica: ReplicaStarter, small_world: World, user_model: UserModel) -> None:
    # The 200th request reaches `dying`, which logs it, but its answer is lost (see
    # fault_proxy.py): the simulator retries it on `healthy` with the same X-Request-Id,
    # so it is logged twice, and the reader keeps one.
    dying, healthy = start_replica.many(2)
    fault = FaultProxy(dying.url, die_after=200).start()
    try:
        result = run_http_simulation(small_world, user_model, [fault.url, healthy.url],
                                     episodes=300, seed=8, concurrency=16, console=_quiet())
    finally:
        fault.stop()
    assert fault.died.is_set(), (fault.requests, result.acked_requests, result.errors[:3])
    assert result.failed_episodes == 0, result.errors
    assert _lines(dying, healthy) == result.acked_requests + 1
    events, read = read_events([dying.log_dir, healthy.log_dir])
    assert read.duplicates == 1 and read.duplicates_per_replica == {"replica1": 1}
    assert len(events) == result.acked_requests
    # Acknowledged per replica (x-botify-replica): all that each logged but the lost one.
    assert result.acked_by_replica == {"replica0": _lines(dying) - 1,
                                       "replica1": _lines(healthy)}
    # Ids are deterministic: "<seed>-<day>-<episode>:<step>:<next|last>".
    ids = [orjson.loads(line)["request_id"] for line in dying.event_log.read_bytes().splitlines()]
    assert len(set(ids)) == len(ids) == _lines(dying) >= 200
    assert all(re.fullmatch(r"8-0-\d+:\d+:(next|last)", i) for i in ids)
    assert any(i.endswith(":0:next") for i in ids)
    retried = {orjson.loads(line)["request_id"]
               for line in healthy.event_log.read_bytes().splitlines()}
    assert len(set(ids) & retried) == 1


def _hold_the_only_slot(url: str) -> socket.socket:
    """Send a request's headers but not its body: with RECCTL_MAX_INFLIGHT=1 the replica
    answers every other request 503 busy (Retry-After: 1) until the body deadline.
    Returns once a request is seen answered busy."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)))
    sock.sendall(b"POST /next/1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 40\r\n\r\n")
    deadline = time.monotonic() + 2
    while True:
        request = urllib.request.Request(f"{url}/next/2", data=b'{"track": 1, "time": 0.5}',
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=2):
                pass
        except urllib.error.HTTPError as exc:
            if exc.code == 503 and exc.headers.get("Retry-After") == "1":
                return sock
        assert time.monotonic() < deadline, "the held request did not make the replica busy"
        time.sleep(0.01)


def test_busy_answers_are_waited_out_without_failing_over(
        start_replica: ReplicaStarter, small_world: World, user_model: UserModel) -> None:
    busy = start_replica(env={"RECCTL_MAX_INFLIGHT": "1", "RECCTL_BODY_TIMEOUT": "3"})
    held = _hold_the_only_slot(busy.url)
    before = _lines(busy)  # a check of the hold may have been answered before it held
    try:
        started = time.monotonic()
        result = run_http_simulation(small_world, user_model, [busy.url], episodes=20,
                                     seed=2, concurrency=1, console=_quiet())
    finally:
        held.close()
    assert result.failed_episodes == 0 and result.busy_retries >= 1
    assert result.retried_requests == 0  # not counted as failures
    assert time.monotonic() - started >= 1.0  # it waited as asked
    assert result.acked_requests == _lines(busy) - before  # busy answers are not logged


def test_a_short_outage_is_waited_out(start_replica: ReplicaStarter, small_world: World,
                                      user_model: UserModel) -> None:
    # The only replica stops after it answered and starts again on the same port ~2 s
    # later: the requests keep retrying inside the retry window instead of failing.
    replica = start_replica("chain")
    replica.stop()

    def restart_later() -> None:
        time.sleep(2)
        restarted.append(start_replica("chain", name=replica.name, port=replica.port))

    restarted: list[ReplicaProcess] = []
    thread = threading.Thread(target=restart_later)
    thread.start()
    try:
        result = run_http_simulation(small_world, user_model, [replica.url], episodes=10,
                                     seed=1, concurrency=2, console=_quiet(), retry_window=15)
    finally:
        thread.join()
    assert restarted and restarted[0].running
    assert result.failed_episodes == 0, result.errors
    assert result.retried_requests > 0
    events, _ = read_events([Path(replica.log_dir)])
    assert len(events) == result.acked_requests
