"""Batch policies for the in-process simulator, mirroring the service's recommenders.

A policy maps a batch of active episodes to one next track per row. Like the service's
`Recommender.pick`, each draws a random allowed track from its list (never the track
just played; with `exclude_heard`, no track heard this session) and, when nothing is
allowed, hands the row to the next source of its chain, ending in top-pop then random.

    random          a uniform catalog track
    top_pop         a random track of the top-k list
    indexed         the user's list (DSSM); skips tracks heard this session
    contextual      the i2i list of the track just played
    contextual_mod  the i2i list of the last track listened to >= liked_threshold,
                    else the user's list; heard tracks skipped; then top-pop, random
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from recctl.artifacts import ArtifactSet


class Batch(Protocol):
    """What a policy reads of the simulator's StepBatch (recctl.sim.inprocess)."""

    users: np.ndarray
    prev_tracks: np.ndarray
    prev_times: np.ndarray
    history: np.ndarray
    history_times: np.ndarray
    rng: np.random.Generator


Policy = Callable[[Batch], np.ndarray]


@dataclass(frozen=True)
class Tables:
    """Artifacts as dense arrays indexed by id, -1 padded."""

    n_tracks: int
    top: np.ndarray  # (k,)
    item_lists: Mapping[str, np.ndarray]  # name -> (n_tracks, k)
    user_lists: Mapping[str, np.ndarray]  # name -> (n_users, k)


def dense_table(keys: np.ndarray, lists: np.ndarray, size: int) -> np.ndarray:
    table = np.full((size, lists.shape[1] if lists.ndim == 2 else 0), -1, dtype=np.int64)
    inside = (keys >= 0) & (keys < size)
    table[keys[inside]] = lists[inside]
    return table


def _padded(rows: list[tuple[int, list[int]]]) -> tuple[np.ndarray, np.ndarray]:
    width = max((len(r) for _, r in rows), default=0)
    lists = np.full((len(rows), width), -1, dtype=np.int64)
    for i, (_, r) in enumerate(rows):
        lists[i, : len(r)] = r
    return np.array([k for k, _ in rows], dtype=np.int64), lists


def tables_from_artifacts(artifacts: ArtifactSet, n_tracks: int, n_users: int) -> Tables:
    """Load an artifacts folder (as the service would) into dense tables."""
    items = {
        name: dense_table(*_padded(list(artifacts.item_lists(name))), n_tracks)
        for name in artifacts.names("item_list")
    }
    users = {
        name: dense_table(*_padded(list(artifacts.user_lists(name))), n_users)
        for name in artifacts.names("user_list")
    }
    return Tables(n_tracks, np.asarray(artifacts.top_tracks(), dtype=np.int64), items, users)


def pick(candidates: np.ndarray, batch: Batch, exclude_heard: bool) -> np.ndarray:
    """A uniformly random allowed candidate per row, -1 where none is allowed."""
    if candidates.shape[1] == 0:
        return np.full(len(candidates), -1, dtype=np.int64)
    allowed = (candidates >= 0) & (candidates != batch.prev_tracks[:, None])
    if exclude_heard and batch.history.shape[1]:
        heard = (candidates[:, :, None] == batch.history[:, None, :]).any(axis=2)
        allowed &= ~heard
    keys = np.where(allowed, batch.rng.random(candidates.shape), -1.0)
    best = keys.argmax(axis=1)
    chosen = candidates[np.arange(len(candidates)), best]
    return np.where(allowed.any(axis=1), chosen, -1).astype(np.int64)


def _chain(
    batch: Batch,
    sources: Sequence[Callable[[np.ndarray], np.ndarray]],
    n_tracks: int,
    exclude_heard: bool,
) -> np.ndarray:
    """Ask each source (rows -> candidate lists) for the rows still without a track."""
    out = np.full(len(batch.users), -1, dtype=np.int64)
    for source in sources:
        todo = np.flatnonzero(out < 0)
        if len(todo) == 0:
            return out
        out[todo] = pick(source(todo), _Rows(batch, todo), exclude_heard)
    unanswered = out < 0  # last resort: uniform random, as the service's final fallback
    out[unanswered] = batch.rng.integers(0, n_tracks, int(unanswered.sum()))
    return out


