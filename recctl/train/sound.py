"""Content-based item lists: the tracks that sound most like a track (no logs needed).

Built from the catalog's sound features (a world's `sound.npy`: an audio embedding, say)
by cosine similarity, two ways:

- `i2i_sound`: the k nearest tracks. Tracks of one artist sound alike, so these lists are
  mostly the anchor's artist (with the default world and k, 3: 82%; ~60% at k 20, where
  the rest of an artist's catalogue is often smaller than k), which users tire of within
  a session;
- `i2i_sound_diverse`: from the `pool` nearest, no track of the anchor's artist and at
  most one per artist, the k first: the nearest-sounding *other* artists.

How much either is worth depends on how well sound tells taste (config/world.yml,
sound_norm): that is the trade the course's diverse i2i list makes. And on k: a
contextual walk over short lists loops back to tracks and artists it played
(config/train.yml, sound.k).
"""

from __future__ import annotations

import numpy as np

from recctl.topk import top_k_products
from recctl.train.item2item import ItemLists, artists_of_tracks


def nearest_by_sound(sound: np.ndarray, pool: int, threads: int | None = None) -> np.ndarray:
    """(n, pool) the nearest other tracks by cosine similarity, best first."""
    norms = np.linalg.norm(sound, axis=1, keepdims=True)
    unit = (sound / np.where(norms > 0, norms, 1.0)).astype(np.float32)
    nearest = top_k_products(unit, unit, min(pool + 1, len(unit)), threads=threads)
    # Drop the anchor itself (usually first, but ties may place it anywhere).
    itself = nearest == np.arange(len(unit))[:, None]
    order = np.argsort(itself, axis=1, kind="stable")  # the anchor's slot goes last
    return np.take_along_axis(nearest, order, axis=1)[:, : nearest.shape[1] - 1]


def _first_of_each_artist(artists: np.ndarray) -> np.ndarray:
    # True where a candidate (a column, best first) is the first of its artist in its row.
    order = np.argsort(artists, axis=1, kind="stable")  # equal artists keep rank order
    ordered = np.take_along_axis(artists, order, axis=1)
    first_sorted = np.ones_like(ordered, dtype=bool)
    first_sorted[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    first = np.empty_like(first_sorted)
    np.put_along_axis(first, order, first_sorted, axis=1)
    return first


def _pad(rows: np.ndarray, keep: np.ndarray, k: int) -> np.ndarray:
    # The first k kept entries of each row, padded with -1.
    out = np.full((len(rows), k), -1, dtype=np.int64)
    slot = np.cumsum(keep, axis=1) - 1
    take = keep & (slot < k)
    row_index = np.broadcast_to(np.arange(len(rows))[:, None], rows.shape)
    out[row_index[take], slot[take]] = rows[take]
    return out


def sound_lists(sound: np.ndarray, artist_of: np.ndarray, k: int, pool: int,
                threads: int | None = None) -> dict[str, ItemLists]:
    """`i2i_sound` and `i2i_sound_diverse` for every track with sound features.

    `artist_of[t]` is track t's artist code (-1 unknown: such a track is its own artist).
    `threads`: for the nearest-neighbour search (recctl.topk's default when None).
    """
    n = len(sound)
    tracks = np.arange(n, dtype=np.int64)
    nearest = nearest_by_sound(sound, max(pool, k), threads)
    artist = artists_of_tracks(tracks, artist_of)
    candidate_artist = artist[nearest]
    other = candidate_artist != artist[:, None]
    diverse = _pad(nearest, other & _first_of_each_artist(candidate_artist), k)
    return {"i2i_sound": ItemLists(tracks, nearest[:, :k].copy()),
            "i2i_sound_diverse": ItemLists(tracks, diverse)}
