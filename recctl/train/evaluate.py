"""Offline evaluation on held-out sessions: recall@k and nDCG@k, each artifact vs top-pop.

Two tasks, one per artifact kind, each scored the way the list is served (a missing or
short list is filled from top-pop, as the service's fallback does):

- `user` (user lists, e.g. DSSM): a held-out session's positive listens (time >= 0.8)
  are the targets of the user's list.
- `next` (item lists, e.g. i2i): each positive listen with an earlier positive in its
  session is the target of the list of the latest earlier positive (contextual_mod's
  anchor).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from recctl.constants import POSITIVE_THRESHOLD
from recctl.train.listens import Listens


@dataclass(frozen=True)
class Cases:
    """Evaluation cases: a key per case (user or anchor track) and (case, target) pairs."""

    keys: np.ndarray  # int64 (n_cases,)
    pair_case: np.ndarray  # int64 (n_pairs,)
    pair_target: np.ndarray  # int64 (n_pairs,)


def user_cases(holdout: Listens, threshold: float = POSITIVE_THRESHOLD) -> Cases:
    pos = holdout.positives(threshold)
    sessions, first = np.unique(holdout.session[pos], return_index=True)
    keys = holdout.user[pos][first]
    pairs = np.unique(np.stack([holdout.session[pos], holdout.track[pos]]), axis=1)
    case = np.searchsorted(sessions, pairs[0])
    return Cases(keys.astype(np.int64), case.astype(np.int64), pairs[1].astype(np.int64))


def next_cases(holdout: Listens, threshold: float = POSITIVE_THRESHOLD) -> Cases:
    pos_rows = np.flatnonzero(holdout.positives(threshold))
    if len(pos_rows) < 2:
        return Cases(*(np.zeros(0, dtype=np.int64),) * 3)
    prev, cur = pos_rows[:-1], pos_rows[1:]
    same = holdout.session[prev] == holdout.session[cur]
    anchors, targets = holdout.track[prev[same]], holdout.track[cur[same]]
    keep = anchors != targets
    n = int(keep.sum())
    return Cases(anchors[keep], np.arange(n, dtype=np.int64), targets[keep])


def fill_lists(lists: np.ndarray, fallback: np.ndarray, k: int) -> np.ndarray:
    """Each row's list, de-duplicated, then topped up from `fallback` to k entries.

    Rows whose list is already clean (no repeats, its entries before its -1 padding) take
    a fast path, a lookup of the fallback's few tracks; any other row the general one."""
    lead = lists[:, :k]
    n, width = lead.shape
    width_fb = k
    valid = lead >= 0
    ordered = np.sort(lead, axis=1)
    repeats = ((ordered[:, 1:] == ordered[:, :-1]) & (ordered[:, 1:] >= 0)).any(axis=1)
    gaps = (valid[:, 1:] & ~valid[:, :-1]).any(axis=1)
    messy = repeats | gaps
    k = min(k, width + len(fallback[:k]))  # as wide as the general path's lists
    out = np.full((n, k), -1, dtype=np.int64)
    if messy.any():
        out[messy] = _fill_general(lists[messy], fallback, k)
    clean = np.flatnonzero(~messy)
    if clean.size == 0:
        return out
    _, first = np.unique(fallback[:width_fb], return_index=True)
    fb = fallback[:width_fb][np.sort(first)]  # first occurrences, in order, as the general path
    fb = fb[fb >= 0]
    block = lead[clean]
    out[clean, :width] = np.where(valid[clean], block, -1)
    if fb.size == 0:
        return out
    slot_of = np.full(max(int(fb.max()), int(block.max(initial=0))) + 1, -1, dtype=np.int64)
    slot_of[fb] = np.arange(fb.size)  # track -> its place in the fallback, -1 if absent
    at = np.where(valid[clean], slot_of[np.maximum(block, 0)], -1)
    present = np.zeros((clean.size, fb.size + 1), dtype=bool)  # the last column: absent
    rows = np.broadcast_to(np.arange(clean.size)[:, None], block.shape)
    present[rows.ravel(), at.ravel()] = True
    present = present[:, :-1]
    free = ~present
    slot = valid[clean].sum(axis=1)[:, None] + np.cumsum(free, axis=1) - 1
    put = free & (slot < k)
    r, c = np.nonzero(put)
    out[clean[r], slot[r, c]] = fb[c]
    return out


