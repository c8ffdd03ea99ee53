"""`recctl simulate` on the Ray runtime: the episodes in shards, one Ray task per shard.

Shards split the users (user mod shards, `recctl.sim.http_runner.in_shard`), not ranges
of episodes: every session of a user runs in one shard, in episode order, so the
service's per-user state sees the same requests in the same order as in a single-process
run, and the same seed gives the same event logs. Shard i runs on node i mod n (node
affinity: every node works), against the replicas' URLs (the balancer on the driver's
machine may listen on loopback only), with the run's concurrency split between shards.

The world folder crosses once, as tar bytes in the object store; each shard unpacks it on
its node. The shards count finished episodes into a small progress actor, which the
driver reads for the Rich progress bar while it waits. The shards' results are merged in
(day, episode) order, their acknowledged counts (per replica too) summed, so the run's
accounting reconciles with the fetched logs as for one process.
"""

from __future__ import annotations

import contextlib
import io
import math
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console

from recctl.sim.results import SimulationResult
from recctl.stack.base import RunState
from recctl.stack.ray_cluster import alive_nodes, check_fits, connect, wait_for
from recctl.stack.ray_runtime import folder_archive

REPORT_EVERY = 20  # episodes a shard finishes between two progress messages


class ProgressCounter:
    """Episodes finished so far, over all shards (a Ray actor)."""

    def __init__(self) -> None:
        self.done = 0

    def add(self, count: int) -> None:
        self.done += count

    def value(self) -> int:
        return self.done


def run_shard(world_tar: bytes, user_model_text: str | None, targets: list[str], *,
              episodes: int, days: int, seed: int, concurrency: int, shard: tuple[int, int],
              counter: Any) -> dict[str, Any]:
    """One shard's episodes against `targets` (runs as a Ray task on some node)."""
    import yaml

    from recctl.sim.http_runner import run_http_simulation
    from recctl.sim.user_model import load_user_model, user_model_from_mapping
    from recctl.sim.world_io import load_world
    from recctl.stack.safe_tar import safe_extract

    if user_model_text is None:
        user_model = load_user_model(None)
    else:
        user_model = user_model_from_mapping(yaml.safe_load(user_model_text) or {},
                                             source="simulation.user_model")
    finished = 0

    def count(_user: int, _time: float, _steps: int, _failed: bool) -> bool:
        nonlocal finished
        finished += 1
        if finished % REPORT_EVERY == 0:
            counter.add.remote(REPORT_EVERY)
        return False  # never asks to stop

    with tempfile.TemporaryDirectory(prefix="recctl-shard-") as tmp:
        safe_extract(io.BytesIO(world_tar), Path(tmp))
        world = load_world(Path(tmp), user_model)
        result = run_http_simulation(world, user_model, targets, episodes=episodes, days=days,
                                     seed=seed, concurrency=concurrency, progress=False,
                                     on_episode=count, shard=shard)
    counter.add.remote(finished % REPORT_EVERY)
    return {"day": result.day, "episode": result.episode, "user": result.user,
            "session_time": result.session_time, "steps": result.steps,
            "failed": result.failed, "acked_requests": result.acked_requests,
            "retried_requests": result.retried_requests,
            "acked_by_replica": result.acked_by_replica, "busy_retries": result.busy_retries,
            "errors": result.errors}


def merge_shards(parts: list[dict[str, Any]], seed: int, targets: list[str],
                 elapsed: float) -> SimulationResult:
    """One result, episodes in (day, episode) order, counters summed over the shards."""
    columns = {key: np.concatenate([p[key] for p in parts])
               for key in ("day", "episode", "user", "session_time", "steps", "failed")}
    order = np.lexsort((columns["episode"], columns["day"]))
    by_replica: dict[str, int] = {}
    for part in parts:
        for replica, count in part["acked_by_replica"].items():
            by_replica[replica] = by_replica.get(replica, 0) + int(count)
    return SimulationResult(
        seed=seed, targets=targets, **{k: v[order] for k, v in columns.items()},
        acked_requests=sum(int(p["acked_requests"]) for p in parts),
        retried_requests=sum(int(p["retried_requests"]) for p in parts),
        acked_by_replica=dict(sorted(by_replica.items())),
        busy_retries=sum(int(p["busy_retries"]) for p in parts),
        errors=[e for p in parts for e in p["errors"]][:10], elapsed_seconds=elapsed)


def _show_progress(ray: Any, counter: Any, bar: Any, task: Any) -> Any:
    """Move the bar to the episodes finished so far; returns the counter, or None once it
    is unreachable (lost with its node): the bar then stands still, and the shards' own
    results decide the run."""
    from ray.exceptions import RayError

    if counter is None:
        return None
    try:
        bar.update(task, completed=int(ray.get(counter.value.remote(), timeout=5.0)))
    except RayError:
        return None
    return counter


def run_sharded_simulation(loaded: Any, state: RunState, console: Console,
                           progress: bool = True) -> SimulationResult:
    """The experiment's simulation as shards on the run's Ray cluster."""
    from ray.exceptions import RayError
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    from recctl.sim.rendering import episode_progress

    ray = connect(state.ray.get("address", "auto"), state.ray.get("namespace", "recctl"))
    spec = loaded.spec
    sim = spec.simulation
    nodes = alive_nodes(ray)
    check_fits(nodes, spec.stack.ray.shard_cpus, "stack.ray.shard_cpus")
    shards = spec.stack.ray.shards or len(nodes)
    targets = list(state.replica_urls)
    world = ray.put(folder_archive(spec.world_dir))
    model_text = Path(sim.user_model).read_text(encoding="utf-8") if sim.user_model else None
    counter: Any = ray.remote(num_cpus=0)(ProgressCounter).remote()
    task = ray.remote(run_shard)
    started = time.perf_counter()
    # No retries: a shard re-run after its node died would replay requests the service
    # already answered (and remembered in users' state); a lost shard fails the run.
    pending = [
        task.options(num_cpus=spec.stack.ray.shard_cpus, max_retries=0, scheduling_strategy=(
            NodeAffinitySchedulingStrategy(nodes[i % len(nodes)]["NodeID"], soft=False)))
        .remote(world, model_text, targets, episodes=sim.episodes, days=sim.days,
                seed=sim.seed, concurrency=max(1, math.ceil(sim.concurrency / shards)),
                shard=(i, shards), counter=counter)
        for i in range(shards)]
    refs = list(pending)
    try:
        with episode_progress(console, progress) as bar:
            total = bar.add_task(f"{shards} shards on {len(nodes)} node(s)",
                                 total=sim.episodes * sim.days)
            while pending:
                ready, pending = ray.wait(pending, num_returns=len(pending), timeout=0.5)
                if ready:  # a lost shard stops the run now, not when the others finish
                    wait_for(ray, ready, timeout=60.0, what="the simulation shards")
                counter = _show_progress(ray, counter, bar, total)
            counter = _show_progress(ray, counter, bar, total)  # the shards' last counts
        parts = wait_for(ray, refs, timeout=60.0, what="the simulation shards")
    except BaseException:
        for ref in refs:  # Ctrl-C or a failed shard: stop the other shards too
            with contextlib.suppress(RayError):  # its node may be gone already
                ray.cancel(ref, force=True)
        raise
    finally:
        if counter is not None:
            with contextlib.suppress(RayError):
                ray.kill(counter)
    return merge_shards(parts, sim.seed, targets, time.perf_counter() - started)
