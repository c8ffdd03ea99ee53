"""`recctl bootstrap`: everything a fresh install needs, from nothing, deterministically.

DIR/world/          the simulated world (recctl.sim), public tracks.json included
DIR/logs/day-NNN/   event logs of the simulated traffic, one folder per day
DIR/artifacts/      what the service loads (written atomically)
DIR/manifest.json   the build's key (seed + every parameter) and figures; written
                    last, so its presence with a matching key means "complete"
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from threadpoolctl import threadpool_limits

from recctl.artifacts import MANIFEST, file_sha256
from recctl.bootstrap.config import BootstrapConfig, load_bootstrap_config
from recctl.bootstrap.dayloop import ab_in_process, run_day_loop, store_of
from recctl.environment import numeric_environment
from recctl.errors import RecctlError
from recctl.eventlog import find_log_files
from recctl.sim.user_model import user_model_from_mapping
from recctl.sim.world import generate_world
from recctl.sim.world_io import load_world_params, save_world
from recctl.train.catalog import load_catalog
from recctl.train.config import load_train_config
from recctl.train.pipeline import code_version, sound_item_lists, write_artifacts

LAYOUT = ("world", "logs", "artifacts", MANIFEST)


@dataclass(frozen=True)
class BootstrapResult:
    out: Path
    reused: bool
    manifest: dict[str, Any]


def build_key(seed: int, config: BootstrapConfig) -> str:
    """What decides the folder's contents: the seed, the file, and the settings it resolves
    to (config/world.yml and train.yml with its overrides), so that a changed default,
    in a file or in the code, rebuilds a folder made before it."""
    resolved = {
        "world": load_world_params(None, **config.world).model_dump(),
        "train": load_train_config(overrides=config.train).to_dict(),
    }
    body = orjson.dumps({"seed": seed, "config": config.to_dict(), "resolved": resolved},
                        option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(body).hexdigest()[:20]


def outdated(out: Path) -> int | None:
    """The seed of a bootstrap-made folder whose build today's settings would not
    reproduce, else None (not such a folder, or up to date).

    Its manifest keeps the seed and the bootstrap settings it was made from (a user's own
    --config included), so a key that differs when recomputed from them means a shipped
    default moved since: config/world.yml, train.yml or one in the code."""
    try:
        manifest = orjson.loads((out / MANIFEST).read_bytes())
        seed = int(manifest["seed"])
        recorded = BootstrapConfig.model_validate(manifest["config"])
        key = build_key(seed, recorded)
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError, ValueError, RecctlError):
        return None  # not a bootstrap folder, or one we cannot read: nothing to compare
    return None if key == manifest.get("key") else seed


def _complete(out: Path, key: str) -> dict[str, Any] | None:
    path = out / MANIFEST
    if not path.is_file() or not (out / "artifacts" / MANIFEST).is_file():
        return None
    try:
        manifest = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError:
        return None
    return manifest if manifest.get("key") == key else None


def _clear(out: Path) -> None:
    strangers = (
        sorted(p.name for p in out.iterdir() if p.name not in LAYOUT) if out.exists() else []
    )
    if strangers:
        raise RecctlError(
            f"{out} exists and holds files bootstrap did not write: {', '.join(strangers[:5])}",
            "choose an empty or new --out folder",
        )
    (out / MANIFEST).unlink(missing_ok=True)  # first, so a half-rebuilt folder never looks complete
    for name in ("world", "logs", "artifacts"):
        shutil.rmtree(out / name, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)


def bootstrap(
    out: str | Path,
    *,
    seed: int = 0,
    config: BootstrapConfig | None = None,
    force: bool = False,
    console: Console | None = None,
) -> BootstrapResult:
    """Build (or reuse) DIR with world, logs and artifacts; see the module docstring."""
    out = Path(out)
    config = config or load_bootstrap_config()
    console = console or Console(stderr=True)
    key = build_key(seed, config)
    if not force and (manifest := _complete(out, key)) is not None:
        console.print(f"{out} is complete for this seed and configuration; reusing it")
        return BootstrapResult(out, True, manifest)
    _clear(out)
    started = time.perf_counter()
    loop = config.loop
    train_config = load_train_config(overrides=config.train)
    user_model = user_model_from_mapping(config.user_model, source="bootstrap user_model")
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
    )
    timings: dict[str, float] = {}
    # One BLAS thread for the whole build: its parallelism is its own threads, and the
    # limits they set and restore (process-wide) must not leave the caller at one thread.
    with threadpool_limits(limits=1, user_api="blas"), \
            Progress(*columns, console=console, disable=not console.is_terminal) as progress:
        task = progress.add_task("generating the world", total=loop.days + 4)

        def advance(done: str) -> None:
            timings[done] = time.perf_counter() - started
            progress.update(task, advance=1, description=f"{done} done")

        world = generate_world(load_world_params(None, **config.world), seed)
        with ThreadPoolExecutor(max_workers=1) as pool:  # write it while its cache is built
            saved = pool.submit(save_world, world, out / "world")
            world.interest_neighbours(user_model.interest_neighbours)  # the simulator's cache
            saved.result()
        advance("world")
        catalog = load_catalog(out / "world" / "tracks.json")  # the public part only
        # The sound lists need no logs: one thread makes them while the day loop runs (it
        # leaves about half a core idle on average).
        with ThreadPoolExecutor(max_workers=1) as side:
            sound = side.submit(sound_item_lists, catalog, train_config, threads=1)
            listens, trained, days = run_day_loop(
                world, user_model, out / "logs", catalog, loop, train_config, seed, advance
            )
            trained.item_lists.update(sound.result())
        # The A/B runs on a second thread while this one hashes the logs and writes the
        # artifacts; the artifacts' manifest, which quotes the A/B, is written last.
        with ThreadPoolExecutor(max_workers=1) as pool:
            ab_future = pool.submit(ab_in_process, world, user_model, store_of(trained, catalog),
                                    loop.ab_arms, episodes=loop.ab_episodes, seed=seed)
            files = sorted(find_log_files([out / "logs"]))
            artifacts_manifest = {
                "producer": "recctl bootstrap",
                "code_version": code_version(),
                "environment": numeric_environment(),
                "seed": seed,
                "parameters": train_config.to_dict(),
                "bootstrap": config.to_dict(),
                "inputs": [
                    {
                        "path": str(f.relative_to(out)),
                        "sha256": file_sha256(f),
                        "bytes": f.stat().st_size,
                    }
                    for f in files
                ],
                "catalog": {
                    "source": "world/tracks.json",
                    "tracks": catalog.n_tracks,
                    "sha256": file_sha256(out / "world" / "tracks.json"),
                },
                "data": {"listens": len(listens), "sessions": listens.n_sessions},
                "evaluation": {
                    "holdout": "each day's sessions, scored with the previous day's models",
                    "rows": days[-1].get("evaluation", []),
                },
            }

            def with_ab() -> dict[str, Any]:
                advance("in-process A/B")
                return {"in_process_ab": ab_future.result()}

            write_artifacts(out / "artifacts", trained, catalog, artifacts_manifest,
                            overwrite=True, late=with_ab)
            ab = ab_future.result()
        advance("artifacts")
    manifest = {
        "key": key,
        "seed": seed,
        "config": config.to_dict(),
        "code_version": code_version(),
        "environment": numeric_environment(),
        "layout": {"world": "world", "logs": "logs", "artifacts": "artifacts"},
        "days": days,
        "in_process_ab": ab,
        "timings": timings,
        "seconds": time.perf_counter() - started,
    }
    tmp = out / f".{MANIFEST}.tmp"
    tmp.write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY))
    os.replace(tmp, out / MANIFEST)
    return BootstrapResult(out, False, manifest)
