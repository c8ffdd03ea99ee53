"""Top tracks: the most listened tracks by total listen time (the course's top-pop)."""

from __future__ import annotations

import numpy as np

from recctl.train.listens import Listens


def top_tracks(listens: Listens, n: int) -> np.ndarray:
    """Track ids by total fraction listened, highest first; ties by id for determinism."""
    if len(listens) == 0:
        return np.zeros(0, dtype=np.int64)
    tracks, inverse = np.unique(listens.track, return_inverse=True)
    total = np.bincount(inverse, weights=listens.time)
    keep = total > 0
    tracks, total = tracks[keep], total[keep]
    order = np.lexsort((tracks, -total))
    return tracks[order[:n]].astype(np.int64)