class _Rows:
    """A view of some rows of a batch."""

    def __init__(self, batch: Batch, rows: np.ndarray) -> None:
        self.users = batch.users[rows]
        self.prev_tracks = batch.prev_tracks[rows]
        self.prev_times = batch.prev_times[rows]
        self.history = batch.history[rows]
        self.history_times = batch.history_times[rows]
        self.rng = batch.rng


def _user_rows(table: np.ndarray, batch: Batch) -> Callable[[np.ndarray], np.ndarray]:
    def source(rows: np.ndarray) -> np.ndarray:
        users = batch.users[rows]
        ok = (users >= 0) & (users < len(table))
        out = np.full((len(rows), table.shape[1]), -1, dtype=np.int64)
        out[ok] = table[users[ok]]
        return out

    return source


def _top(tables: Tables, k: int) -> Callable[[np.ndarray], np.ndarray]:
    return lambda rows: np.broadcast_to(tables.top[:k], (len(rows), len(tables.top[:k])))


def last_liked(batch: Batch, threshold: float) -> np.ndarray:
    """The last track of each row's session listened to >= threshold, -1 if none."""
    liked = np.nan_to_num(batch.history_times, nan=-1.0) >= threshold
    liked &= batch.history >= 0
    last = liked.shape[1] - 1 - np.argmax(liked[:, ::-1], axis=1)
    return np.where(liked.any(axis=1), batch.history[np.arange(len(last)), last], -1)


def random_policy(n_tracks: int) -> Policy:
    return lambda batch: batch.rng.integers(0, n_tracks, len(batch.users)).astype(np.int64)


def top_pop_policy(tables: Tables, k: int = 100) -> Policy:
    return lambda b: _chain(b, [_top(tables, k)], tables.n_tracks, exclude_heard=False)


def indexed_policy(
    tables: Tables, artifact: str = "dssm", exclude_heard: bool = True, k: int = 100
) -> Policy:
    table = tables.user_lists[artifact]
    return lambda b: _chain(
        b, [_user_rows(table, b), _top(tables, k)], tables.n_tracks, exclude_heard
    )


def contextual_policy(tables: Tables, artifact: str = "i2i", k: int = 100) -> Policy:
    table = tables.item_lists[artifact]
    return lambda b: _chain(
        b,
        [lambda rows: table[b.prev_tracks[rows]], _top(tables, k)],
        tables.n_tracks,
        exclude_heard=False,
    )


def contextual_mod_policy(
    tables: Tables,
    i2i: str = "i2i",
    user_list: str = "dssm",
    liked_threshold: float = 0.7,
    k: int = 100,
) -> Policy:
    items, users = tables.item_lists[i2i], tables.user_lists[user_list]

    def policy(b: Batch) -> np.ndarray:
        anchor = last_liked(b, liked_threshold)

        def from_liked(rows: np.ndarray) -> np.ndarray:
            out = items[np.maximum(anchor[rows], 0)].copy()
            out[anchor[rows] < 0] = -1
            return out

        return _chain(
            b,
            [from_liked, _user_rows(users, b), _top(tables, k)],
            tables.n_tracks,
            exclude_heard=True,
        )

    return policy


def mixture_policy(
    arms: Sequence[Policy],
    arm_of_row: Callable[[Batch], np.ndarray],
    n_tracks: int,
    explore: float = 0.0,
) -> Policy:
    """Each row served by arm `arm_of_row(batch)[row]`; a share `explore` of steps random."""

    def policy(b: Batch) -> np.ndarray:
        arm = arm_of_row(b)
        out = np.empty(len(b.users), dtype=np.int64)
        for index, arm_policy in enumerate(arms):
            rows = np.flatnonzero(arm == index)
            if len(rows):
                out[rows] = arm_policy(_Rows(b, rows))
        explore_rows = b.rng.random(len(out)) < explore
        out[explore_rows] = b.rng.integers(0, n_tracks, int(explore_rows.sum()))
        return out

    return policy