def _fill_general(lists: np.ndarray, fallback: np.ndarray, k: int) -> np.ndarray:
    n = len(lists)
    cat = np.concatenate(
        [lists[:, :k], np.broadcast_to(fallback[:k], (n, len(fallback[:k])))], axis=1
    )
    order = np.argsort(cat, axis=1, kind="stable")
    sorted_cat = np.take_along_axis(cat, order, axis=1)
    dup_sorted = np.zeros_like(sorted_cat, dtype=bool)
    dup_sorted[:, 1:] = sorted_cat[:, 1:] == sorted_cat[:, :-1]
    dup = np.empty_like(dup_sorted)
    np.put_along_axis(dup, order, dup_sorted, axis=1)
    valid = (cat >= 0) & ~dup
    compact = np.argsort(~valid, axis=1, kind="stable")[:, :k]
    out = np.take_along_axis(cat, compact, axis=1)
    out[~np.take_along_axis(valid, compact, axis=1)] = -1
    return out


def score(lists: np.ndarray, cases: Cases, ks: Sequence[int]) -> dict[str, float]:
    """Mean recall@k and nDCG@k over cases; `lists[c]` is case c's ranked list."""
    out: dict[str, float] = {}
    n_cases = len(cases.keys)
    if n_cases == 0:
        return {f"{m}@{k}": float("nan") for k in ks for m in ("recall", "ndcg")}
    match = lists[cases.pair_case] == cases.pair_target[:, None]
    found = match.any(axis=1)
    rank = np.where(found, match.argmax(axis=1), np.iinfo(np.int64).max)
    n_targets = np.bincount(cases.pair_case, minlength=n_cases)
    discount = 1.0 / np.log2(np.arange(max(ks)) + 2.0)
    for k in ks:
        hit = rank < k
        hits = np.bincount(cases.pair_case, weights=hit, minlength=n_cases)
        gain = np.where(hit, discount[np.minimum(rank, len(discount) - 1)], 0.0)
        dcg = np.bincount(cases.pair_case, weights=gain, minlength=n_cases)
        ideal = np.cumsum(discount[:k])[np.minimum(n_targets, k) - 1]
        out[f"recall@{k}"] = float(np.mean(hits / n_targets))
        out[f"ndcg@{k}"] = float(np.mean(dcg / ideal))
    return out


def lists_for(
    keys: np.ndarray, table_keys: np.ndarray, table: np.ndarray, k: int
) -> tuple[np.ndarray, float]:
    """(rows of `table` for `keys`, -1 rows where a key has none; share of keys covered)."""
    out = np.full((len(keys), k), -1, dtype=np.int64)
    if len(table_keys) == 0 or len(keys) == 0:
        return out, 0.0
    order = np.argsort(table_keys)
    pos = np.searchsorted(table_keys[order], keys)
    pos = np.minimum(pos, len(order) - 1)
    hit = table_keys[order][pos] == keys
    width = min(k, table.shape[1])
    out[hit, :width] = table[order[pos[hit]], :width]
    return out, float(hit.mean())


def evaluate(
    holdout: Listens,
    top: np.ndarray,
    user_lists: Mapping[str, tuple[np.ndarray, np.ndarray]],
    item_lists: Mapping[str, tuple[np.ndarray, np.ndarray]],
    ks: Sequence[int] = (10, 100),
    threshold: float = POSITIVE_THRESHOLD,
) -> list[dict[str, float | str | int]]:
    """One row per (artifact, task), top_tracks included on both tasks as the baseline."""
    k = max(ks)
    rows: list[dict[str, float | str | int]] = []
    for task, cases, named in (
        ("user", user_cases(holdout, threshold), user_lists),
        ("next", next_cases(holdout, threshold), item_lists),
    ):
        top_lists = fill_lists(np.full((len(cases.keys), 0), -1, dtype=np.int64), top, k)
        base = score(top_lists, cases, ks)
        rows.append(
            {
                "artifact": "top_tracks",
                "task": task,
                "cases": len(cases.keys),
                "coverage": 1.0,
                **base,
            }
        )
        for name, (table_keys, table) in named.items():
            lists, coverage = lists_for(cases.keys, table_keys, table, k)
            metrics = score(fill_lists(lists, top, k), cases, ks)
            rows.append(
                {
                    "artifact": name,
                    "task": task,
                    "cases": len(cases.keys),
                    "coverage": coverage,
                    **metrics,
                }
            )
    return rows
