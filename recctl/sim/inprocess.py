"""The vectorised in-process simulator: many episodes in lock-step with numpy.

A policy sees a `StepBatch` of the active episodes and returns the next track for each;
recctl.sim.serving.ChainPolicy serves the recommenders (recctl.recommenders) that way,
as the service would. A policy with an `end_sessions(users, episodes, tracks, times)`
method hears each session's last track too (the service's /last). The user model is
the one in `session.py`, with the same random streams, so an episode here equals the
same episode run over HTTP against a recommender that answers the same. With `log_path`
it appends event-log lines exactly as the service would log them (one "next" line per
recommendation, one "last" line per session end), so training and the report can read
in-process traffic like real traffic.
"""

from __future__ import annotations

import time as wallclock
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from recctl.eventlog import InProcessLogWriter
from recctl.sim import streams
from recctl.sim.response import affinity, budget_decrements, listen_times
from recctl.sim.user_model import UserModel
from recctl.sim.world import World


@dataclass
class StepBatch:
    """The active episodes at one step, as seen by a policy."""

    users: np.ndarray  # int64 (n,) user id per active episode
    episodes: np.ndarray  # int64 (n,) episode index within the day
    prev_tracks: np.ndarray  # int64 (n,) track just played
    prev_times: np.ndarray  # float64 (n,) fraction of it listened
    history: np.ndarray  # int64 (n, H) tracks played this episode so far (incl. prev), -1 padded
    history_times: np.ndarray  # float64 (n, H), NaN padded
    rng: np.random.Generator  # for policies that explore (depends on the batch size)
    keys: np.ndarray  # uint64 (n,) each request's random key (seed, day, episode, step)


Policy = Callable[[StepBatch], np.ndarray]  # the next track (int64, (n,)) per row


@dataclass
class InProcessResult:
    """Per-episode outcomes of one simulated day."""

    seed: int
    day: int
    episodes: np.ndarray  # int64 (E,)
    users: np.ndarray  # int64 (E,)
    session_time: np.ndarray  # float64 (E,) sum of listen times of recommended tracks
    steps: np.ndarray  # int64 (E,) recommendations per episode
    lines_written: int
    elapsed_seconds: float

    @property
    def total_steps(self) -> int:
        return int(self.steps.sum())

    @property
    def steps_per_second(self) -> float:
        return self.total_steps / self.elapsed_seconds if self.elapsed_seconds > 0 else 0.0


