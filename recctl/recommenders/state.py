"""Per-user state in memory, for batches: heard tracks across sessions, last liked track.

The same semantics as the service's Redis state (recctl.botify.store): each request
first records the track just played (and, if it was listened to for at least the
chain's liked threshold, makes it the user's last liked track), then the recommenders
read the state. There is no TTL: an in-process run is shorter than the service's.

Heard tracks are int64 keys `user * stride + track` in two sorted arrays: a large one
and a small recent one merged into it now and then, so a step's insert costs a small
merge and a lookup is a binary search.
"""

from __future__ import annotations

import numpy as np

from recctl.recommenders.types import UserState

EMPTY = np.empty(0, dtype=np.int64)


def _member(sorted_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    if len(sorted_keys) == 0:
        return np.zeros(keys.shape, dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    return sorted_keys[pos] == keys


def _merged(sorted_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    # Duplicates are harmless for membership; a stable sort of a sorted run plus a few
    # keys is near linear (np.union1d hashes everything again).
    return np.sort(np.concatenate([sorted_keys, keys]), kind="stable")


class UserStates:
    """Heard sets and last liked tracks of many users (`stride` > every track id)."""

    def __init__(self, stride: int) -> None:
        self.stride = max(int(stride), 1)
        self.main = EMPTY
        self.recent = EMPTY
        self._liked = np.full(0, -1, dtype=np.int64)

    def _keys(self, users: np.ndarray, tracks: np.ndarray) -> np.ndarray:
        return np.asarray(users, dtype=np.int64) * self.stride + np.asarray(tracks, np.int64)

    def record(self, users: np.ndarray, tracks: np.ndarray, liked: np.ndarray) -> None:
        """Mark each (user, track) heard; where `liked`, it becomes the user's liked track."""
        users = np.asarray(users, dtype=np.int64)
        tracks = np.asarray(tracks, dtype=np.int64)
        if len(users) == 0:
            return
        self.recent = _merged(self.recent, self._keys(users, tracks))
        if len(self.recent) > 4096 + len(self.main) // 8:
            self.main, self.recent = _merged(self.main, self.recent), EMPTY
        if (top := int(users.max())) >= len(self._liked):
            grown = np.full(max(top + 1, 2 * len(self._liked)), -1, dtype=np.int64)
            grown[: len(self._liked)] = self._liked
            self._liked = grown
        rows = np.flatnonzero(np.asarray(liked, dtype=bool))
        self._liked[users[rows]] = tracks[rows]  # a user twice in one call: the last row wins

    def heard(self, users: np.ndarray, tracks: np.ndarray) -> np.ndarray:
        valid = (tracks >= 0) & (tracks < self.stride)
        keys = self._keys(users, tracks)
        return valid & (_member(self.main, keys) | _member(self.recent, keys))

    def liked(self, users: np.ndarray) -> np.ndarray:
        users = np.asarray(users, dtype=np.int64)
        inside = users < len(self._liked)
        out = np.full(len(users), -1, dtype=np.int64)
        out[inside] = self._liked[users[inside]]
        return out

    def user_state(self, user: int) -> UserState:
        low, high = user * self.stride, (user + 1) * self.stride
        heard: set[int] = set()
        for keys in (self.main, self.recent):
            a, b = np.searchsorted(keys, [low, high])
            heard.update((keys[a:b] - low).tolist())
        liked = int(self.liked(np.array([user]))[0])
        return UserState(heard=heard, liked=liked if liked >= 0 else None, heard_as_bytes=False)
