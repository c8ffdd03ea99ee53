"""The vectorised in-process simulator: agrees with the step-by-step session, does not
depend on the batch size, and logs events exactly as the service would."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sim_fixtures import hash_recommendation

from recctl.eventlog import read_events
from recctl.sim.agents import scalar_policy
from recctl.sim.inprocess import StepBatch, simulate_in_process
from recctl.sim.serving import random_policy
from recctl.sim.session import EpisodeKey, start_session
from recctl.sim.user_model import UserModel
from recctl.sim.world import World


def hash_policy(world: World):  # noqa: ANN201
    """A deterministic recommender: the next track is a fixed function of (user, track)."""
    return scalar_policy(lambda user, track, _time: hash_recommendation(user, track,
                                                                        world.n_tracks))


def test_matches_the_scalar_session_episode_by_episode(small_world: World,
                                                       user_model: UserModel) -> None:
    result = simulate_in_process(small_world, user_model, hash_policy(small_world),
                                 episodes=300, seed=4, day=2, batch_size=64)
    for episode in range(300):
        state = start_session(small_world, user_model, EpisodeKey(4, 2, episode))
        while not state.finished:
            state.consume(hash_recommendation(state.user, state.last_track,
                                              small_world.n_tracks), small_world, user_model)
        assert result.users[episode] == state.user
        assert result.steps[episode] == state.steps
        assert result.session_time[episode] == pytest.approx(state.session_time, abs=1e-9)


def test_batch_size_does_not_change_the_outcome(small_world: World,
                                                user_model: UserModel) -> None:
    a = simulate_in_process(small_world, user_model, hash_policy(small_world), episodes=500,
                            seed=9, batch_size=500)
    b = simulate_in_process(small_world, user_model, hash_policy(small_world), episodes=500,
                            seed=9, batch_size=37)
    assert np.array_equal(a.users, b.users) and np.array_equal(a.steps, b.steps)
    assert np.array_equal(a.session_time, b.session_time)
    c = simulate_in_process(small_world, user_model, hash_policy(small_world), episodes=500,
                            seed=10)
    assert not np.array_equal(a.users, c.users)


def test_event_log_lines_are_what_the_service_would_log(tmp_path: Path, small_world: World,
                                                        user_model: UserModel) -> None:
    log = tmp_path / "logs" / "data.json"
    arms = {0: "C", 1: "T1"}
    result = simulate_in_process(
        small_world, user_model, random_policy(small_world.n_tracks), episodes=200, seed=3,
        day=1, log_path=log, experiment="EXP", arm_of=lambda users: [arms[u % 2] for u in users],
        batch_size=50)
    events, summary = read_events([log])
    assert summary.malformed == 0
    assert result.lines_written == len(events) == result.total_steps + 200
    assert (events["latency"] == 0).all() and (events["replica"] == "inprocess").all()
    assert events["timestamp_us"].is_monotonic_increasing
    assert (events["exp:EXP"].astype(str) == np.where(events["user"] % 2, "T1", "C")).all()
    for episode in (0, 57, 199):
        lines = events[events["session"] == f"3-1-{episode}"]
        assert list(lines["message"]) == ["next"] * result.steps[episode] + ["last"]
        assert (lines["user"] == result.users[episode]).all()
        recs = lines["recommendation"].to_numpy()
        # Each line reports the track the previous line recommended, and how long it played.
        assert np.array_equal(lines["track"].to_numpy()[1:], recs[:-1])
        assert lines["time"].iloc[0] == 1.0 and recs[-1] == -1
        assert lines["time"].iloc[1:].sum() == pytest.approx(result.session_time[episode])
    # Appending another day keeps earlier lines and keeps timestamps increasing.
    simulate_in_process(small_world, user_model, random_policy(small_world.n_tracks),
                        episodes=10, seed=3, day=2, log_path=log)
    events, _ = read_events([log])
    assert events["timestamp_us"].is_monotonic_increasing


def test_policies_see_the_history_and_bad_answers_are_refused(small_world: World,
                                                              user_model: UserModel) -> None:
    seen: list[StepBatch] = []

    def recording(batch: StepBatch) -> np.ndarray:
        seen.append(batch)
        assert np.array_equal(batch.history[:, -1], batch.prev_tracks)
        return (batch.prev_tracks + 1) % small_world.n_tracks

    simulate_in_process(small_world, user_model, recording, episodes=20, seed=1)
    assert seen[0].history.shape == (20, 1) and (seen[0].prev_times == 1.0).all()
    assert seen[1].history.shape[1] == 2 and seen[1].history.dtype == np.int64
    with pytest.raises(ValueError, match="outside"):
        simulate_in_process(small_world, user_model,
                            lambda b: np.full(len(b.users), -1), episodes=5, seed=1)
    with pytest.raises(ValueError, match="integer"):
        simulate_in_process(small_world, user_model,
                            lambda b: np.zeros(len(b.users)), episodes=5, seed=1)


def test_sessions_that_never_run_out_are_cut_at_max_steps(small_world: World) -> None:
    patient = UserModel(session_budget=1_000, max_steps=7)
    result = simulate_in_process(small_world, patient, random_policy(small_world.n_tracks),
                                 episodes=50, seed=1)
    assert (result.steps == 7).all()