def _start(world: World, model: UserModel, seed: int, day: int,
           episodes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Users, session interests and first tracks (see session.start_session)."""
    users = streams.choose_index(streams.uniforms(seed, day, episodes, streams.USER),
                                 world.n_users)
    slots = streams.choose_index(streams.uniforms(seed, day, episodes, streams.INTEREST),
                                 world.interests.shape[1])
    neighbours = world.interest_neighbours(model.interest_neighbours)[users, slots]
    picks = streams.choose_index(streams.uniforms(seed, day, episodes, streams.FIRST_TRACK),
                                 neighbours.shape[1])
    first = neighbours[np.arange(len(episodes)), picks]
    return users, world.interests[users, slots], first


def _check_recommendations(recs: np.ndarray, n: int, n_tracks: int) -> np.ndarray:
    recs = np.asarray(recs)
    if recs.shape != (n,) or not np.issubdtype(recs.dtype, np.integer):
        raise ValueError(f"a policy must return {n} integer track ids, got {recs.dtype} "
                         f"{recs.shape}")
    if n and (recs.min() < 0 or recs.max() >= n_tracks):
        raise ValueError(f"a policy returned a track outside 0..{n_tracks - 1}")
    return recs.astype(np.int64, copy=False)


def _simulate_batch(world: World, model: UserModel, policy: Policy, seed: int, day: int,
                    episodes: np.ndarray, writer: InProcessLogWriter | None,
                    arms: list[str] | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = len(episodes)
    users, interests, first = _start(world, model, seed, day, episodes)
    interest_vectors = world.embeddings[interests]
    bias, sharpness = world.consume_bias[users], world.consume_sharpness[users]
    capacity = 16
    history = np.full((n, capacity), -1, dtype=np.int64)
    history_times = np.full((n, capacity), np.nan)
    history[:, 0], history_times[:, 0] = first, 1.0
    budget = np.full(n, model.session_budget, dtype=np.int64)
    session_time, steps = np.zeros(n), np.zeros(n, dtype=np.int64)
    active = np.arange(n)
    batch_rng = np.random.default_rng([seed & 0xFFFFFFFF, day, int(episodes[0]), 0x5EED])
    end_sessions = getattr(policy, "end_sessions", None)
    step = 0
    while active.size:
        length = step + 1  # lock-step: every active episode has played `length` tracks
        if length >= capacity:
            capacity *= 2
            history = np.pad(history, ((0, 0), (0, capacity - history.shape[1])),
                             constant_values=-1)
            history_times = np.pad(history_times, ((0, 0), (0, capacity - history_times.shape[1])),
                                   constant_values=np.nan)
        seen, seen_times = history[active, :length], history_times[active, :length]
        batch = StepBatch(users=users[active], episodes=episodes[active],
                          prev_tracks=seen[:, -1], prev_times=seen_times[:, -1],
                          history=seen, history_times=seen_times, rng=batch_rng,
                          keys=streams.keys(seed, day, episodes[active], streams.RECOMMEND,
                                            step))
        recs = _check_recommendations(policy(batch), active.size, world.n_tracks)
        artists_seen = world.track_artist[seen]
        times = listen_times(
            affinity(world.embeddings, recs, interest_vectors[active]), bias[active],
            sharpness[active], (artists_seen == world.track_artist[recs][:, None]).sum(axis=1),
            (seen == recs[:, None]).any(axis=1), model)
        draws = streams.uniforms(seed, day, episodes[active], streams.BUDGET, step + 1)
        budget[active] -= budget_decrements(times, draws)
        history[active, length], history_times[active, length] = recs, times
        steps[active] += 1
        session_time[active] += times
        done = (budget[active] <= 0) | (steps[active] >= model.max_steps)
        if end_sessions is not None and done.any():
            end_sessions(users[active[done]], episodes[active[done]], recs[done], times[done])
        if writer is not None:
            writer.next_lines(users[active], episodes[active], batch.prev_tracks,
                              batch.prev_times, recs, arms, active)
            ended = active[done]
            writer.last_lines(users[ended], episodes[ended], recs[done], times[done], arms, ended)
        active = active[~done]
        step += 1
    return users, session_time, steps


def simulate_in_process(world: World, user_model: UserModel, policy: Policy, *, episodes: int,
                        seed: int, day: int = 0, log_path: Path | None = None,
                        experiment: str | None = None,
                        arm_of: Callable[[np.ndarray], list[str]] | None = None,
                        batch_size: int = 4096) -> InProcessResult:
    """Simulate `episodes` sessions of one day against `policy`.

    Args:
        world, user_model: the world and the user model.
        policy: maps a StepBatch to the next track per active episode.
        episodes: sessions to simulate (episode indices 0..episodes-1 of `day`).
        seed, day: with the episode index, they fix every random draw of the user model.
        log_path: if given, event-log lines are appended to this file.
        experiment, arm_of: log `experiments = {experiment: arm_of(users)[i]}` per line.
        batch_size: episodes run in lock-step at once. Results do not depend on it unless
            the policy uses `StepBatch.rng`, or keeps per-user state (then a user's
            episodes in one batch run side by side, like concurrent sessions).
    """
    if (experiment is None) != (arm_of is None):
        raise ValueError("pass both `experiment` and `arm_of`, or neither")
    started = wallclock.perf_counter()
    all_users = np.empty(episodes, dtype=np.int64)
    all_time, all_steps = np.empty(episodes), np.empty(episodes, dtype=np.int64)
    writer = InProcessLogWriter(log_path, seed, day, experiment) if log_path is not None else None
    try:
        for start in range(0, episodes, batch_size):
            ids = np.arange(start, min(episodes, start + batch_size), dtype=np.int64)
            users = streams.choose_index(streams.uniforms(seed, day, ids, streams.USER),
                                         world.n_users)
            arms = list(arm_of(users)) if arm_of is not None else None
            batch_users, batch_time, batch_steps = _simulate_batch(
                world, user_model, policy, seed, day, ids, writer, arms)
            all_users[ids], all_time[ids], all_steps[ids] = batch_users, batch_time, batch_steps
    finally:
        lines = writer.close() if writer is not None else 0
    return InProcessResult(seed=seed, day=day, episodes=np.arange(episodes, dtype=np.int64),
                           users=all_users, session_time=all_time, steps=all_steps,
                           lines_written=lines, elapsed_seconds=wallclock.perf_counter() - started)
