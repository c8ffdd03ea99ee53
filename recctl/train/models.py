"""Fit every model on listens, in memory: what the artifacts and the batch policies are made of."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from recctl.train.config import LFMParams, TrainConfig
from recctl.train.dssm import TwoTower, train_dssm
from recctl.train.evaluate import evaluate
from recctl.train.item2item import ItemLists, Shape, diversify, item_to_item
from recctl.train.lfm import train_lfm
from recctl.train.listens import Listens
from recctl.train.toplist import top_tracks


@dataclass
class Trained:
    top: np.ndarray
    item_lists: dict[str, ItemLists]  # "i2i", "i2i_diverse"
    user_lists: dict[str, tuple[np.ndarray, np.ndarray]]  # "dssm", "lfm": (users, lists)
    dssm: TwoTower
    timings: dict[str, float] = field(default_factory=dict)

    def evaluate(self, holdout: Listens, config: TrainConfig) -> list[dict[str, float | str | int]]:
        items = {name: (lists.tracks, lists.lists) for name, lists in self.item_lists.items()}
        return evaluate(
            holdout, self.top, self.user_lists, items, config.evaluation.ks, config.positive_time
        )


def fit_all(
    listens: Listens,
    artist_of: np.ndarray,
    config: TrainConfig,
    rng: np.random.Generator,
    *,
    warm_dssm: TwoTower | None = None,
    dssm_rows: np.ndarray | None = None,
    dssm_epochs: int | None = None,
    lfm: bool | None = None,
) -> Trained:
    """Top tracks, i2i, i2i_diverse, DSSM (and LFM when enabled) from the same listens.

    `warm_dssm` continues yesterday's model; `dssm_rows` restricts DSSM to those listen
    rows (e.g. today's plus a sample of older days) and `dssm_epochs` overrides epochs.
    `lfm` overrides `config.lfm.enabled` (the bootstrap fits it on the last day only).
    """
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    top = top_tracks(listens, config.top.n)
    timings["top_tracks"] = time.perf_counter() - clock

    clock = time.perf_counter()
    p = config.i2i
    shape = Shape(
        window=p.window,
        decay=p.decay,
        weight_anchor=p.weight_anchor,
        symmetric=p.symmetric,
        min_time=p.min_time,
        repeat_discount=p.repeat_discount,
    )
    items = {
        "i2i": item_to_item(listens, artist_of, k=p.k, **shape),
        "i2i_diverse": diversify(listens, artist_of, k=p.k, per_artist=p.per_artist, **shape),
    }
    timings["i2i"] = time.perf_counter() - clock

    clock = time.perf_counter()
    positive = listens.positives(config.positive_time)
    rows = np.flatnonzero(positive) if dssm_rows is None else dssm_rows[positive[dssm_rows]]
    model = train_dssm(
        listens.user[rows],
        listens.track[rows],
        config.dssm,
        rng,
        warm=warm_dssm,
        epochs=dssm_epochs,
    )
    users: dict[str, tuple[np.ndarray, np.ndarray]] = {"dssm": model.recommend()}
    timings["dssm"] = time.perf_counter() - clock

    if config.lfm.enabled if lfm is None else lfm:
        clock = time.perf_counter()
        users["lfm"] = fit_lfm(listens, config.lfm, rng)
        timings["lfm"] = time.perf_counter() - clock
    return Trained(top, items, users, model, timings)


def fit_lfm(listens: Listens, params: LFMParams,
            rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The LFM (ALS) user lists with train.yml's `lfm` settings: (users, lists)."""
    return train_lfm(listens, dim=params.dim, iterations=params.iterations,
                     regularization=params.regularization, alpha=params.alpha,
                     top_n=params.top_n, rng=rng)
