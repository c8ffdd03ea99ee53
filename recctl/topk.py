"""Exact top-k per row of a score matrix, faster than argpartition over every column.

The k best entries of a row lie in the k blocks (of `block` columns) with the largest
maxima: each block holding one of them has a maximum at least the k-th best value, and
at most k blocks can. So: block maxima (one cheap pass), the k best blocks, then
argpartition over only k * block candidates. Used by the simulator's nearest neighbours
and by training's user lists.
"""

from __future__ import annotations

import numpy as np


def top_k_rows(scores: np.ndarray, k: int, block: int = 32) -> np.ndarray:
    """(n, k) column indices of each row's k largest scores, best first.

    Among the k returned, equal scores are ordered by column index. Which of several
    entries tied with the k-th best score make the cut is argpartition's choice, not
    the smaller index: deterministic for the same input and numpy, but not specified.
    """
    n, m = scores.shape
    k = min(k, m)
    if k == 0:
        return np.zeros((n, 0), dtype=np.int64)
    if m <= 2 * k * block:
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    else:
        blocks = -(-m // block)
        padded = np.full((n, blocks * block), -np.inf, dtype=scores.dtype)
        padded[:, :m] = scores
        maxima = padded.reshape(n, blocks, block).max(axis=2)
        best_blocks = np.argpartition(-maxima, k - 1, axis=1)[:, :k]  # (n, k)
        columns = (best_blocks[:, :, None] * block + np.arange(block)).reshape(n, k * block)
        values = np.take_along_axis(padded, columns, axis=1)
        pick = np.argpartition(-values, k - 1, axis=1)[:, :k]
        top = np.take_along_axis(columns, pick, axis=1)
    top_scores = np.take_along_axis(scores, top, axis=1)
    # Sort by (-score, column): lexsort's last key is the primary one.
    order = np.lexsort((top, -top_scores), axis=1)
    return np.take_along_axis(top, order, axis=1)
