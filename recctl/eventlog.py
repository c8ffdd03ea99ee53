"""The event log contract (DESIGN.md, "Event log"): field names, file discovery, reading.

Writers (the service, the in-process simulator) build lines with `make_event`; readers
(training, the report) use `find_log_files` and `read_events`. Rotated files are read
oldest first: `data.json.3`, `data.json.2`, `data.json.1`, `data.json`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from recctl.errors import RecctlError

if TYPE_CHECKING:
    import pandas as pd

LOG_BASENAME = "data.json"
# The log writer's counters (lines written, lines lost to rotation); never read as events.
LOG_STATS = "data.json.stats"
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


def is_log_name(name: str) -> bool:
    """`data.json` or a rotated `data.json.N` (not the sidecar, not anything else)."""
    return _ROTATED.match(name) is not None


def _rotation_key(path: Path) -> tuple[str, int]:
    match = _ROTATED.match(path.name)
    number = int(match.group(1)) if match and match.group(1) else 0
    # Oldest first: higher rotation numbers were written earlier.
    return (str(path.parent), -number)


SET_ASIDE = "conflicts"  # where fetch keeps copies that are not appends: never read


def _logs_under(folder: Path) -> Iterator[Path]:
    # os.walk, not rglob: no symlinked folder is entered and no symlinked file is taken
    # (a link could point at another replica's or run's log), and conflicts/ is skipped.
    for root, dirs, files in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d != SET_ASIDE)
        for name in files:
            path = Path(root) / name
            if _ROTATED.match(name) and not path.is_symlink() and path.is_file():
                yield path


def find_log_files(paths: Iterable[str | Path]) -> list[Path]:
    """Every event-log file under the given files or folders, rotated ones included.

    Folders are searched recursively for `data.json` and `data.json.N`, never inside a
    `conflicts/` folder (fetch's set-aside copies) and never through a symlink; a file
    given directly is taken whatever its name. Within a folder files come oldest first.
    """
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            found.extend(_logs_under(path))
        else:
            raise RecctlError(
                f"log path {str(path)!r} does not exist",
                "pass a folder made by `recctl fetch` or a replica's log folder",
            )
    return sorted(set(found), key=_rotation_key)


@dataclass
class ReadSummary:
    """What reading the logs found: files, lines read (in total and per file), lines skipped.

    `duplicates` counts lines dropped because their `request_id` was already read (a
    retried request logged twice; the first occurrence in file order is kept), by the
    replica that logged the dropped copy in `duplicates_per_replica`.
    """

    files: list[Path] = field(default_factory=list)
    lines: int = 0
    malformed: int = 0
    malformed_examples: list[str] = field(default_factory=list)
    lines_per_file: dict[str, int] = field(default_factory=dict)
    # Lines left out for a value outside its range (time not in [0, 1], negative latency,
    # an id beyond int64), by field; not counted in `malformed`.
    out_of_range: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0
    duplicates_per_replica: dict[str, int] = field(default_factory=dict)

    def duplicate(self, replica: object) -> None:
        self.duplicates += 1
        key = "" if replica is None else str(replica)
        self.duplicates_per_replica[key] = self.duplicates_per_replica.get(key, 0) + 1

    def skip(self, where: str, reason: object) -> None:
        self.malformed += 1
        if len(self.malformed_examples) < 5:
            self.malformed_examples.append(f"{where}: {reason}")

    def exclude(self, field_name: str) -> None:
        self.out_of_range[field_name] = self.out_of_range.get(field_name, 0) + 1


def iter_events(files: Iterable[Path],
                summary: ReadSummary | None = None) -> Iterator[dict[str, Any]]:
    """Parsed events from the files, in order; malformed lines are skipped and counted."""
    from recctl.logreader import iter_events as _iter_events

    return _iter_events(files, summary)


def read_events(paths: Iterable[str | Path]) -> tuple[pd.DataFrame, ReadSummary]:
    """All events under `paths` as a DataFrame, plus a summary of what was skipped.

    The reader (recctl/logreader.py) pulls in numpy, pandas and msgspec; it is imported
    here on first use so that writers (every service replica) start without them.
    """
    from recctl.logreader import read_events as _read_events

    return _read_events(paths)
