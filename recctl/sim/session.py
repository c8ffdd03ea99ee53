"""One simulated listening session, step by step (the scalar path: HTTP runner, gym env).

State is kept apart from the dynamics: `SessionState` holds what happened so far;
`start_session` and `SessionState.consume` apply the user model. Every random draw comes
from `streams.uniforms(seed, day, episode, ...)`, so a session is the same whichever
worker runs it and whatever else runs concurrently, and it matches the vectorised
in-process simulator episode for episode.

    user      = floor(u_USER * U)
    interest  = interests[user][floor(u_INTEREST * 3)]
    first     = neighbours_k(interest)[floor(u_FIRST * k)]     listened to in full (1.0)
    then per recommendation: response.listen_times, budget -= [u_BUDGET(step) > time]
    ends when budget <= 0 or after max_steps recommendations
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from recctl.sim import streams
from recctl.sim.response import affinity, budget_decrements, listen_times
from recctl.sim.user_model import UserModel
from recctl.sim.world import World


@dataclass(frozen=True)
class EpisodeKey:
    """The coordinates of an episode; with the seed they fix all its random draws."""

    seed: int
    day: int
    episode: int

    @property
    def session_id(self) -> str:
        return f"{self.seed}-{self.day}-{self.episode}"


@dataclass
class SessionState:
    """What happened in one session so far."""

    key: EpisodeKey
    user: int
    interest: int
    budget: int
    tracks: list[int] = field(default_factory=list)  # played, first track included
    times: list[float] = field(default_factory=list)
    artist_plays: Counter[int] = field(default_factory=Counter)
    steps: int = 0  # recommendations consumed
    session_time: float = 0.0  # sum of listen times of recommended tracks
    finished: bool = False
    _user_arrays: tuple[np.ndarray, np.ndarray, np.ndarray] | None = field(
        default=None, repr=False, compare=False)

    @property
    def last_track(self) -> int:
        return self.tracks[-1]

    @property
    def last_time(self) -> float:
        return self.times[-1]

    def consume(self, track: int, world: World, model: UserModel) -> float:
        """Listen to a recommended track; returns the listen time and updates the budget."""
        if self.finished:
            raise RuntimeError("the session has already ended")
        if not 0 <= track < world.n_tracks:
            raise ValueError(f"track {track} is not in the catalog (0..{world.n_tracks - 1})")
        self.steps += 1
        artist = int(world.track_artist[track])
        if self._user_arrays is None:  # the same length-1 arrays every step of the session
            self._user_arrays = (world.embeddings[[self.interest]],
                                 world.consume_bias[[self.user]],
                                 world.consume_sharpness[[self.user]])
        interest, bias, sharpness = self._user_arrays
        time = float(listen_times(
            affinity(world.embeddings, np.array([track]), interest), bias, sharpness,
            np.array([self.artist_plays[artist]]), np.array([track in self.tracks]), model,
        )[0])
        draw = streams.uniform(self.key.seed, self.key.day, self.key.episode,
                               streams.BUDGET, self.steps)
        self.budget -= int(budget_decrements(np.array([time]), np.array([draw]))[0])
        self.tracks.append(track)
        self.times.append(time)
        self.artist_plays[artist] += 1
        self.session_time += time
        if self.budget <= 0 or self.steps >= model.max_steps:
            self.finished = True
        return time


def episode_user(world: World, key: EpisodeKey) -> int:
    """The user an episode picks (its first draw; known before the session starts)."""
    return int(streams.choose_index(
        streams.uniform(key.seed, key.day, key.episode, streams.USER), world.n_users))


def start_session(world: World, model: UserModel, key: EpisodeKey) -> SessionState:
    """Pick the episode's user, session interest and first track (listened to in full)."""
    user = episode_user(world, key)
    n_interests = world.interests.shape[1]
    slot = int(streams.choose_index(
        streams.uniform(key.seed, key.day, key.episode, streams.INTEREST), n_interests))
    neighbours = world.interest_neighbours(model.interest_neighbours)[user, slot]
    first = int(neighbours[int(streams.choose_index(
        streams.uniform(key.seed, key.day, key.episode, streams.FIRST_TRACK), len(neighbours)))])
    state = SessionState(key=key, user=user, interest=int(world.interests[user, slot]),
                         budget=model.session_budget)
    state.tracks.append(first)
    state.times.append(1.0)
    state.artist_plays[int(world.track_artist[first])] += 1
    return state
