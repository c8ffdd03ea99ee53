"""Simulated users listening to the service over HTTP.

`run_http_simulation` runs `days` days of `episodes` sessions each against the service
(a balancer URL, or several replica URLs used round robin), with `concurrency` sessions
in flight. Per episode:

    state = start_session(...)                 user, interest, first track (time 1.0)
    until the session ends:
        POST /next/{user} {"track": last, "time": its time, "session": id} -> next track
        the user listens (session.SessionState.consume)
    POST /last/{user} {"track": last, "time": its time, "session": id}

Each request carries `X-Request-Id: <seed>-<day>-<episode>:<step>:<next|last>`, the same on
every retry, so a line logged twice (a retry after a replica logged and died) is dropped
on read.

Users, sessions and listening decisions depend only on (seed, day, episode) and the
answers, not on concurrency or scheduling. A session whose request fails on every
replica is counted as failed (its partial stats are discarded) and reported.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import aiohttp
import numpy as np
from rich.console import Console
from rich.progress import TaskID

from recctl.sim.rendering import episode_progress
from recctl.sim.replica_client import ReplicaClient, RequestFailed
from recctl.sim.results import SimulationResult
from recctl.sim.session import EpisodeKey, SessionState, episode_user, start_session
from recctl.sim.user_model import UserModel
from recctl.sim.world import World

MAX_ERROR_EXAMPLES = 10
# Called after each episode with (user, session time, steps, failed); True asks to stop
# early (recctl.sim.monitor.SequentialMonitor.on_episode). Running episodes finish.
EpisodeHook = Callable[[int, float, int, bool], bool]


@dataclass
class _Columns:
    """Per-episode outcome arrays, filled by the workers."""

    user: np.ndarray
    session_time: np.ndarray
    steps: np.ndarray
    failed: np.ndarray


def in_shard(world: World, key: EpisodeKey, shard: tuple[int, int]) -> bool:
    """Whether the episode belongs to shard (index, count). Shards split the users, not
    the episodes, so all of a user's sessions run in one shard, in episode order, and the
    service's per-user state sees the same sequence of requests as in a single run."""
    return episode_user(world, key) % shard[1] == shard[0]


def request_id(key: EpisodeKey, step: int, message: str) -> str:
    """The deterministic id of one request of an episode (the same on every retry)."""
    return f"{key.session_id}:{step}:{message}"


async def _run_episode(client: ReplicaClient, world: World, model: UserModel, key: EpisodeKey,
                       index: int, out: _Columns, errors: list[str],
                       user_locks: dict[int, asyncio.Lock]) -> None:
    state = start_session(world, model, key)
    out.user[index] = state.user
    # One session of a user at a time, in episode order (asyncio.Lock is FIFO and episodes
    # ask for it in order): the service's per-user state then sees the same sequence of
    # requests whatever the concurrency, and a real user doesn't listen twice at once.
    async with user_locks.setdefault(state.user, asyncio.Lock()):
        await _play(client, world, model, key, state, index, out, errors)


async def _play(client: ReplicaClient, world: World, model: UserModel, key: EpisodeKey,
                state: SessionState, index: int, out: _Columns, errors: list[str]) -> None:
    try:
        while not state.finished:
            body = {"track": state.last_track, "time": state.last_time,
                    "session": key.session_id}
            answer = await client.post(f"/next/{state.user}", body,
                                       request_id(key, state.steps, "next"))
            track = answer.get("track")
            if not isinstance(track, int) or not 0 <= track < world.n_tracks:
                raise RequestFailed(f"/next/{state.user} answered {answer!r}, "
                                    f"not a track in 0..{world.n_tracks - 1}")
            state.consume(track, world, model)
        await client.post(f"/last/{state.user}", {"track": state.last_track,
                                                  "time": state.last_time,
                                                  "session": key.session_id},
                          request_id(key, state.steps, "last"))
    except RequestFailed as exc:
        out.failed[index] = True
        out.steps[index] = state.steps
        if len(errors) < MAX_ERROR_EXAMPLES:
            errors.append(f"episode {key.session_id}: {exc}")
        return
    out.session_time[index] = state.session_time
    out.steps[index] = state.steps


