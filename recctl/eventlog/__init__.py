"""The event-log contract: what a line is, how logs are written, rotated and read.

    schema     field names, `make_event`, `dumps_event`, file names (data.json, .N, .stats)
    writer     `RotatingLogWriter` (the service's log, rotation, the stats sidecar)
    summary    `ReadSummary` (what reading found: lines, duplicates, dropped, files)
    inprocess  `InProcessLogWriter` (the in-process simulator's lines, same writer)
    files      `find_log_files` (rotated files oldest first; no conflicts/, no symlinks)
    decode     one line validated (msgspec)
    columns    validated lines as numpy columns, chunk by chunk, de-duplicated
    reader     `read_events` (DataFrame), `iter_events` (dicts), request-id de-duplication
    sessions   `assign_sessions` (which lines form one listening session)

Imports go one way, bottom to top: schema; writer | summary; files | inprocess; decode;
columns; reader | sessions (the "eventlog" contract in pyproject.toml, checked by
lint-imports). The reading side needs numpy, pandas and msgspec; it is imported on first
use, so that a service replica, which only writes, starts without them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from recctl.eventlog.files import SET_ASIDE, find_log_files
from recctl.eventlog.inprocess import InProcessLogWriter
from recctl.eventlog.schema import (
    COURSE_FIELDS,
    LOG_BASENAME,
    LOG_STATS,
    MESSAGES,
    REQUIRED_FIELDS,
    course_event,
    dumps_event,
    is_log_name,
    make_event,
    rotated_name,
    rotation_number,
)
from recctl.eventlog.summary import ReadSummary
from recctl.eventlog.writer import RotatingLogWriter, read_stats

if TYPE_CHECKING:
    from recctl.eventlog.reader import iter_events, read_events
    from recctl.eventlog.sessions import assign_sessions

_LAZY = {"read_events": "reader", "iter_events": "reader", "assign_sessions": "sessions"}

__all__ = [
    "COURSE_FIELDS", "LOG_BASENAME", "LOG_STATS", "MESSAGES", "REQUIRED_FIELDS", "SET_ASIDE",
    "InProcessLogWriter", "ReadSummary", "RotatingLogWriter", "assign_sessions", "course_event",
    "dumps_event", "find_log_files", "is_log_name", "iter_events", "make_event", "read_events",
    "read_stats", "rotated_name", "rotation_number",
]


def __getattr__(name: str) -> Any:
    # PEP 562: the reading side is imported when one of its names is first asked for.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"recctl.eventlog.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'recctl.eventlog' has no attribute {name!r}")
