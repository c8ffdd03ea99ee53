"""Sequential monitoring over real HTTP: the simulator stops a clearly different A/B early.

A small botify stand-in on loopback (aiohttp, in this process) answers the treatment
arm's users (the assignment hash) with the track they just heard 30% of the time, which
they listen to less, and the control's with a random track.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web
from rich.console import Console

from recctl.assignment import assign
from recctl.sim.http_runner import simulate_http
from recctl.sim.monitor import SequentialMonitor
from recctl.sim.results import SimulationResult
from recctl.sim.user_model import load_user_model
from recctl.sim.world import World, WorldParams, generate_world

EXPERIMENT, ARMS, TRACKS = "stop_early_test", ["C", "T1"], 2_000


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(WorldParams(tracks=TRACKS, users=1_000), seed=3)


def _app(repeat_arm: str | None) -> web.Application:
    rng = random.Random(0)

    async def next_(request: web.Request) -> web.Response:
        user = int(request.match_info["user"])
        track = int((await request.json())["track"])
        same = (repeat_arm is not None and assign(user, EXPERIMENT, ARMS) == repeat_arm
                and rng.random() < 0.3)
        return web.json_response({"user": user, "track": track if same
                                  else rng.randrange(TRACKS)})

    async def last(request: web.Request) -> web.Response:
        return web.json_response({"user": int(request.match_info["user"])})

    app = web.Application()
    app.add_routes([web.post("/next/{user}", next_), web.post("/last/{user}", last)])
    return app


def _simulate(world: World, repeat_arm: str | None, monitor: SequentialMonitor,
              episodes: int) -> SimulationResult:
    async def main(run: Callable[[str], Awaitable[SimulationResult]]) -> SimulationResult:
        runner = web.AppRunner(_app(repeat_arm))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        try:
            return await run(f"http://127.0.0.1:{port}")
        finally:
            await runner.cleanup()

    return asyncio.run(main(lambda url: simulate_http(
        world, load_user_model(), [url], episodes=episodes, seed=5, concurrency=8,
        progress=False, on_episode=monitor.on_episode)))


def _monitor(world: World, stop_early: bool, episodes: int, console: Console | None = None
             ) -> SequentialMonitor:
    return SequentialMonitor(experiment=EXPERIMENT, arms=ARMS, n_users=world.n_users,
                             planned_episodes=episodes, peek_every=100, stop_early=stop_early,
                             console=console)


def test_stop_early_stops_a_clearly_different_ab(world: World) -> None:
    console = Console(record=True, width=200)
    monitor = _monitor(world, True, 3_000, console)
    result = _simulate(world, "T1", monitor, 3_000)
    assert monitor.stop_reason is not None and "stopped early" in monitor.stop_reason
    last = monitor.peeks[-1]
    assert last.conclusive and last.results["T1"].upper < 0  # repeats are listened to less
    # It stopped at the conclusive look: only episodes already running finished after it.
    assert last.episodes <= result.episodes <= last.episodes + 8
    assert result.episodes < 3_000 and not result.failed.any()
    summary = monitor.summary()
    assert summary["stopped_early"] and summary["last"]["arms"]["T1"]["conclusive"]
    shown = console.export_text()
    assert "always-valid" in shown and "conclusive" in shown
    assert "live, unadjusted" in shown  # not to be read as the report's (CUPED) figure


def test_without_stop_early_every_episode_runs(world: World) -> None:
    monitor = _monitor(world, False, 300)
    result = _simulate(world, "T1", monitor, 300)
    assert result.episodes == 300 and monitor.stop_reason is None
    assert len(monitor.peeks) == 3
    assert sorted(result.episode.tolist()) == list(range(300))


def test_aa_does_not_stop(world: World) -> None:
    monitor = _monitor(world, True, 500)
    result = _simulate(world, None, monitor, 500)
    assert result.episodes == 500 and monitor.stop_reason is None
    assert all(not p.conclusive for p in monitor.peeks)


def test_live_metric_is_the_reports_definition() -> None:
    """The log holds each session's first track (time 1.0) and a closing `last`, so the
    monitor's per-user figures must add them to the simulator's counts, as the report does."""
    monitor = SequentialMonitor(experiment="e", arms=["C", "T1"], n_users=3,
                                planned_episodes=10)
    monitor.on_episode(user=1, session_time=2.0, steps=5, failed=False)
    monitor.on_episode(user=1, session_time=0.5, steps=5, failed=False)
    value, _ = monitor.values()
    assert value.tolist() == [(2.0 + 1.0 + 0.5 + 1.0) / 2]
    monitor.metric = "mean_tracks_per_session"
    assert monitor.values()[0].tolist() == [6.0]