async def simulate_http(world: World, user_model: UserModel, targets: list[str], *,
                        episodes: int, days: int = 1, seed: int = 0, concurrency: int = 64,
                        console: Console | None = None, progress: bool = True,
                        timeout: float = 10.0, retry_window: float = 20.0,
                        on_episode: EpisodeHook | None = None,
                        shard: tuple[int, int] | None = None) -> SimulationResult:
    """The async form of `run_http_simulation` (same arguments)."""
    console = console or Console(stderr=True)
    total = episodes * days
    out = _Columns(user=np.full(total, -1, dtype=np.int64), session_time=np.full(total, np.nan),
                   steps=np.zeros(total, dtype=np.int64), failed=np.zeros(total, dtype=bool))
    errors: list[str] = []
    user_locks: dict[int, asyncio.Lock] = {}
    stop = asyncio.Event()
    started_episodes = np.zeros(total, dtype=bool)  # all True unless stopped early
    world.interest_neighbours(user_model.interest_neighbours)  # build the cache up front
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency)
    started = time.perf_counter()
    async with aiohttp.ClientSession(connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=timeout)) as session:
        client = ReplicaClient(session, targets, retry_window=retry_window)
        with episode_progress(console, progress) as bar:
            for day in range(days):
                task = bar.add_task(f"day {day}", total=episodes)
                queue = iter(range(episodes))

                async def worker(day: int = day, task: TaskID = task,
                                 queue: Iterator[int] = queue) -> None:
                    for episode in queue:
                        if stop.is_set():
                            break
                        if shard is not None and not in_shard(
                                world, EpisodeKey(seed, day, episode), shard):
                            continue
                        index = day * episodes + episode
                        started_episodes[index] = True
                        await _run_episode(client, world, user_model,
                                           EpisodeKey(seed, day, episode),
                                           index, out, errors, user_locks)
                        bar.advance(task)
                        if on_episode is not None and on_episode(
                                int(out.user[index]), float(out.session_time[index]),
                                int(out.steps[index]), bool(out.failed[index])):
                            stop.set()

                await asyncio.gather(*(worker() for _ in range(min(concurrency, episodes))))
    ran = started_episodes
    return SimulationResult(
        seed=seed, targets=list(client.targets),
        day=np.repeat(np.arange(days, dtype=np.int64), episodes)[ran],
        episode=np.tile(np.arange(episodes, dtype=np.int64), days)[ran],
        user=out.user[ran], session_time=out.session_time[ran], steps=out.steps[ran],
        failed=out.failed[ran],
        acked_requests=client.acked, retried_requests=client.retried,
        acked_by_replica=dict(sorted(client.acked_by_replica.items())),
        busy_retries=client.busy, errors=errors,
        elapsed_seconds=time.perf_counter() - started)


def run_http_simulation(world: World, user_model: UserModel, targets: list[str], *,
                        episodes: int, days: int = 1, seed: int = 0, concurrency: int = 64,
                        console: Console | None = None, progress: bool = True,
                        timeout: float = 10.0, retry_window: float = 20.0,
                        on_episode: EpisodeHook | None = None,
                        shard: tuple[int, int] | None = None) -> SimulationResult:
    """Run simulated users against the service over HTTP and return every episode's outcome.

    Args:
        world, user_model: the hidden world and the user model.
        targets: base URLs (a balancer, or replicas used round robin with failover).
        episodes: sessions per day; each picks a user uniformly at random.
        days: days simulated one after the other.
        seed: with (day, episode) it fixes every random draw of the users.
        concurrency: sessions in flight at once (and the connection pool size).
        console: where the progress bar goes (stderr if None).
        progress: show a progress bar (only on a terminal).
        timeout: seconds per request attempt before failing over.
        retry_window: seconds a failing request keeps being retried (beyond its first
            attempts) while the service answered something else lately: short outages are
            waited out (see ReplicaClient).
        on_episode: called after each episode (user, session time, steps, failed); when it
            returns True no new episode starts (sequential testing's early stop).
        shard: (index, count): run only the episodes whose user is in this shard (see
            `in_shard`); the result then holds those episodes only.
    """
    coroutine = simulate_http(world, user_model, targets, episodes=episodes, days=days,
                              seed=seed, concurrency=concurrency, console=console,
                              progress=progress, timeout=timeout, retry_window=retry_window,
                              on_episode=on_episode, shard=shard)
    try:  # uvloop (installed with uvicorn[standard]) halves the event loop's cost per request
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)
