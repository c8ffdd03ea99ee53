"""The bootstrap's traffic: a cold-start day from the `random` recommender, then days
served by a mix of the arms (recommender specs, as in an experiment file) on the models
trained so far, retraining every model on all logs so far each day.

The recommenders are the service's own classes (recctl.recommenders), run in-process on
a MemoryStore of the day's models through recctl.sim.serving.ChainPolicy, with the same
fallbacks, per-user state and pick rule as a replica. Only the simulator touches the
world's hidden parts; training sees the logs it writes and the public catalog.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from recctl.bootstrap.config import LoopParams
from recctl.eventlog import LOG_BASENAME, read_events
from recctl.recommenders import MemoryStore, build_chain
from recctl.sim.inprocess import simulate_in_process
from recctl.sim.serving import ChainPolicy
from recctl.sim.user_model import UserModel
from recctl.sim.world import World
from recctl.train.catalog import Catalog
from recctl.train.config import TrainConfig
from recctl.train.listens import Listens, concat_listens, listens_from_frame
from recctl.train.models import Trained, fit_all, fit_lfm

AB_DAY = 100_000  # the in-process A/B's day index: no training day uses it


def _tracks(catalog: Catalog) -> list[tuple[int, str]]:
    return [(int(row["track"]), str(row["artist"])) for row in catalog.rows]


def store_of(trained: Trained, catalog: Catalog) -> MemoryStore:
    """The trained models as the service would see them once written as artifacts."""
    return MemoryStore(
        _tracks(catalog),
        {"top_tracks": trained.top},
        {name: (lists.tracks, lists.lists) for name, lists in trained.item_lists.items()},
        dict(trained.user_lists),
    )


def _read_day(path: Path) -> Listens:
    frame, _ = read_events([path])
    return listens_from_frame(frame)


def _arm_by_episode(arm_of_episode: np.ndarray, _users: np.ndarray,
                    episodes: np.ndarray) -> np.ndarray:
    return arm_of_episode[episodes]


def _mean_by_arm(result: Any, arm_of_episode: np.ndarray, names: list[str]) -> dict[str, float]:
    return {name: float(result.session_time[arm_of_episode == i].mean())
            for i, name in enumerate(names) if (arm_of_episode == i).any()}


def _fit_day(listens: Listens, catalog: Catalog, config: TrainConfig,
             rng: np.random.Generator, seed: int, *, lfm: bool,
             yesterday: tuple[Trained, Listens] | None = None,
             **dssm: Any) -> tuple[Trained, list[dict[str, Any]]]:
    """fit_all on the main thread while a second one fits LFM (with its own generator,
    so the result does not depend on timing) and scores yesterday's models on today's
    sessions: their heavy numpy/scipy parts release the GIL, so on two cores they
    cost little wall time next to DSSM's training. Returns the models and the scores."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        side = pool.submit(_side_work, listens, config, seed, lfm, yesterday)
        cpu = time.thread_time()
        trained = fit_all(listens, catalog.artist_of, config, rng, lfm=False, **dssm)
        seconds_fit = time.thread_time() - cpu
        held, lfm_lists, seconds = side.result()
    seconds["cpu_main_thread"] = seconds_fit  # the critical path's part, for the benchmark
    if lfm_lists is not None:
        trained.user_lists["lfm"] = lfm_lists
    trained.timings.update(seconds)
    return trained, held


def _side_work(listens: Listens, config: TrainConfig, seed: int, lfm: bool,
               yesterday: tuple[Trained, Listens] | None,
               ) -> tuple[list[dict[str, Any]], tuple[np.ndarray, np.ndarray] | None,
                          dict[str, float]]:
    seconds: dict[str, float] = {}
    held: list[dict[str, Any]] = []
    cpu = time.thread_time()
    clock = time.perf_counter()
    if yesterday is not None:
        models, today = yesterday
        held = models.evaluate(today, config)  # yesterday's models on today's sessions
        seconds["evaluate"] = time.perf_counter() - clock
    lists = None
    if lfm:
        clock = time.perf_counter()
        lists = fit_lfm(listens, config.lfm, np.random.default_rng([seed, 0x1F3]))
        seconds["lfm"] = time.perf_counter() - clock
    seconds["cpu_second_thread"] = time.thread_time() - cpu
    return held, lists, seconds


