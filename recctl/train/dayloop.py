"""The bootstrap's traffic: cold-start days from a random recommender, then days served by
a mix of the trained recommenders, retraining every model on all logs so far each day.

Only the simulator touches the world's hidden parts; training sees the logs it writes
and the public catalog, as the service would.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from recctl.constants import LIKED_THRESHOLD
from recctl.eventlog import read_events
from recctl.sim.inprocess import simulate_in_process
from recctl.sim.user_model import UserModel
from recctl.sim.world import World
from recctl.train import policies as P
from recctl.train.catalog import Catalog
from recctl.train.config import TrainConfig
from recctl.train.listens import Listens, concat_listens, listens_from_frame
from recctl.train.models import Trained, fit_all

ARMS = ("random", "dssm", "i2i", "contextual_mod")
AB_POLICIES = ("random", "top_pop", "dssm", "i2i", "i2i_diverse", "contextual_mod")


@dataclass(frozen=True)
class LoopParams:
    cold_start_episodes: int = 50_000
    days: int = 3
    episodes_per_day: int = 30_000
    arm_shares: tuple[float, ...] = (0.1, 0.3, 0.3, 0.3)  # in ARMS order
    explore: float = 0.1
    liked_threshold: float = LIKED_THRESHOLD
    daily_dssm_epochs: int = 3
    old_positives_sample: float = 0.25
    ab_episodes: int = 10_000


def tables_of(trained: Trained, n_tracks: int, n_users: int) -> P.Tables:
    items = {
        name: P.dense_table(lists.tracks, lists.lists, n_tracks)
        for name, lists in trained.item_lists.items()
    }
    users = {
        name: P.dense_table(u, lists, n_users) for name, (u, lists) in trained.user_lists.items()
    }
    return P.Tables(n_tracks, trained.top, items, users)


def named_policy(name: str, tables: P.Tables, liked_threshold: float) -> P.Policy:
    if name == "random":
        return P.random_policy(tables.n_tracks)
    if name == "top_pop":
        return P.top_pop_policy(tables)
    if name == "dssm":
        return P.indexed_policy(tables, "dssm")
    if name in ("i2i", "i2i_diverse"):
        return P.contextual_policy(tables, name)
    if name == "contextual_mod":
        return P.contextual_mod_policy(tables, liked_threshold=liked_threshold)
    raise ValueError(f"unknown policy {name!r}")


def _arm_lookup(arm_of_episode: np.ndarray) -> Callable[[Any], np.ndarray]:
    return lambda batch: arm_of_episode[batch.episodes]


def _read_day(path: Path) -> Listens:
    frame, _ = read_events([path])
    return listens_from_frame(frame)


def run_day_loop(
    world: World,
    user_model: UserModel,
    logs: Path,
    catalog: Catalog,
    params: LoopParams,
    train_config: TrainConfig,
    seed: int,
    advance: Callable[[str], None],
) -> tuple[Listens, Trained, list[dict[str, Any]]]:
    """Simulate and retrain day by day; returns all listens, the final models, day stats."""
    rng = np.random.default_rng([seed, 0xB007])
    stats: list[dict[str, Any]] = []
    clock = time.perf_counter()
    path = logs / "day-000" / "data.json"
    result = simulate_in_process(
        world,
        user_model,
        P.random_policy(world.n_tracks),
        episodes=params.cold_start_episodes,
        seed=seed,
        day=0,
        log_path=path,
    )
    parts = [_read_day(path)]
    trained = fit_all(parts[0], catalog.artist_of, train_config, rng)
    stats.append(
        {
            "day": 0,
            "episodes": params.cold_start_episodes,
            "lines": result.lines_written,
            "session_time": {"random": float(result.session_time.mean())},
            "seconds": time.perf_counter() - clock,
        }
    )
    advance("cold start")
    shares = np.asarray(params.arm_shares, dtype=np.float64)
    for day in range(1, params.days + 1):
        clock = time.perf_counter()
        tables = tables_of(trained, world.n_tracks, world.n_users)
        arms = [named_policy(name, tables, params.liked_threshold) for name in ARMS]
        arm_of_episode = rng.choice(
            len(ARMS), size=params.episodes_per_day, p=shares / shares.sum()
        )
        policy = P.mixture_policy(arms, _arm_lookup(arm_of_episode), world.n_tracks, params.explore)
        path = logs / f"day-{day:03d}" / "data.json"
        result = simulate_in_process(
            world,
            user_model,
            policy,
            episodes=params.episodes_per_day,
            seed=seed,
            day=day,
            log_path=path,
        )
        today = _read_day(path)
        held = trained.evaluate(today, train_config)  # yesterday's models on today's sessions
        old = concat_listens(parts)
        parts.append(today)
        listens = concat_listens(parts)
        # DSSM continues yesterday's model on today's positives plus a sample of older ones.
        old_rows = np.flatnonzero(rng.random(len(old)) < params.old_positives_sample)
        rows = np.concatenate([old_rows, np.arange(len(old), len(listens))])
        trained = fit_all(
            listens,
            catalog.artist_of,
            train_config,
            rng,
            warm_dssm=trained.dssm,
            dssm_rows=rows,
            dssm_epochs=params.daily_dssm_epochs,
        )
        by_arm = {
            name: float(result.session_time[arm_of_episode == i].mean())
            for i, name in enumerate(ARMS)
            if (arm_of_episode == i).any()
        }
        stats.append(
            {
                "day": day,
                "episodes": params.episodes_per_day,
                "lines": result.lines_written,
                "session_time": by_arm,
                "evaluation": held,
                "seconds": time.perf_counter() - clock,
            }
        )
        advance(f"day {day}")
    return concat_listens(parts), trained, stats


def ab_in_process(
    world: World,
    user_model: UserModel,
    tables: P.Tables,
    *,
    episodes: int,
    seed: int,
    liked_threshold: float,
) -> dict[str, dict[str, float]]:
    """Each policy on the same episodes (a day index no training day used): session time."""
    out: dict[str, dict[str, float]] = {}
    for name in AB_POLICIES:
        if name == "i2i_diverse" and name not in tables.item_lists:
            continue
        result = simulate_in_process(
            world,
            user_model,
            named_policy(name, tables, liked_threshold),
            episodes=episodes,
            seed=seed,
            day=100_000,
        )
        out[name] = {
            "session_time": float(result.session_time.mean()),
            "session_time_se": float(result.session_time.std(ddof=1) / np.sqrt(episodes)),
            "steps": float(result.steps.mean()),
        }
    return out
