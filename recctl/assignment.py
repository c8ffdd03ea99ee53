"""User -> arm assignment, the course's scheme (a contract: docs/design.md, "Assignment").

arm index = mmh3.hash(str(user), seed=mmh3.hash(EXPERIMENT_NAME), signed=False) % arms;
arm 0 is named "C", then "T1", "T2", ...
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import mmh3


def arm_names(count: int) -> list[str]:
    """The names of `count` arms in order: C, T1, T2, ..."""
    return ["C"] + [f"T{i}" for i in range(1, count)]


@lru_cache(maxsize=64)  # the service asks once per request, for the same few names
def experiment_seed(experiment: str) -> int:
    """The hash seed for an experiment: mmh3 of its name, as an unsigned 32-bit value.

    The course computes the seed as a signed int and older mmh3 releases cast it to
    uint32 in C; mmh3 >= 4 refuses negative seeds, so the cast is made explicit here.
    """
    return mmh3.hash(experiment) & 0xFFFFFFFF


def arm_index(user: int, experiment: str, arms: int) -> int:
    return mmh3.hash(str(user), experiment_seed(experiment), signed=False) % arms


def assign(user: int, experiment: str, arms: Sequence[str]) -> str:
    """The arm name a user falls into for an experiment whose arms are `arms` (in order)."""
    return arms[arm_index(user, experiment, len(arms))]
