"""The HTTP runner against stand-in service processes on loopback: deterministic whatever
the concurrency, failover when a replica dies, failures counted, acknowledgements exact."""

from __future__ import annotations

import io
import re
import socket
import threading
import time
from collections.abc import Callable

import numpy as np
import orjson
from fake_botify import FakeReplica, hash_recommendation, start_fake_replica
from rich.console import Console

from recctl.eventlog import read_events
from recctl.sim.agents import scalar_policy
from recctl.sim.http_runner import run_http_simulation
from recctl.sim.inprocess import simulate_in_process
from recctl.sim.rendering import render_summary
from recctl.sim.user_model import UserModel
from recctl.sim.world import World


def _quiet() -> Console:
    return Console(file=io.StringIO(), width=100, color_system=None)


def _log_lines(*replicas: FakeReplica) -> int:
    return sum(len(r.log.read_bytes().splitlines()) for r in replicas)


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_same_seed_same_sessions_whatever_the_concurrency(
        start_replica: Callable[..., FakeReplica], small_world: World,
        user_model: UserModel) -> None:
    replica = start_replica(small_world.n_tracks, mode="hash")
    runs = [run_http_simulation(small_world, user_model, [replica.url], episodes=80, days=2,
                                seed=21, concurrency=c, console=_quiet()) for c in (1, 24)]
    a, b = runs
    assert a.failed_episodes == b.failed_episodes == 0
    assert np.array_equal(a.user, b.user) and np.array_equal(a.steps, b.steps)
    assert np.array_equal(a.session_time, b.session_time)
    # ... and the same as the in-process simulator with the same recommender.
    policy = scalar_policy(lambda u, t, _x: hash_recommendation(u, t, small_world.n_tracks))
    for day in (0, 1):
        local = simulate_in_process(small_world, user_model, policy, episodes=80, seed=21,
                                    day=day)
        mask = a.day == day
        assert np.array_equal(local.users, a.user[mask])
        assert np.array_equal(local.steps, a.steps[mask])
        assert np.allclose(local.session_time, a.session_time[mask], atol=1e-9)


def test_round_robin_over_two_replicas_acks_match_the_logs(
        start_replica: Callable[..., FakeReplica], small_world: World,
        user_model: UserModel) -> None:
    one, two = start_replica(small_world.n_tracks), start_replica(small_world.n_tracks)
    result = run_http_simulation(small_world, user_model, [one.url, two.url], episodes=300,
                                 seed=2, concurrency=16, console=_quiet())
    assert result.failed_episodes == 0 and result.retried_requests == 0
    assert result.acked_requests == result.steps.sum() + 300 == _log_lines(one, two)
    lines = [len(r.log.read_bytes().splitlines()) for r in (one, two)]
    assert abs(lines[0] - lines[1]) <= 2  # round robin splits requests evenly
    assert 0.5 < np.nanmean(result.session_time) < 2.0  # a random recommender


def test_a_replica_dying_mid_run_fails_over_to_the_other(
        start_replica: Callable[..., FakeReplica], small_world: World,
        user_model: UserModel) -> None:
    dying = start_replica(small_world.n_tracks, die_after=300)
    healthy = start_replica(small_world.n_tracks)
    result = run_http_simulation(small_world, user_model, [dying.url, healthy.url],
                                 episodes=400, seed=8, concurrency=32, console=_quiet())
    assert dying.process.wait(timeout=10) == 17  # it really died
    assert result.failed_episodes == 0, result.errors
    assert result.retried_requests >= 1
    assert result.acked_requests == result.steps.sum() + 400 == _log_lines(dying, healthy)
    assert 0 < _log_lines(dying) <= 299  # the 300th request killed it unanswered


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
        start_replica: Callable[..., FakeReplica], small_world: World,
        user_model: UserModel) -> None:
    replica = start_replica(small_world.n_tracks)
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
        start_replica: Callable[..., FakeReplica], small_world: World,
        user_model: UserModel) -> None:
    # The 200th request is logged by `dying`, which dies before answering: the simulator
    # retries it on `healthy` with the same X-Request-Id, so it is logged twice.
    dying = start_replica(small_world.n_tracks, die_after=200, log_then_die=True)
    healthy = start_replica(small_world.n_tracks)
    result = run_http_simulation(small_world, user_model, [dying.url, healthy.url],
                                 episodes=300, seed=8, concurrency=16, console=_quiet())
    assert dying.process.wait(timeout=10) == 17
    assert result.failed_episodes == 0, result.errors
    assert _log_lines(dying, healthy) == result.acked_requests + 1
    events, read = read_events([dying.log.parent, healthy.log.parent])
    assert read.duplicates == 1 and read.duplicates_per_replica == {"replica1": 1}
    assert len(events) == result.acked_requests
    # Acknowledged per replica, from the x-botify-replica answer header.
    assert result.acked_by_replica == {"replica0": 199, "replica1": result.acked_requests - 199}
    # Ids are deterministic: "<seed>-<day>-<episode>:<step>:<next|last>".
    ids = [orjson.loads(line)["request_id"] for line in dying.log.read_bytes().splitlines()]
    assert len(set(ids)) == len(ids) == 200
    assert all(re.fullmatch(r"8-0-\d+:\d+:(next|last)", i) for i in ids)
    assert any(i.endswith(":0:next") for i in ids)


def test_busy_answers_are_waited_out_without_failing_over(
        start_replica: Callable[..., FakeReplica], small_world: World,
        user_model: UserModel) -> None:
    busy = start_replica(small_world.n_tracks, busy=5)  # 503 + Retry-After: 1, five times
    started = time.monotonic()
    result = run_http_simulation(small_world, user_model, [busy.url], episodes=20, seed=2,
                                 concurrency=4, console=_quiet())
    assert result.failed_episodes == 0 and result.busy_retries == 5
    assert result.retried_requests == 0  # not counted as failures
    assert time.monotonic() - started >= 1.0  # it waited as asked
    assert result.acked_requests == _log_lines(busy)


def test_a_short_outage_is_waited_out(small_world: World, user_model: UserModel,
                                      start_replica: Callable[..., FakeReplica]) -> None:
    # Every replica refuses connections for ~2 s after the first requests succeeded: the
    # requests keep retrying inside the retry window instead of failing their sessions.
    replica = start_replica(small_world.n_tracks, mode="hash")
    port = int(replica.url.rsplit(":", 1)[1])
    replica.kill()

    def restart_later() -> None:
        time.sleep(2)
        restarted.append(start_fake_replica(replica.log, small_world.n_tracks, "hash",
                                            port=port))

    restarted: list[FakeReplica] = []
    thread = threading.Thread(target=restart_later)
    thread.start()
    try:
        result = run_http_simulation(small_world, user_model, [replica.url], episodes=10,
                                     seed=1, concurrency=2, console=_quiet(), retry_window=10)
    finally:
        thread.join()
        for fake in restarted:
            fake.kill()
    assert result.failed_episodes == 0, result.errors
    assert result.retried_requests > 0
