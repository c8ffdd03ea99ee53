"""Exact maximum-inner-product neighbours (what the course's faiss `Flat` + inner-product
index returns), by chunked matrix products.

For a query q the neighbours are the k tracks with the largest dot(track, q), in
decreasing order (equal scores by track id). Which of several tracks tied with the k-th
best score is kept is argpartition's choice (see recctl.topk.top_k_rows), not the smaller id.
"""

from __future__ import annotations

import numpy as np

from recctl.topk import top_k_products


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
    items = np.asarray(embeddings, dtype=np.float32)
    return top_k_products(np.asarray(queries, dtype=np.float32), items, k, chunk=chunk,
                          block=block)
