"""`recctl train`: event logs in, an artifacts folder (with manifest and offline metrics) out."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console

import recctl
from recctl.artifacts import ArtifactWriter, file_sha256
from recctl.environment import numeric_environment
from recctl.errors import RecctlError
from recctl.eventlog import ReadSummary, find_log_files, read_events
from recctl.train.catalog import Catalog, load_catalog, placeholder_catalog
from recctl.train.config import TrainConfig, load_train_config
from recctl.train.item2item import ItemLists
from recctl.train.listens import Listens, listens_from_frame, split_by_time
from recctl.train.models import Trained, fit_all
from recctl.train.report import evaluation_table, print_read_summary
from recctl.train.sound import sound_lists


@dataclass(frozen=True)
class TrainResult:
    out: Path
    evaluation: list[dict[str, float | str | int]]
    manifest: dict[str, Any]


def code_version() -> dict[str, str | None]:
    """recctl's version and, in a checkout, the git commit (None elsewhere)."""
    commit = None
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(recctl.__file__).parent,
        )
        commit = done.stdout.strip() or None if done.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        pass
    return {"recctl": recctl.__version__, "git_commit": commit}


def read_listens(log_paths: Sequence[str | Path]) -> tuple[Listens, ReadSummary, list[Path]]:
    """Every event under the paths as listens; RecctlError when there is nothing usable."""
    if not log_paths:
        raise RecctlError("no log folders given", "pass one or more folders made by `recctl fetch`")
    files = find_log_files(log_paths)
    if not files:
        raise RecctlError(
            f"no event-log files (data.json, data.json.N) under {', '.join(map(str, log_paths))}",
            "pass the replica folders `recctl fetch` wrote, or a data.json file",
        )
    frame, summary = read_events(files)
    if frame.empty:
        detail = (
            f"; {summary.malformed} malformed line(s), e.g. {summary.malformed_examples[0]}"
            if summary.malformed
            else ""
        )
        raise RecctlError(
            f"the logs hold no valid events ({summary.lines} line(s) read{detail})",
            "check that the files are recctl or botify event logs (JSON lines)",
        )
    return listens_from_frame(frame), summary, files


def fit_and_evaluate(
    listens: Listens, catalog: Catalog, config: TrainConfig, rng: np.random.Generator
) -> tuple[Trained, list[dict[str, Any]]]:
    """Evaluate on the held-out last sessions, then (by default) refit on everything."""
    if not listens.positives(config.positive_time).any():
        raise RecctlError(
            f"the logs hold no positive listen (time >= {config.positive_time})",
            "train on logs where users listened to something, e.g. more episodes",
        )
    fraction = config.evaluation.holdout_fraction
    train_part, holdout = split_by_time(listens, fraction)
    if len(holdout) == 0 or not train_part.positives(config.positive_time).any():
        return fit_all(listens, catalog.artist_of, config, rng), []
    trained = fit_all(train_part, catalog.artist_of, config, rng)
    rows = trained.evaluate(holdout, config)
    if config.evaluation.refit:
        trained = fit_all(listens, catalog.artist_of, config, rng)
    return trained, rows


def sound_item_lists(catalog: Catalog, config: TrainConfig,
                     threads: int | None = None) -> dict[str, ItemLists]:
    """The content-based lists (recctl.train.sound) when the catalog has sound features."""
    if catalog.sound is None or not config.sound.enabled:
        return {}
    return sound_lists(catalog.sound, catalog.artist_of, config.sound.k, config.sound.pool,
                       threads=threads)


def write_artifacts(
    out: Path,
    trained: Trained,
    catalog: Catalog,
    manifest: dict[str, Any],
    *,
    overwrite: bool = False,
    late: Callable[[], dict[str, Any]] | None = None,
) -> Path:
    """The artifacts folder; `late()`, if given, adds manifest keys once the files are
    written (e.g. figures computed meanwhile on another thread)."""
    with ArtifactWriter(out, overwrite=overwrite) as writer:
        writer.tracks(catalog.rows)
        writer.top_tracks(trained.top)
        for name, lists in trained.item_lists.items():
            writer.item_lists(name, lists.rows())
        for name, (users, table) in trained.user_lists.items():
            writer.user_lists(  # Python ints: the writer converts each one
                name, ((u, row[row >= 0].tolist()) for u, row in
                       zip(users.tolist(), table, strict=True))
            )
        return writer.finish(**manifest, **(late() if late is not None else {}))


def train(
    log_paths: Sequence[str | Path],
    out: str | Path,
    *,
    seed: int = 0,
    catalog: str | Path | None = None,
    config: TrainConfig | None = None,
    console: Console | None = None,
    overwrite: bool = False,
) -> TrainResult:
    """Read logs, fit every model, evaluate offline, write the artifacts folder atomically."""
    console = console or Console(stderr=True)
    config = config or load_train_config()
    out = Path(out)
    if out.exists() and not overwrite:
        raise RecctlError(
            f"artifacts folder {out} already exists", "choose another --out, or pass --overwrite"
        )
    clock = time.perf_counter()
    listens, summary, files = read_listens(log_paths)
    print_read_summary(summary, console)
    cat = load_catalog(catalog) if catalog else placeholder_catalog(listens.track)
    unknown = int((listens.track >= cat.n_tracks).sum()) if catalog else 0
    if unknown:
        console.print(f"[yellow]{unknown:,} listen(s) name tracks missing from {catalog}[/]")
    read_seconds = time.perf_counter() - clock
    trained, rows = fit_and_evaluate(listens, cat, config, np.random.default_rng(seed))
    clock = time.perf_counter()
    trained.item_lists.update(sound_item_lists(cat, config))
    trained.timings["sound_lists"] = time.perf_counter() - clock
    if rows:
        console.print(
            evaluation_table(
                rows,
                f"offline evaluation (last {config.evaluation.holdout_fraction:.0%} of sessions)",
            )
        )
    manifest = {
        "producer": "recctl train",
        "code_version": code_version(),
        "environment": numeric_environment(),
        "seed": seed,
        "parameters": config.to_dict(),
        "inputs": [
            {"path": str(f), "sha256": file_sha256(f), "bytes": f.stat().st_size} for f in files
        ],
        "catalog": {
            "source": cat.source,
            "sha256": file_sha256(Path(catalog)) if catalog else None,
            "tracks": cat.n_tracks,
        },
        "read": {
            "lines": summary.lines,
            "malformed": summary.malformed,
            "malformed_examples": summary.malformed_examples,
        },
        "data": {
            "listens": len(listens),
            "sessions": listens.n_sessions,
            "users": int(len(np.unique(listens.user))),
            "tracks": int(len(np.unique(listens.track))),
            "positives": int(listens.positives(config.positive_time).sum()),
        },
        "evaluation": {"holdout_fraction": config.evaluation.holdout_fraction, "rows": rows},
        "timings": {"read": read_seconds, **trained.timings, "total": time.perf_counter() - clock},
    }
    path = write_artifacts(out, trained, cat, manifest, overwrite=overwrite)
    return TrainResult(path, rows, manifest)
