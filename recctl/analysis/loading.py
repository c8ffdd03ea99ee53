"""Finding the logs, the experiment and the fetch manifest for a report."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
import pandas as pd

from recctl.errors import RecctlError
from recctl.eventlog import ReadSummary, find_log_files, read_events

FETCH_MANIFEST = "manifest.json"


def load_events(paths: Sequence[str | Path]) -> tuple[pd.DataFrame, ReadSummary]:
    """All events under the run folders or log files; a clear error when there are none."""
    if not paths:
        raise RecctlError("no logs given", "pass a run folder from `recctl fetch` or log files")
    if not find_log_files(paths):
        raise RecctlError(
            f"no event logs (data.json, data.json.N) under {', '.join(map(str, paths))}",
            "run `recctl fetch` first, or point at a replica's log folder",
        )
    events, summary = read_events(paths)
    if events.empty:
        raise RecctlError("the logs hold no valid events",
                          f"{summary.malformed} malformed line(s), e.g. "
                          f"{'; '.join(summary.malformed_examples[:2]) or 'none'}")
    return events, summary


def fetch_manifest(paths: Sequence[str | Path]) -> dict[str, Any] | None:
    """The manifest `recctl fetch` left in a run folder (the first found), if any."""
    for raw in paths:
        candidate = Path(raw) / FETCH_MANIFEST
        if Path(raw).is_dir() and candidate.is_file():
            try:
                value = orjson.loads(candidate.read_bytes())
            except orjson.JSONDecodeError:
                continue
            if isinstance(value, dict):
                return value
    return None


def experiment_names(events: pd.DataFrame) -> list[str]:
    return [c.removeprefix("exp:") for c in events.columns if c.startswith("exp:")]


def resolve_experiment(events: pd.DataFrame, requested: str | None,
                       manifest: dict[str, Any] | None = None) -> str:
    """--experiment, else the fetch manifest's, else the only experiment in the logs."""
    names = experiment_names(events)
    wanted = requested or (manifest or {}).get("experiment")
    if wanted:
        if wanted not in names:
            raise RecctlError(f"experiment {wanted!r} is not in the logs",
                              f"experiments found: {', '.join(names) or 'none'}")
        return str(wanted)
    if len(names) == 1:
        return names[0]
    if not names:
        raise RecctlError("the logs name no experiment (no `experiments` field)",
                          "was the service started with an experiment?")
    raise RecctlError(f"the logs name several experiments: {', '.join(names)}",
                      "choose one with --experiment NAME")


def check_arms(arms: Sequence[str], control: str, users_per_arm: dict[str, int]) -> None:
    """The control exists, there is something to compare, and no arm is empty."""
    if control not in arms:
        raise RecctlError(f"control arm {control!r} is not in the logs",
                          f"arms found: {', '.join(arms)}; choose one with --control")
    if len(arms) < 2:
        raise RecctlError(f"only one arm ({', '.join(arms)}) is in the logs",
                          "an A/B needs two arms; try --aa for a split of one arm's users")
    empty = [arm for arm in arms if users_per_arm.get(arm, 0) < 2]
    if empty:
        raise RecctlError(f"arm(s) {', '.join(empty)} have fewer than two users",
                          "simulate more episodes, or check the assignment")
