"""The gymnasium environment plays the same sessions as the other simulators."""

from __future__ import annotations

import pytest

from recctl.sim.session import EpisodeKey, start_session
from recctl.sim.user_model import UserModel
from recctl.sim.world import World

gymnasium = pytest.importorskip("gymnasium")


def test_env_episodes_are_the_sessions_of_the_seed(small_world: World,
                                                   user_model: UserModel) -> None:
    from recctl.sim.gym_env import make_env

    env = make_env(small_world, user_model, seed=5)
    assert isinstance(env, gymnasium.Env)
    for episode in range(3):
        observation, info = env.reset(seed=5) if episode == 0 else env.reset()
        state = start_session(small_world, user_model, EpisodeKey(5, 0, episode))
        assert observation == {"user": state.user, "track": state.last_track}
        assert info["session"] == f"5-0-{episode}"
        terminated = truncated = False
        total = 0.0
        while not (terminated or truncated):
            action = (observation["track"] * 31 + 7) % small_world.n_tracks
            observation, reward, terminated, truncated, info = env.step(action)
            state.consume(action, small_world, user_model)
            assert reward == state.last_time
            total += reward
        assert terminated and info["budget"] <= 0 and state.finished
        assert total == pytest.approx(state.session_time)
    with pytest.raises(RuntimeError):
        env.step(0)
