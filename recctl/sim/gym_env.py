"""A gymnasium environment over the simulated world (optional extra: `pip install recctl[gym]`).

gymnasium is imported only when an environment is made. Observation: {"user", "track"}
(the track just played); action: the next track id; reward: its listen time;
`terminated` when the session's budget runs out, `truncated` at `max_steps`. Episodes are
numbered from 0 on each `reset(seed=...)` and use the same random streams as the other
simulators, so episode e of seed s is the same session everywhere.
"""

from __future__ import annotations

from typing import Any

from recctl.errors import RecctlError
from recctl.sim.session import EpisodeKey, SessionState, start_session
from recctl.sim.user_model import UserModel
from recctl.sim.world import World


def make_env(world: World, user_model: UserModel, seed: int = 0, day: int = 0) -> Any:
    """A `gymnasium.Env` whose episodes are simulated listening sessions."""
    try:
        import gymnasium
        from gymnasium import spaces
    except ModuleNotFoundError:
        raise RecctlError("the gym environment needs gymnasium",
                          "install the extra: pip install 'recctl[gym]'") from None

    class BotifyEnv(gymnasium.Env):
        metadata = {"render_modes": []}

        def __init__(self) -> None:
            self.world, self.user_model = world, user_model
            self.action_space = spaces.Discrete(world.n_tracks)
            self.observation_space = spaces.Dict({"user": spaces.Discrete(world.n_users),
                                                  "track": spaces.Discrete(world.n_tracks)})
            self._seed, self._day, self._episode = seed, day, -1
            self.session: SessionState | None = None

        def _observe(self) -> dict[str, int]:
            assert self.session is not None
            return {"user": self.session.user, "track": self.session.last_track}

        def reset(self, *, seed: int | None = None,
                  options: dict[str, Any] | None = None) -> tuple[dict[str, int], dict]:
            super().reset(seed=seed)
            if seed is not None:
                self._seed, self._episode = seed, -1
            self._episode += 1
            key = EpisodeKey(self._seed, self._day, self._episode)
            self.session = start_session(self.world, self.user_model, key)
            return self._observe(), {"session": key.session_id}

        def step(self, action: int) -> tuple[dict[str, int], float, bool, bool, dict]:
            if self.session is None or self.session.finished:
                raise RuntimeError("call reset() before step()")
            reward = self.session.consume(int(action), self.world, self.user_model)
            truncated = self.session.finished and self.session.budget > 0
            terminated = self.session.finished and not truncated
            return self._observe(), reward, terminated, truncated, {
                "budget": self.session.budget, "session_time": self.session.session_time}

    return BotifyEnv()
