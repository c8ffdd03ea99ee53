"""Exact top-k per row of a score matrix, faster than argpartition over every column.

The k best entries of a row lie in the k blocks (of `block` columns) with the largest
maxima: each block holding one of them has a maximum at least the k-th best value, and
at most k blocks can. So: block maxima (one cheap pass), the k best blocks, then
argpartition over only k * block candidates. Used by the simulator's nearest neighbours
and by training's user lists, through `top_k_products` (chunked products on a few threads).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from threadpoolctl import threadpool_limits

# Threads for `top_k_products`: numpy and BLAS release the GIL in its heavy parts, so
# each thread takes whole chunks of rows, with one BLAS thread each.
THREADS = max(1, min(2, os.cpu_count() or 1))


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
        full = m // block
        # Block maxima read `scores` in place (a reshaped view): no padded copy.
        maxima = scores[:, : full * block].reshape(n, full, block).max(axis=2)
        if full * block < m:  # the last, partial block
            tail = scores[:, full * block :].max(axis=1, keepdims=True)
            maxima = np.concatenate([maxima, tail], axis=1)
        best_blocks = np.argpartition(-maxima, k - 1, axis=1)[:, :k]  # (n, k)
        columns = (best_blocks[:, :, None] * block + np.arange(block)).reshape(n, k * block)
        values = np.take_along_axis(scores, np.minimum(columns, m - 1), axis=1)
        values[columns >= m] = -np.inf  # past the last column
        pick = np.argpartition(-values, k - 1, axis=1)[:, :k]
        top = np.take_along_axis(columns, pick, axis=1)
    top_scores = np.take_along_axis(scores, top, axis=1)
    # Sort by (-score, column): lexsort's last key is the primary one.
    order = np.lexsort((top, -top_scores), axis=1)
    return np.take_along_axis(top, order, axis=1)


def top_k_products(left: np.ndarray, right: np.ndarray, k: int, *, chunk: int = 512,
                   block: int = 32, threads: int | None = None) -> np.ndarray:
    """(len(left), k) indices into `right` of each row's k largest `left @ right.T`,
    best first (as `top_k_rows`), computed `chunk` rows at a time on `threads` threads.

    The result does not depend on the number of threads: each chunk is computed alone."""
    k = min(k, right.shape[0])
    out = np.empty((left.shape[0], k), dtype=np.int64)
    right_t = np.ascontiguousarray(right).T

    def one(start: int) -> None:
        scores = left[start : start + chunk] @ right_t
        out[start : start + chunk] = top_k_rows(scores, k, block)

    starts = range(0, left.shape[0], chunk)
    workers = min(threads or THREADS, len(starts))
    with threadpool_limits(limits=1, user_api="blas"):
        if workers <= 1:
            for start in starts:
                one(start)
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                list(pool.map(one, starts))  # re-raises a chunk's error here
    return out
