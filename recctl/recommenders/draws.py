"""Counter-based random draws: every draw of a recommender is a pure function of a key.

A request carries a 64-bit `key` (the service hashes what the request asks; the
in-process simulator derives it from the episode and step). Draw `t` of the draw slot
`slot` (a recommender's place in its chain and which of its lists) is

    u = (mix(key ^ (slot << 8 | t)) >> 11) * 2**-53        # uniform on [0, 1)

with `mix` the SplitMix64 finaliser. The scalar path (one request, plain Python ints)
and the vectorised path (numpy uint64 arrays, whose multiplication wraps modulo 2**64)
give the same bits, so a query gets the same track both ways. recctl.sim.streams
uses the same `mix` for the simulated users' draws.
"""

from __future__ import annotations

import mmh3
import numpy as np

MASK = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
_M1 = 0xBF58476D1CE4E5B9
_M2 = 0x94D049BB133111EB
UNIT = 2.0 ** -53


def mix_int(x: int) -> int:
    """SplitMix64 on a Python int (masked to 64 bits): the same bits as `mix`, no numpy."""
    x = (x + GOLDEN) & MASK
    x = ((x ^ (x >> 30)) * _M1) & MASK
    x = ((x ^ (x >> 27)) * _M2) & MASK
    return x ^ (x >> 31)


def mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64 on a uint64 array: add the golden gamma, then the avalanche finaliser."""
    with np.errstate(over="ignore"):
        x = x + np.uint64(GOLDEN)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(_M1)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(_M2)
    return x ^ (x >> np.uint64(31))


def request_key(seed: int, session: str, user: int, track: int, time: float) -> int:
    """The service's key for a request of a simulated session: a hash of what it asks,
    so the answer does not depend on the order in which concurrent requests arrive."""
    return int(mmh3.hash64(f"{session}|{user}|{track}|{time}", seed & 0xFFFFFFFF,
                           signed=False)[0])


def uniform(key: int, slot: int, draw: int) -> float:
    """Draw `draw` of `slot` for a request key, on [0, 1)."""
    return (mix_int(key ^ ((slot << 8) | draw)) >> 11) * UNIT


def uniforms(keys: np.ndarray, slot: int, draw: int) -> np.ndarray:
    """`uniform` for a uint64 array of keys (float64 array)."""
    tag = np.uint64((slot << 8) | draw)
    return (mix(keys ^ tag) >> np.uint64(11)).astype(np.float64) * UNIT


def index(u: float, n: int) -> int:
    """A uniform on [0, 1) as an index in [0, n)."""
    return min(int(u * n), n - 1)


def indices(u: np.ndarray, n: np.ndarray | int) -> np.ndarray:
    """`index` for arrays (int64); rows with n == 0 get -1."""
    n = np.asarray(n, dtype=np.int64)
    return np.minimum((u * n).astype(np.int64), n - 1)
