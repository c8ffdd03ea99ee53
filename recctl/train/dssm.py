"""DSSM: a two-tower retrieval model in numpy (float32, batched matmuls, Adam).

The only features logs hold are ids, so each tower is an id embedding followed by L2
normalisation; a pair scores cos(user, item) / temperature. Training maximises the
in-batch softmax of each positive listen (time >= 0.8) against the batch's other items,
with the logQ correction (in-batch negatives are drawn by popularity) and duplicates of
the positive item masked out. Gradients are derived by hand:

    dL/dS = (softmax(S) - I) / B,  dL/du^ = dL/dS v^ / t,  dL/dv^ = dL/dS^T u^ / t,
    dL/du = (g - u^ (u^ . g)) / |u|            (through the normalisation)

Adam is applied lazily to the rows a batch touched. A model can be warm-started from
yesterday's: rows of known ids are kept, new ids start at random.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from pydantic import Field, StrictBool
from threadpoolctl import threadpool_limits

from recctl.settings import Settings
from recctl.topk import top_k_rows


class DSSMParams(Settings):
    dim: int = Field(32, ge=1)
    epochs: int = Field(8, ge=0)
    batch_size: int = Field(512, ge=1)
    learning_rate: float = Field(0.01, gt=0)
    temperature: float = Field(0.1, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    logq: StrictBool = True
    top_n: int = Field(100, ge=1)


@dataclass
class _Table:
    """One tower's embeddings with its lazy-Adam moments."""

    ids: np.ndarray
    w: np.ndarray
    m: np.ndarray = field(init=False)
    v: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.m = np.zeros_like(self.w)
        self.v = np.zeros_like(self.w)

    def regrow(self, ids: np.ndarray, rng: np.random.Generator) -> _Table:
        """A table over `ids` keeping the rows (and moments) of ids already known."""
        all_ids = np.union1d(self.ids, ids)
        table = _Table(all_ids, _init(rng, len(all_ids), self.w.shape[1]))
        where = np.searchsorted(all_ids, self.ids)
        table.w[where], table.m[where], table.v[where] = self.w, self.m, self.v
        return table

    def adam(self, rows: np.ndarray, grad: np.ndarray, step: int, lr: float) -> None:
        b1, b2, eps = 0.9, 0.999, 1e-8
        m = b1 * self.m[rows] + (1 - b1) * grad
        v = b2 * self.v[rows] + (1 - b2) * grad * grad
        self.m[rows], self.v[rows] = m, v
        m_hat = m / (1 - b1**step)
        v_hat = v / (1 - b2**step)
        self.w[rows] -= (lr * m_hat / (np.sqrt(v_hat) + eps)).astype(np.float32)


