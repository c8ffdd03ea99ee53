"""The event log contract (DESIGN.md, "Event log"): field names, file discovery, reading.

Writers (the service, the in-process simulator) build lines with `make_event`; readers
(training, the report) use `find_log_files` and `read_events`. Rotated files are read
oldest first: `data.json.3`, `data.json.2`, `data.json.1`, `data.json`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd

from recctl.errors import RecctlError

LOG_BASENAME = "data.json"
MESSAGES = ("next", "last")
# The fields the course's notebooks read; every line has them.
REQUIRED_FIELDS = ("message", "timestamp", "user", "track", "time", "latency", "recommendation")
_ROTATED = re.compile(r"^data\.json(?:\.(\d+))?$")


def make_event(
    message: str,
    timestamp_us: int,
    user: int,
    track: int,
    time: float,
    latency: float,
    recommendation: int | None,
    experiments: Mapping[str, str],
    **extra: Any,
) -> dict[str, Any]:
    """One log line as a dict, with the contract's fields plus extras (replica, session, ...)."""
    event: dict[str, Any] = {
        "message": message,
        "timestamp": timestamp_us // 1000,
        "timestamp_us": timestamp_us,
        "user": user,
        "track": track,
        "time": time,
        "latency": latency,
        "recommendation": recommendation,
        "experiments": dict(experiments),
    }
    event.update(extra)
    return event


def dumps_event(event: Mapping[str, Any]) -> bytes:
    """Serialise one event as a JSON line (bytes, newline included)."""
    return orjson.dumps(event) + b"\n"


def _rotation_key(path: Path) -> tuple[str, int]:
    match = _ROTATED.match(path.name)
    number = int(match.group(1)) if match and match.group(1) else 0
    # Oldest first: higher rotation numbers were written earlier.
    return (str(path.parent), -number)


def find_log_files(paths: Iterable[str | Path]) -> list[Path]:
    """Every event-log file under the given files or folders, rotated ones included.

    Folders are searched recursively for `data.json` and `data.json.N`; a file given
    directly is taken whatever its name. Within a folder files come oldest first.
    """
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            found.extend(p for p in path.rglob("data.json*") if p.is_file() and _ROTATED.match(p.name))
        else:
            raise RecctlError(
                f"log path {str(path)!r} does not exist",
                "pass a folder made by `recctl fetch` or a replica's log folder",
            )
    return sorted(set(found), key=_rotation_key)


@dataclass
class ReadSummary:
    """What reading the logs found: files, lines read, lines skipped and why."""

    files: list[Path] = field(default_factory=list)
    lines: int = 0
    malformed: int = 0
    malformed_examples: list[str] = field(default_factory=list)


def iter_events(files: Iterable[Path], summary: ReadSummary | None = None) -> Iterator[dict[str, Any]]:
    """Parsed events from the files, in order; malformed lines are skipped and counted."""
    summary = summary if summary is not None else ReadSummary()
    for path in files:
        summary.files.append(path)
        with open(path, "rb") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                summary.lines += 1
                try:
                    event = orjson.loads(line)
                    if not isinstance(event, dict) or event.get("message") not in MESSAGES:
                        raise ValueError("not an event object")
                    for name in REQUIRED_FIELDS:
                        if name not in event:
                            raise ValueError(f"missing {name!r}")
                except (orjson.JSONDecodeError, ValueError) as exc:
                    summary.malformed += 1
                    if len(summary.malformed_examples) < 5:
                        summary.malformed_examples.append(f"{path}:{number}: {exc}")
                    continue
                yield event


def read_events(paths: Iterable[str | Path]) -> tuple[pd.DataFrame, ReadSummary]:
    """All events under `paths` as a DataFrame, plus a summary of what was skipped.

    Columns: message, timestamp (ms), timestamp_us, user, track, time, latency,
    recommendation (-1 when null), session (None when not logged), replica, file_order
    (a global line index, the tiebreak for equal timestamps), and one column per
    experiment found in `experiments`, named `exp:<NAME>`.
    """
    summary = ReadSummary()
    files = find_log_files(paths)
    columns: dict[str, list[Any]] = {
        name: [] for name in ("message", "timestamp", "timestamp_us", "user", "track", "time",
                              "latency", "recommendation", "session", "replica")
    }
    experiments: dict[str, list[Any]] = {}
    count = 0
    for event in iter_events(files, summary):
        columns["message"].append(event["message"])
        ts = event["timestamp"]
        columns["timestamp"].append(ts)
        columns["timestamp_us"].append(event.get("timestamp_us", ts * 1000))
        columns["user"].append(event["user"])
        columns["track"].append(event["track"])
        columns["time"].append(event["time"])
        columns["latency"].append(event["latency"])
        rec = event["recommendation"]
        columns["recommendation"].append(-1 if rec is None else rec)
        columns["session"].append(event.get("session"))
        columns["replica"].append(event.get("replica"))
        for name, arm in (event.get("experiments") or {}).items():
            experiments.setdefault(name, [None] * count).append(arm)
        count += 1
        for values in experiments.values():
            if len(values) < count:
                values.append(None)
    frame = pd.DataFrame(
        {
            "message": pd.Categorical(columns["message"], categories=list(MESSAGES)),
            "timestamp": np.asarray(columns["timestamp"], dtype=np.int64),
            "timestamp_us": np.asarray(columns["timestamp_us"], dtype=np.int64),
            "user": np.asarray(columns["user"], dtype=np.int64),
            "track": np.asarray(columns["track"], dtype=np.int64),
            "time": np.asarray(columns["time"], dtype=np.float64),
            "latency": np.asarray(columns["latency"], dtype=np.float64),
            "recommendation": np.asarray(columns["recommendation"], dtype=np.int64),
            "session": columns["session"],
            "replica": columns["replica"],
            "file_order": np.arange(count, dtype=np.int64),
        }
    )
    for name, arms in experiments.items():
        frame[f"exp:{name}"] = pd.Categorical(arms)
    return frame, summary
