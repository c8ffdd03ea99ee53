"""LFM: implicit-feedback ALS (Hu, Koren, Volinsky 2008) over listen time, as user lists.

Confidence c = 1 + alpha * time for every (user, track) listened, preference 1; each
sweep solves every user's (then every track's) ridge system exactly. Small and exact,
for comparison with DSSM; off by default.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from recctl.topk import top_k_rows
from recctl.train.listens import Listens


def _solve_side(fixed: np.ndarray, conf: sp.csr_matrix, reg: float) -> np.ndarray:
    gram = fixed.T @ fixed
    dim = fixed.shape[1]
    out = np.zeros((conf.shape[0], dim), dtype=np.float64)
    eye = reg * np.eye(dim)
    for row in range(conf.shape[0]):
        lo, hi = conf.indptr[row], conf.indptr[row + 1]
        if lo == hi:
            continue
        cols, c = conf.indices[lo:hi], conf.data[lo:hi]
        y = fixed[cols]
        a = gram + (y.T * (c - 1.0)) @ y + eye
        out[row] = np.linalg.solve(a, (y.T * c).sum(axis=1))
    return out


def train_lfm(
    listens: Listens,
    *,
    dim: int,
    iterations: int,
    regularization: float,
    alpha: float,
    top_n: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """(user ids, (n_users, top_n) track ids best first)."""
    users, u_idx = np.unique(listens.user, return_inverse=True)
    items, i_idx = np.unique(listens.track, return_inverse=True)
    conf = sp.coo_matrix(
        (1.0 + alpha * listens.time, (u_idx, i_idx)), shape=(len(users), len(items))
    ).tocsr()
    conf.sum_duplicates()
    conf_t = conf.T.tocsr()
    user_f = rng.normal(0, 0.01, (len(users), dim))
    item_f = rng.normal(0, 0.01, (len(items), dim))
    n = min(top_n, len(items))
    with threadpool_limits(limits=1, user_api="blas"):
        for _ in range(iterations):
            user_f = _solve_side(item_f, conf, regularization)
            item_f = _solve_side(user_f, conf_t, regularization)
        lists = np.empty((len(users), n), dtype=np.int64)
        for start in range(0, len(users), 512):
            scores = (user_f[start : start + 512] @ item_f.T).astype(np.float32)
            lists[start : start + 512] = items[top_k_rows(scores, n)]
    return users.astype(np.int64), lists
