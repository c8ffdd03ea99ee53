"""LFM (ALS with conjugate-gradient sweeps): it solves the ridge systems and ranks a
user's own cluster first."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recctl.train.lfm import _solve_side, train_lfm
from recctl.train.listens import listens_from_arrays


def test_cg_sweep_reaches_the_exact_ridge_solution() -> None:
    rng = np.random.default_rng(0)
    fixed = rng.normal(size=(40, 6)).astype(np.float32)
    dense = (rng.random((25, 40)) < 0.2) * (1 + 10 * rng.random((25, 40)))
    dense[3] = 0.0  # a row with no listens gets zero factors
    conf = sp.csr_matrix(dense.astype(np.float32))
    got = _solve_side(np.zeros((25, 6), np.float32), fixed, conf, 0.1, steps=12)
    y = fixed.astype(np.float64)
    for row in range(25):
        c = dense[row]
        listened = c > 0
        a = y.T @ y + (y[listened].T * (c[listened] - 1)) @ y[listened] + 0.1 * np.eye(6)
        exact = np.linalg.solve(a, (y[listened].T * c[listened]).sum(axis=1))
        np.testing.assert_allclose(got[row], exact, rtol=2e-3, atol=2e-4)


def test_lfm_ranks_the_users_own_cluster_first() -> None:
    rng = np.random.default_rng(1)
    users, tracks = [], []
    for user in range(60):
        cluster = user % 3  # tracks 0-19, 20-39, 40-59
        picks = rng.choice(20, size=8, replace=False) + 20 * cluster
        users += [user] * 8
        tracks += picks.tolist()
    n = len(tracks)
    listens = listens_from_arrays(
        user=np.array(users), session_key=np.array(users), track=np.array(tracks),
        time=np.ones(n), timestamp_us=np.arange(n))
    ids, lists = train_lfm(listens, dim=8, iterations=6, regularization=0.1, alpha=10.0,
                           top_n=10, rng=np.random.default_rng(0))
    own = (lists // 20) == (ids % 3)[:, None]
    assert own.mean() > 0.95
