"""Counter-based random streams: every random draw of an episode is a pure function of
(seed, day, episode, stream, step).

The simulator's users, sessions and listening decisions must not depend on how episodes
are scheduled (workers, concurrency, batch size). Instead of one sequential generator,
each draw is hashed from its coordinates with the SplitMix64 finaliser:

    key = mix(mix(mix(mix(seed) ^ day) ^ episode) ^ (stream << 32 | step))
    u   = (key >> 11) * 2**-53            # uniform on [0, 1), 53 random bits

so the scalar path (HTTP runner, gym env) and the vectorised path (in-process) draw the
same numbers for the same episode. The mixing function is the recommenders' one
(recctl.recommenders.draws); `keys` gives the in-process simulator's request keys.
"""

from __future__ import annotations

import numpy as np

from recctl.recommenders.draws import MASK as _MASK
from recctl.recommenders.draws import mix as _mix
from recctl.recommenders.draws import mix_int as _mix_int

# Streams of an episode (the `stream` coordinate).
USER = 1  # which user starts the episode
INTEREST = 2  # which of the user's interests is the session's
FIRST_TRACK = 3  # which of the interest's neighbours is played first
BUDGET = 4  # the uniform compared with the listen time at each step
RECOMMEND = 5  # the key of the request at each step (the recommenders' draws)


def _u64(value: int | np.ndarray) -> np.ndarray:
    """Integers as uint64 (negative ones wrap modulo 2**64)."""
    if isinstance(value, np.ndarray):
        return value.astype(np.int64, copy=False).astype(np.uint64)
    return np.asarray(int(value) & _MASK, dtype=np.uint64)


def keys(seed: int, day: int, episodes: np.ndarray | int, stream: int,
         step: np.ndarray | int = 0) -> np.ndarray:
    """The 64-bit keys behind `uniforms` (uint64 array)."""
    with np.errstate(over="ignore"):
        key = _mix(_u64(seed))
        key = _mix(key ^ _u64(day))
        key = _mix(key ^ _u64(np.asarray(episodes, dtype=np.int64)))
        tag = (np.uint64(stream) << np.uint64(32)) | _u64(np.asarray(step, dtype=np.int64))
        return _mix(key ^ tag)


def uniforms(seed: int, day: int, episodes: np.ndarray | int, stream: int,
             step: np.ndarray | int = 0) -> np.ndarray:
    """Uniform draws on [0, 1), one per episode (broadcast with `step`), as float64.

    Args:
        seed: the simulation seed.
        day: the day index.
        episodes: episode indices within the day (int array or one int).
        stream: one of USER, INTEREST, FIRST_TRACK, BUDGET.
        step: the step within the episode (array broadcast with `episodes`, or one int).
    """
    key = keys(seed, day, episodes, stream, step)
    return (key >> np.uint64(11)).astype(np.float64) * (2.0 ** -53)


def uniform(seed: int, day: int, episode: int, stream: int, step: int = 0) -> float:
    """One draw of `uniforms`, for the step-by-step paths (HTTP runner, gym env).

    Plain integer arithmetic gives exactly the numpy path's bits about 20x faster, which
    matters at one call per request.
    """
    key = _mix_int(seed & _MASK)
    key = _mix_int(key ^ (day & _MASK))
    key = _mix_int(key ^ (episode & _MASK))
    key = _mix_int(key ^ (((stream << 32) | (step & _MASK)) & _MASK))
    return (key >> 11) * 2.0 ** -53


def choose_index(u: np.ndarray | float, n: int | np.ndarray) -> np.ndarray:
    """Map uniforms on [0, 1) to indices in [0, n): floor(u * n), as int64."""
    return np.minimum(np.floor(u * n).astype(np.int64), np.asarray(n, dtype=np.int64) - 1)