def _init(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    return rng.normal(0.0, 0.1, size=(n, dim)).astype(np.float32)


def _normalise(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    norm = np.sqrt((x * x).sum(axis=1, keepdims=True)) + 1e-6
    return x / norm, norm


def _back_through_norm(unit: np.ndarray, norm: np.ndarray, grad: np.ndarray) -> np.ndarray:
    return (grad - unit * (unit * grad).sum(axis=1, keepdims=True)) / norm


def _duplicate_pairs(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row, col) of every pair of different positions holding the same id.

    Few ids repeat in a batch, so this beats an n x n comparison."""
    order = np.argsort(ids, kind="stable")
    ordered = ids[order]
    repeated = np.flatnonzero(ordered[1:] == ordered[:-1])
    if repeated.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    values = np.unique(ordered[repeated])
    positions = [np.flatnonzero(ids == v) for v in values]
    rows = np.concatenate([np.repeat(q, len(q)) for q in positions])
    cols = np.concatenate([np.tile(q, len(q)) for q in positions])
    keep = rows != cols
    return rows[keep], cols[keep]


def _scatter(index: np.ndarray, grad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rows, inverse = np.unique(index, return_inverse=True)
    total = np.zeros((len(rows), grad.shape[1]), dtype=np.float32)
    np.add.at(total, inverse, grad)
    return rows, total


class TwoTower:
    """User tower and item tower; `fit` trains on (user, item) positives."""

    def __init__(self, params: DSSMParams) -> None:
        self.params = params
        self.users: _Table | None = None
        self.items: _Table | None = None
        self.step = 0
        self.losses: list[float] = []

    def fit(
        self,
        users: np.ndarray,
        items: np.ndarray,
        rng: np.random.Generator,
        epochs: int | None = None,
    ) -> TwoTower:
        """Train (or continue training) on positive pairs; returns self."""
        p = self.params
        dim = p.dim
        if self.users is None or self.items is None:
            self.users = _Table(np.unique(users), _init(rng, len(np.unique(users)), dim))
            self.items = _Table(np.unique(items), _init(rng, len(np.unique(items)), dim))
        else:
            self.users = self.users.regrow(np.unique(users), rng)
            self.items = self.items.regrow(np.unique(items), rng)
        u_index = np.searchsorted(self.users.ids, users)
        i_index = np.searchsorted(self.items.ids, items)
        counts = np.bincount(i_index, minlength=len(self.items.ids)).astype(np.float64)
        log_q = np.log(np.maximum(counts, 1) / max(len(items), 1)).astype(np.float32)
        # Small matmuls: one BLAS thread is faster, and fair to a shared 2-core machine.
        with threadpool_limits(limits=1, user_api="blas"):
            self._epochs(u_index, i_index, log_q, rng, p.epochs if epochs is None else epochs)
        return self

    def _epochs(
        self,
        u_index: np.ndarray,
        i_index: np.ndarray,
        log_q: np.ndarray,
        rng: np.random.Generator,
        epochs: int,
    ) -> None:
        p = self.params
        for _ in range(epochs):
            order = rng.permutation(len(u_index))
            total = 0.0
            for start in range(0, len(order), p.batch_size):
                batch = order[start : start + p.batch_size]
                if len(batch) < 2:
                    continue
                total += self._batch(u_index[batch], i_index[batch], log_q) * len(batch)
            self.losses.append(total / max(len(order), 1))

    def loss_and_gradients(
        self, ub: np.ndarray, ib: np.ndarray, log_q: np.ndarray
    ) -> tuple[float, np.ndarray, np.ndarray]:
        """In-batch softmax loss and its gradients w.r.t. the batch's user and item rows."""
        p = self.params
        assert self.users is not None and self.items is not None
        uh, un = _normalise(self.users.w[ub])
        vh, vn = _normalise(self.items.w[ib])
        scores = (uh * np.float32(1.0 / p.temperature)) @ vh.T
        if p.logq:
            scores -= log_q[ib][None, :]
        n = len(ib)
        rows, cols = _duplicate_pairs(ib)  # the same item elsewhere is no negative
        scores[rows, cols] = -np.inf
        scores -= scores.max(axis=1, keepdims=True)
        prob = np.exp(scores, out=scores)
        prob /= prob.sum(axis=1, keepdims=True)
        loss = float(-np.log(np.maximum(np.diagonal(prob), 1e-12)).mean())
        grad = prob
        grad[np.arange(n), np.arange(n)] -= 1.0
        grad *= np.float32(1.0 / (n * p.temperature))
        g_u = _back_through_norm(uh, un, grad @ vh)
        g_v = _back_through_norm(vh, vn, grad.T @ uh)
        return loss, g_u, g_v

    def _batch(self, ub: np.ndarray, ib: np.ndarray, log_q: np.ndarray) -> float:
        assert self.users is not None and self.items is not None
        loss, g_u, g_v = self.loss_and_gradients(ub, ib, log_q)
        self.step += 1
        for table, index, g in ((self.users, ub, g_u), (self.items, ib, g_v)):
            rows, total = _scatter(index, g)
            if self.params.weight_decay:
                total += self.params.weight_decay * table.w[rows]
            table.adam(rows, total, self.step, self.params.learning_rate)
        return loss

    def recommend(
        self, top_n: int | None = None, chunk: int = 512
    ) -> tuple[np.ndarray, np.ndarray]:
        """(user ids, (n_users, top_n) item ids best first) over every trained item."""
        assert self.users is not None and self.items is not None, "fit first"
        n = min(top_n or self.params.top_n, len(self.items.ids))
        uh, _ = _normalise(self.users.w)
        vh, _ = _normalise(self.items.w)
        out = np.empty((len(uh), n), dtype=np.int64)
        with threadpool_limits(limits=1, user_api="blas"):
            self._rank(uh, vh, n, chunk, out)
        return self.users.ids.copy(), out

    def _rank(self, uh: np.ndarray, vh: np.ndarray, n: int, chunk: int, out: np.ndarray) -> None:
        assert self.items is not None
        for start in range(0, len(uh), chunk):
            scores = uh[start : start + chunk] @ vh.T
            out[start : start + chunk] = self.items.ids[top_k_rows(scores, n)]


def train_dssm(
    users: np.ndarray,
    items: np.ndarray,
    params: DSSMParams,
    rng: np.random.Generator,
    warm: TwoTower | None = None,
    epochs: int | None = None,
) -> TwoTower:
    """Fit a new model, or continue `warm` (yesterday's) on these positives."""
    model = warm if warm is not None else TwoTower(params)
    return model.fit(users, items, rng, epochs=epochs)
