"""LFM: implicit-feedback ALS (Hu, Koren, Volinsky 2008) over listen time, as user lists.

Confidence c = 1 + alpha * time for every (user, track) listened, preference 1. Each
sweep updates every user's factors (then every track's) towards its ridge solution

    (Yᵀ Y + Yᵀ (C_u - I) Y + λ I) x_u = Yᵀ C_u 1

with a few conjugate-gradient steps started from the current factors (Takács et al.
2011), all users at once: a step costs two passes over the nonzeros, so the whole fit
is sparse products instead of one small dense solve per user (96 s -> a few seconds on
the bootstrap's logs).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from recctl.topk import top_k_products
from recctl.train.listens import Listens

CG_STEPS = 3  # per side and sweep; warm starts make a few enough


def _rowdot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.einsum("nd,nd->n", a, b)


def _solve_side(x: np.ndarray, fixed: np.ndarray, conf: sp.csr_matrix, reg: float,
                steps: int = CG_STEPS) -> np.ndarray:
    """`x` (one row per row of `conf`) moved `steps` CG steps towards the ridge solutions."""
    gram = (fixed.T @ fixed + reg * np.eye(fixed.shape[1], dtype=fixed.dtype)).astype(fixed.dtype)
    rows = np.repeat(np.arange(conf.shape[0]), np.diff(conf.indptr))
    cols = conf.indices
    extra = (conf.data - 1.0).astype(fixed.dtype)  # c - 1 per nonzero
    fixed_at = fixed[cols]  # gathered once per side: `fixed` is constant during its CG steps
    weighted = sp.csr_matrix((extra, cols, conf.indptr), shape=conf.shape)

    def times_a(p: np.ndarray) -> np.ndarray:
        weighted.data = extra * _rowdot(fixed_at, p[rows])
        return p @ gram + weighted @ fixed

    x = x.copy()
    r = conf @ fixed - times_a(x)  # b - A x, b = Σ c_ui y_i
    p = r.copy()
    rs = _rowdot(r, r)
    for _ in range(steps):
        ap = times_a(p)
        denom = _rowdot(p, ap)
        alpha = np.divide(rs, denom, out=np.zeros_like(rs), where=denom > 1e-20)
        x += alpha[:, None] * p
        r -= alpha[:, None] * ap
        rs_new = _rowdot(r, r)
        beta = np.divide(rs_new, rs, out=np.zeros_like(rs), where=rs > 1e-20)
        p = r + beta[:, None] * p
        rs = rs_new
    return x


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
    conf = conf.astype(np.float32)  # float32 halves the memory traffic of the gathers
    conf_t = conf.T.tocsr()
    user_f = rng.normal(0, 0.01, (len(users), dim)).astype(np.float32)
    item_f = rng.normal(0, 0.01, (len(items), dim)).astype(np.float32)
    n = min(top_n, len(items))
    with threadpool_limits(limits=1, user_api="blas"):
        for _ in range(iterations):
            user_f = _solve_side(user_f, item_f, conf, regularization)
            item_f = _solve_side(item_f, user_f, conf_t, regularization)
    return users.astype(np.int64), items[top_k_products(user_f, item_f, n)]