def _daily_epochs(params: LoopParams, day: int) -> int:
    if day == params.days and params.last_day_dssm_epochs is not None:
        return params.last_day_dssm_epochs  # the model that ships
    return params.daily_dssm_epochs


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
    path = logs / "day-000" / LOG_BASENAME
    catalog_only = MemoryStore(_tracks(catalog), {}, {}, {})
    cold = ChainPolicy([build_chain({"type": "random"}, catalog_only)])
    result = simulate_in_process(world, user_model, cold, episodes=params.cold_start_episodes,
                                 seed=seed, day=0, log_path=path)
    simulated = time.perf_counter()
    parts = [_read_day(path)]
    read = time.perf_counter()
    # LFM serves no arm of the loop: it is fitted once, with the last day's models.
    enabled = train_config.lfm.enabled
    trained, _ = _fit_day(parts[0], catalog, train_config, rng, seed,
                          lfm=enabled and params.days == 0,
                          dssm_epochs=params.cold_start_dssm_epochs)
    stats.append({"day": 0, "episodes": params.cold_start_episodes,
                  "lines": result.lines_written,
                  "session_time": {"random": float(result.session_time.mean())},
                  "seconds": time.perf_counter() - clock,
                  "timings": {"simulate": simulated - clock, "read": read - simulated,
                              **trained.timings}})
    advance("cold start")
    names = list(params.arms)
    for day in range(1, params.days + 1):
        clock = time.perf_counter()
        store = store_of(trained, catalog)
        chains = [build_chain(params.arms[name], store) for name in names]
        # A fresh policy, so fresh user state each day: the service's state TTL is a day.
        arm_of_episode = rng.choice(len(names), size=params.episodes_per_day, p=params.shares())
        policy = ChainPolicy(chains, partial(_arm_by_episode, arm_of_episode),
                             explore=params.explore)
        path = logs / f"day-{day:03d}" / LOG_BASENAME
        result = simulate_in_process(world, user_model, policy,
                                     episodes=params.episodes_per_day, seed=seed, day=day,
                                     log_path=path)
        simulated = time.perf_counter()
        today = _read_day(path)
        read = time.perf_counter()
        n_old = sum(len(part) for part in parts)
        parts.append(today)
        listens = concat_listens(parts)
        # DSSM continues yesterday's model on today's positives plus a sample of older ones.
        old_rows = np.flatnonzero(rng.random(n_old) < params.old_positives_sample)
        rows = np.concatenate([old_rows, np.arange(n_old, len(listens))])
        trained, held = _fit_day(listens, catalog, train_config, rng, seed,
                                 lfm=enabled and day == params.days,
                                 yesterday=(trained, today), warm_dssm=trained.dssm,
                                 dssm_rows=rows, dssm_epochs=_daily_epochs(params, day))
        stats.append({"day": day, "episodes": params.episodes_per_day,
                      "lines": result.lines_written,
                      "session_time": _mean_by_arm(result, arm_of_episode, names),
                      "evaluation": held, "seconds": time.perf_counter() - clock,
                      "timings": {"simulate": simulated - clock, "read": read - simulated,
                                  **trained.timings}})
        advance(f"day {day}")
    return concat_listens(parts), trained, stats


def ab_in_process(world: World, user_model: UserModel, store: MemoryStore,
                  arms: Mapping[str, Any], *, episodes: int, seed: int,
                  day: int = AB_DAY) -> dict[str, dict[str, float]]:
    """Each arm (a recommender spec) on the same episodes, with its own fresh user state:
    mean session time, its standard error and mean steps per arm.

    An arm whose chain reads an artifact the store does not hold is skipped (e.g.
    i2i_diverse when training made none)."""
    out: dict[str, dict[str, float]] = {}
    for name, spec in arms.items():
        chain = build_chain(spec, store)
        if not _has_artifacts(chain, store):
            continue
        result = simulate_in_process(world, user_model, ChainPolicy([chain]),
                                     episodes=episodes, seed=seed, day=day)
        out[name] = {
            "session_time": float(result.session_time.mean()),
            "session_time_se": float(result.session_time.std(ddof=1) / np.sqrt(episodes)),
            "steps": float(result.steps.mean()),
        }
    return out


def _has_artifacts(chain: Any, store: MemoryStore) -> bool:
    held = {**store.tops, **store.item_tables, **store.user_tables}
    return all(name in held for r in chain.recommenders
               for name, _ in r.artifacts_needed(r.params))
