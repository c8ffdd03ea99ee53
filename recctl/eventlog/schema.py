"""What an event-log line and an event-log file are: field names, the line format, file names.

One object a line (JSON, newline-terminated), with the fields the course's notebooks read
plus extras (microsecond timestamp, replica, session, recommender, request id). Every
writer builds its lines with `make_event` and serialises them with `dumps_event`, so the
bytes on disk are the same whoever writes them.

Files: `data.json` is the one being written; rotation renames it to `data.json.1`, the
older ones to `.2`, `.3`, ... (a higher number is older). `data.json.stats` is the
writer's counters, never read as events.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import orjson

LOG_BASENAME = "data.json"
LOG_STATS = "data.json.stats"
MESSAGES = ("next", "last")
# The fields the course's notebooks read; every line has them (and `experiments`).
REQUIRED_FIELDS = ("message", "timestamp", "user", "track", "time", "latency", "recommendation")
# What the course's own botify logs: a log with only these is readable too.
COURSE_FIELDS = (*REQUIRED_FIELDS, "experiments")
_LOG_NAME = re.compile(r"^data\.json(?:\.(\d+))?$")


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
    """One log line as a dict, with the contract's fields plus extras (replica, session, ...).

    The key order is part of the format: the contract's fields first, then the extras in
    the order given.
    """
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


def course_event(event: Mapping[str, Any]) -> dict[str, Any]:
    """The event as the course's botify would log it: its fields only, no extras."""
    return {name: event[name] for name in COURSE_FIELDS}


def dumps_event(event: Mapping[str, Any]) -> bytes:
    """Serialise one event as a JSON line (bytes, newline included)."""
    return orjson.dumps(event) + b"\n"


def is_log_name(name: str) -> bool:
    """`data.json` or a rotated `data.json.N` (not the sidecar, not anything else)."""
    return _LOG_NAME.match(name) is not None


def rotated_name(number: int) -> str:
    """The file name of rotation `number`: 0 is `data.json`, 1 `data.json.1`, ..."""
    return LOG_BASENAME if number == 0 else f"{LOG_BASENAME}.{number}"


def rotation_number(name: str) -> int:
    """The inverse of `rotated_name` (0 for any other name): higher is older."""
    match = _LOG_NAME.match(name)
    return int(match.group(1)) if match and match.group(1) else 0
