from __future__ import annotations

from pathlib import Path

import numpy as np

from recctl.eventlog import read_events
from recctl.train.dssm import DSSMParams, TwoTower, train_dssm
from recctl.train.evaluate import evaluate
from recctl.train.listens import listens_from_frame, split_by_time
from recctl.train.toplist import top_tracks


def test_hand_derived_gradients_match_finite_differences() -> None:
    rng = np.random.default_rng(0)
    model = train_dssm(np.arange(6), np.arange(6) % 4, DSSMParams(dim=5, epochs=0), rng)
    model.users.w = model.users.w.astype(np.float64)  # type: ignore[union-attr]
    model.items.w = model.items.w.astype(np.float64)  # type: ignore[union-attr]
    ub, ib = np.array([0, 1, 2, 3, 4]), np.array([0, 1, 2, 3, 0])  # item 0 twice: masked
    log_q = np.log(np.array([0.4, 0.2, 0.2, 0.2]))
    _, g_u, g_v = model.loss_and_gradients(ub, ib, log_q)
    eps = 1e-6
    for table, grads, index in ((model.users, g_u, ub), (model.items, g_v, ib)):
        for row, col in [(1, 2), (3, 0), (0, 4)]:
            table.w[index[row], col] += eps  # type: ignore[union-attr]
            up = model.loss_and_gradients(ub, ib, log_q)[0]
            table.w[index[row], col] -= 2 * eps  # type: ignore[union-attr]
            down = model.loss_and_gradients(ub, ib, log_q)[0]
            table.w[index[row], col] += eps  # type: ignore[union-attr]
            analytic = grads[index == index[row], col].sum()
            assert np.isclose((up - down) / (2 * eps), analytic, rtol=1e-4, atol=1e-8)


def test_dssm_beats_top_pop_on_learnable_logs(synthetic_logs: Path) -> None:
    listens = listens_from_frame(read_events([synthetic_logs])[0])
    train, holdout = split_by_time(listens, 0.15)
    pos = train.positives()
    model = train_dssm(
        train.user[pos], train.track[pos], DSSMParams(epochs=6), np.random.default_rng(1)
    )
    assert model.losses[-1] < model.losses[0]
    rows = evaluate(holdout, top_tracks(train, 100), {"dssm": model.recommend()}, {})
    by = {r["artifact"]: r for r in rows if r["task"] == "user"}
    assert by["dssm"]["ndcg@10"] > 1.5 * by["top_tracks"]["ndcg@10"]
    assert by["dssm"]["recall@100"] > 1.5 * by["top_tracks"]["recall@100"]


def test_warm_start_keeps_known_rows_and_adds_new_ids() -> None:
    rng = np.random.default_rng(3)
    model = TwoTower(DSSMParams(dim=4, epochs=1, batch_size=4))
    model.fit(np.array([1, 2, 3, 1]), np.array([10, 11, 12, 10]), rng)
    before = model.items.w[model.items.ids == 11].copy()  # type: ignore[union-attr]
    model.fit(np.array([4, 5]), np.array([13, 14]), rng, epochs=0)
    assert model.items.ids.tolist() == [10, 11, 12, 13, 14]  # type: ignore[union-attr]
    assert np.array_equal(model.items.w[model.items.ids == 11], before)  # type: ignore[union-attr]
    users, lists = model.recommend(top_n=3)
    assert users.tolist() == [1, 2, 3, 4, 5] and lists.shape == (5, 3)
