"""DSSM: a two-tower retrieval model in numpy (float32, batched matmuls, Adam).

The only features logs hold are ids, so each tower is an id embedding followed by L2
normalisation; a pair scores cos(user, item) / temperature. Training maximises the
in-batch softmax of each positive listen (time >= 0.8) against the batch's other items,
with the logQ correction (in-batch negatives are drawn by popularity) and copies of the
positive item elsewhere in the batch taken out of its softmax. Gradients are derived by hand:

    dL/dS = (softmax(S) - I) / B,  dL/du^ = dL/dS v^ / t,  dL/dv^ = dL/dS^T u^ / t,
    dL/du = (g - u^ (u^ . g)) / |u|            (through the normalisation)

Adam is applied lazily to the rows a batch touched. A model can be warm-started from
yesterday's: rows of known ids are kept, new ids start at random.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field, StrictBool
from threadpoolctl import threadpool_limits

from recctl.settings import Settings
from recctl.topk import top_k_products


class DSSMParams(Settings):
    dim: int = Field(32, ge=1)
    epochs: int = Field(8, ge=0)
    batch_size: int = Field(512, ge=1)
    learning_rate: float = Field(0.01, gt=0)
    temperature: float = Field(0.1, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    logq: StrictBool = True
    top_n: int = Field(100, ge=1)


class _Table:
    """One tower's embeddings with its lazy-Adam moments, side by side in one array
    (rows x [weights, first moment, second moment] x dim): Adam reads and writes a
    batch's rows with one gather and one scatter."""

    def __init__(self, ids: np.ndarray, w: np.ndarray) -> None:
        self.ids = ids
        self.state = np.zeros((w.shape[0], 3, w.shape[1]), dtype=w.dtype)
        self.state[:, 0] = w

    @property
    def w(self) -> np.ndarray:
        return self.state[:, 0]

    @w.setter
    def w(self, value: np.ndarray) -> None:  # e.g. in float64, for gradient checks
        state = np.zeros((value.shape[0], 3, value.shape[1]), dtype=value.dtype)
        state[:, 0], state[:, 1:] = value, self.state[:, 1:]
        self.state = state

    def regrow(self, ids: np.ndarray, rng: np.random.Generator) -> _Table:
        """A table over `ids` keeping the rows (and moments) of ids already known."""
        all_ids = np.union1d(self.ids, ids)
        table = _Table(all_ids, _init(rng, len(all_ids), self.state.shape[2]))
        table.state[np.searchsorted(all_ids, self.ids)] = self.state
        return table

    def adam(self, rows: np.ndarray, grad: np.ndarray, step: int, lr: float) -> None:
        """Adam on `rows`; the bias corrections are folded into the step size and eps."""
        b1, b2, eps = 0.9, 0.999, 1e-8
        state = self.state[rows]
        w, m, v = state[:, 0], state[:, 1], state[:, 2]
        m *= b1
        m += (1 - b1) * grad
        v *= b2
        grad = grad * grad
        grad *= 1 - b2
        v += grad
        root = np.sqrt(1 - b2**step)
        size = np.float32(lr * root / (1 - b1**step))
        update = np.sqrt(v)
        update += np.float32(eps * root)
        np.divide(m, update, out=update)
        update *= size
        w -= update
        self.state[rows] = state


def _init(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    return rng.normal(0.0, 0.1, size=(n, dim)).astype(np.float32)


def _normalise(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    norm = np.sqrt((x * x).sum(axis=1, keepdims=True)) + 1e-6
    return x / norm, norm


def _back_through_norm(unit: np.ndarray, norm: np.ndarray, grad: np.ndarray) -> np.ndarray:
    return (grad - unit * (unit * grad).sum(axis=1, keepdims=True)) / norm


def _scatter(index: np.ndarray, grad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct rows of `index`, the sum of `grad`'s rows for each), by one sort."""
    order = np.argsort(index, kind="stable")
    ordered = index[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    return ordered[starts], np.add.reduceat(grad[order], starts, axis=0)


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
        """In-batch softmax loss and its gradients w.r.t. the batch's user and item rows.

        Copies of a row's positive item elsewhere in the batch are no negatives. Rather
        than masking them, each row's softmax subtracts them afterwards: they are exact
        copies of the row's own positive score. Scores never exceed 1/t - min(logQ), so
        that bound replaces the usual row maximum when exp cannot underflow."""
        p = self.params
        assert self.users is not None and self.items is not None
        inv_t = 1.0 / p.temperature
        uh, un = _normalise(self.users.w[ub])
        vh, vn = _normalise(self.items.w[ib])
        n, dim = uh.shape
        column = -log_q[ib] if p.logq else np.zeros(n, dtype=log_q.dtype)
        spread = 2.0 * inv_t + float(column.max() - column.min())
        # One matmul gives cos / t - logQ - shift: an extra coordinate carries the column term.
        left = np.empty((n, dim + 1), dtype=uh.dtype)
        left[:, :dim] = uh * np.float32(inv_t)
        left[:, dim] = 1.0
        right = np.empty((n, dim + 1), dtype=vh.dtype)
        right[:, :dim] = vh
        right[:, dim] = column - np.float32(inv_t + column.max())
        scores = left @ right.T
        if spread > 60.0:  # exp could underflow to 0 for a whole row: use the row maximum
            scores -= scores.max(axis=1, keepdims=True)
        own = scores.diagonal().copy()
        exps = np.exp(scores, out=scores)
        _, inverse, counts = np.unique(ib, return_inverse=True, return_counts=True)
        copies = (counts[inverse] - 1).astype(np.float32)
        own_exp = np.exp(own)
        total = np.maximum(exps.sum(axis=1) - copies * own_exp, own_exp)
        loss = float(np.mean(np.log(total) - own))
        scale = np.float32(1.0 / (n * p.temperature))
        grad = exps
        grad *= (scale / total)[:, None]  # softmax(S) / (B t), copies included
        grad[np.arange(n), np.arange(n)] -= scale
        copy_weight = (copies * own_exp * scale / total)[:, None]  # what the copies added
        g_u = _back_through_norm(uh, un, grad @ vh - copy_weight * vh)
        g_v = _back_through_norm(vh, vn, grad.T @ uh - copy_weight * uh)
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
        return self.users.ids.copy(), self.items.ids[top_k_products(uh, vh, n, chunk=chunk)]


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
