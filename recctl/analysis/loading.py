"""Finding the logs, the experiment and the fetch manifest for a report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import yaml
from pydantic import ValidationError

from recctl.errors import RecctlError
from recctl.eventlog import ReadSummary, find_log_files, read_events
from recctl.spec import ReportSpec

FETCH_MANIFEST = "manifest.json"
EXPERIMENT_COPY = "experiment.yml"  # fetch copies the experiment file into the run folder


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
    return choose_experiment(experiment_names(events), requested, manifest)


def choose_experiment(names: Sequence[str], requested: str | None,
                      manifest: dict[str, Any] | None = None) -> str:
    """`resolve_experiment` on the experiment names found in the logs (any engine)."""
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


def check_arms(arms: Sequence[str], control: str) -> None:
    """The control exists and there is something to compare (user mistakes: errors).

    Arms with too few users are not errors: their rows say NOT_ENOUGH_DATA and the other
    arms are still compared.
    """
    if control not in arms:
        raise RecctlError(f"control arm {control!r} is not in the logs",
                          f"arms found: {', '.join(arms)}; choose one with --control")
    if len(arms) < 2:
        raise RecctlError(f"only one arm ({', '.join(arms)}) is in the logs",
                          "an A/B needs two arms; try --aa for a split of one arm's users")


@dataclass(frozen=True)
class StoredExperiment:
    """What a fetched run folder says about its experiment: the arms of the experiment file
    (None when unknown) and its `report:` block (validated; None when absent)."""

    arms: list[str] | None
    report: ReportSpec | None
    source: str


def stored_experiment(paths: Sequence[str | Path]) -> StoredExperiment | None:
    """The experiment settings a run folder carries: the fetch manifest's `report` block
    (contract 4), else the `experiment.yml` copy fetch leaves next to it. None if neither."""
    for raw in paths:
        folder = Path(raw)
        if not folder.is_dir():
            continue
        manifest = fetch_manifest([folder]) or {}
        copy = folder / EXPERIMENT_COPY
        file_block: dict[str, Any] | None = None
        arms: list[str] | None = None
        if copy.is_file():
            try:
                loaded = yaml.safe_load(copy.read_text(encoding="utf-8"))
            except yaml.YAMLError as exc:
                raise RecctlError(f"{copy}: not valid YAML ({exc})",
                                  "fix or remove the copy; flags give the settings") from None
            if isinstance(loaded, dict):
                if isinstance(loaded.get("arms"), dict):
                    arms = [str(a) for a in loaded["arms"]]
                if isinstance(loaded.get("report"), dict):
                    file_block = loaded["report"]
        if isinstance(manifest.get("report"), dict):
            block, source = manifest["report"], str(folder / FETCH_MANIFEST)
        elif file_block is not None:
            block, source = file_block, str(copy)
        elif arms is not None:
            block, source = {}, str(copy)
        else:
            continue
        return StoredExperiment(arms=arms, report=_report_spec(block, source), source=source)
    return None


def _report_spec(block: dict[str, Any], source: str) -> ReportSpec:
    # Keys a newer recctl may add (e.g. cuped) are not ours to judge here: keep known ones.
    known = {k: v for k, v in block.items() if k in ReportSpec.model_fields}
    try:
        return ReportSpec.model_validate(known)
    except ValidationError as exc:
        problems = "; ".join(f"report.{'.'.join(map(str, e['loc']))}: {e['msg']}".rstrip(".")
                             for e in exc.errors())
        raise RecctlError(f"{source}: invalid report settings ({problems})",
                          "fix the report: block, or give the settings as flags") from None
