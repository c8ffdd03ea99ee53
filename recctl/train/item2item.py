"""Item-to-item lists from sessions: what is listened to near a track, weighted by listen time.

Raw weighted co-occurrence counts (the feasibility study found they beat an SVD of the
same matrix). For each pair of listens (a, b) in one session, b at most `window` steps
after a, b gains `time_b` (times `time_a` when `weight_anchor`, so a skipped anchor
says little), decayed by distance. `symmetric` also counts b -> a: in logs from
random recommendations the order of two liked tracks carries no signal.

A listen's time is first divided by `repeat_discount ** plays`, `plays` being the earlier
listens of the same artist in its session: users tire of an artist within a session
(the course's user model: x0.8 a play), so with 0.8 a second track of an artist listened
to 0.8 was liked as much as a first one listened to in full. Without this (1.0) no follow-up of
the same artist passes `min_time` 0.9 and i2i lists never hold an artist's other tracks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

import numpy as np
import pandas as pd
import scipy.sparse as sp
from typing_extensions import Unpack

from recctl.train.listens import Listens


@dataclass(frozen=True)
class ItemLists:
    """`lists[i]` is the ranked list for anchor `tracks[i]`, padded with -1."""

    tracks: np.ndarray  # int64 (m,)
    lists: np.ndarray  # int64 (m, k)

    def rows(self) -> list[tuple[int, list[int]]]:
        out = []
        for track, row in zip(self.tracks.tolist(), self.lists, strict=True):
            out.append((track, [int(t) for t in row[row >= 0]]))
        return [(t, r) for t, r in out if r]

    def dense(self, n_tracks: int) -> np.ndarray:
        """An (n_tracks, k) table indexed by track id, -1 where a track has no list."""
        table = np.full((n_tracks, self.lists.shape[1]), -1, dtype=np.int64)
        inside = self.tracks < n_tracks
        table[self.tracks[inside]] = self.lists[inside]
        return table


def fresh_times(listens: Listens, artist_of: np.ndarray | None,
                repeat_discount: float = 1.0) -> np.ndarray:
    """Listen times as if each artist were fresh in the session: time / discount ** plays,
    capped at 1 (`plays`: earlier listens of the artist in the session; tracks outside
    `artist_of`, or with artist -1, count as their own artist)."""
    if artist_of is None or repeat_discount >= 1.0 or len(listens) == 0:
        return listens.time
    artist = artists_of_tracks(listens.track, artist_of)
    plays = pd.DataFrame({"session": listens.session, "artist": artist}).groupby(
        ["session", "artist"], sort=False).cumcount().to_numpy()
    return np.minimum(1.0, listens.time / repeat_discount ** plays)


def artists_of_tracks(tracks: np.ndarray, artist_of: np.ndarray) -> np.ndarray:
    """An artist code per track; unknown tracks get a code of their own (-2 - track)."""
    artist = np.full(len(tracks), -1, dtype=np.int64)
    known = (tracks >= 0) & (tracks < len(artist_of))
    artist[known] = artist_of[tracks[known]]
    return np.where(artist < 0, -2 - tracks, artist)


def cooccurrence(
    listens: Listens,
    *,
    artist_of: np.ndarray | None = None,
    window: int = 10,
    decay: float = 1.0,
    weight_anchor: bool = True,
    symmetric: bool = True,
    min_time: float = 0.0,
    repeat_discount: float = 1.0,
) -> tuple[np.ndarray, sp.csr_matrix]:
    """(track ids, weighted co-occurrence matrix over their indices).

    Times are `fresh_times` (needs `artist_of`; see the module docstring). Listens shorter
    than `min_time` take part in no pair: a skip says little about what goes with what,
    and pairs of near-zero weight would crowd out the top-pop fallback.
    """
    ids, index = np.unique(listens.track, return_inverse=True)
    times = fresh_times(listens, artist_of, repeat_discount)
    kept = np.flatnonzero(times >= min_time) if min_time > 0 else np.arange(len(index))
    session, time, index = listens.session[kept], times[kept], index[kept]
    rows, cols, vals = [], [], []
    for d in range(1, window + 1):
        a, b = np.arange(len(index) - d), np.arange(d, len(index))
        same = session[a] == session[b]
        if not same.any():
            break
        a, b = a[same], b[same]
        w_ab = time[b] * (time[a] if weight_anchor else 1.0) * decay ** (d - 1)
        rows.append(index[a])
        cols.append(index[b])
        vals.append(w_ab)
        if symmetric:
            w_ba = time[a] * (time[b] if weight_anchor else 1.0) * decay ** (d - 1)
            rows.append(index[b])
            cols.append(index[a])
            vals.append(w_ba)
    n = len(ids)
    if not rows:
        return ids, sp.csr_matrix((n, n))
    r, c, v = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
    keep = (v > 0) & (r != c)  # a track is not its own recommendation
    matrix = sp.coo_matrix((v[keep], (r[keep], c[keep])), shape=(n, n)).tocsr()
    matrix.sum_duplicates()
    return ids, matrix


def _ranked_entries(matrix: sp.csr_matrix, ids: np.ndarray) -> pd.DataFrame:
    # Every nonzero as (row, candidate, weight), sorted best first within a row.
    row = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    cand = ids[matrix.indices]
    order = np.lexsort((cand, -matrix.data, row))
    return pd.DataFrame({"row": row[order], "cand": cand[order]})


def _to_lists(ids: np.ndarray, entries: pd.DataFrame, k: int) -> ItemLists:
    rank = entries.groupby("row", sort=False).cumcount().to_numpy()
    top = entries[rank < k]
    rank = rank[rank < k]
    anchors, slot = np.unique(top["row"].to_numpy(), return_inverse=True)
    lists = np.full((len(anchors), k), -1, dtype=np.int64)
    lists[slot, rank] = top["cand"].to_numpy()
    return ItemLists(ids[anchors].astype(np.int64), lists)


class Shape(TypedDict, total=False):
    """How co-listens are counted: `cooccurrence`'s options, shared by both list kinds."""

    window: int
    decay: float
    weight_anchor: bool
    symmetric: bool
    min_time: float
    repeat_discount: float


def _ranked(listens: Listens, artist_of: np.ndarray | None,
            shape: Shape) -> tuple[np.ndarray, pd.DataFrame]:
    ids, matrix = cooccurrence(listens, artist_of=artist_of, **shape)
    return ids, _ranked_entries(matrix, ids)


def item_to_item(listens: Listens, artist_of: np.ndarray | None = None, *, k: int = 100,
                 **shape: Unpack[Shape]) -> ItemLists:
    """The top-k co-listened tracks of every track that has any (`artist_of`: artist
    codes by track id, needed only for `repeat_discount`)."""
    return _to_lists(*_ranked(listens, artist_of, shape), k)


def diversify(listens: Listens, artist_of: np.ndarray, *, k: int = 100, per_artist: int = 5,
              **shape: Unpack[Shape]) -> ItemLists:
    """Like `item_to_item`, with at most `per_artist` tracks of one artist in a list.

    `artist_of[track]` is an artist code; tracks outside it count as their own artist.
    """
    ids, entries = _ranked(listens, artist_of, shape)
    entries = entries.assign(artist=artists_of_tracks(entries["cand"].to_numpy(), artist_of))
    seen = entries.groupby(["row", "artist"], sort=False).cumcount().to_numpy()
    return _to_lists(ids, entries[seen < per_artist].drop(columns="artist"), k)
