"""Exact maximum-inner-product neighbours (what the course's faiss `Flat` + inner-product
index returns), by chunked matrix products.

For a query q the neighbours are the k tracks with the largest dot(track, q), in
decreasing order; ties are broken by the smaller track id, so the answer is deterministic.
"""

from __future__ import annotations

import numpy as np


def _top_k_rows(scores: np.ndarray, k: int, block: int) -> np.ndarray:
    """Top-k column indices per row of `scores`, unordered.

    The k best items of a row lie in the k blocks (of `block` columns) with the largest
    maxima, so only those k * block candidates are partitioned, not the whole row.
    """
    rows, cols = scores.shape
    n_blocks = -(-cols // block)
    if n_blocks <= k:
        return np.argpartition(-scores, k - 1, axis=1)[:, :k]
    padded = np.full((rows, n_blocks * block), -np.inf, dtype=scores.dtype)
    padded[:, :cols] = scores
    blocks = padded.reshape(rows, n_blocks, block)
    best_blocks = np.argpartition(-blocks.max(axis=2), k - 1, axis=1)[:, :k]  # (rows, k)
    candidates = (best_blocks[:, :, None] * block + np.arange(block)).reshape(rows, -1)
    candidate_scores = np.take_along_axis(padded, candidates, axis=1)
    chosen = np.argpartition(-candidate_scores, k - 1, axis=1)[:, :k]
    return np.take_along_axis(candidates, chosen, axis=1)


def top_k_inner_product(embeddings: np.ndarray, queries: np.ndarray, k: int,
                        chunk: int = 512, block: int = 64) -> np.ndarray:
    """Indices (len(queries), k) of the k largest inner products, best first.

    Args:
        embeddings: (T, d) float32 item vectors.
        queries: (Q, d) query vectors.
        k: neighbours per query (clipped to T).
        chunk: queries per matrix product (bounds memory at chunk * T floats).
        block: columns per block in the two-stage selection.
    """
    n_items = embeddings.shape[0]
    k = min(k, n_items)
    out = np.empty((queries.shape[0], k), dtype=np.int64)
    items = np.ascontiguousarray(embeddings, dtype=np.float32)
    for start in range(0, queries.shape[0], chunk):
        block_q = np.asarray(queries[start:start + chunk], dtype=np.float32)
        scores = block_q @ items.T
        part = _top_k_rows(scores, k, block)
        part_scores = np.take_along_axis(scores, part, axis=1)
        # Sort by (-score, id): lexsort's last key is the primary one.
        order = np.lexsort((part, -part_scores), axis=1)
        out[start:start + len(block_q)] = np.take_along_axis(part, order, axis=1)
    return out
