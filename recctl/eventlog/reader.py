"""Reading event logs: `read_events` (a DataFrame) and `iter_events` (dicts, one by one).

Files are read a few MB at a time; each chunk is decoded as one JSON array and validated
by msgspec in C, then turned into numpy columns (recctl/eventlog/columns.py). A chunk
holding a malformed line is re-read line by line, and only the bad lines are skipped (and
counted). A line whose `request_id` was already read is dropped and counted (a retried
request logged twice; the first occurrence in file order is kept).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import orjson
import pandas as pd

from recctl.eventlog.columns import Columns
from recctl.eventlog.decode import Event, decode_chunk, parse_line
from recctl.eventlog.files import find_log_files
from recctl.eventlog.summary import ReadSummary


def iter_events(files: Iterable[Path],
                summary: ReadSummary | None = None) -> Iterator[dict[str, Any]]:
    """Parsed events (plain dicts) from the files, in order; malformed lines are skipped.

    The simple reader, one line at a time; `read_events` is the fast columnar path.
    """
    summary = summary if summary is not None else ReadSummary()
    seen: set[str] = set()
    for path in files:
        summary.files.append(path)
        count = 0
        with open(path, "rb") as handle:
            for number, line in enumerate(handle, start=1):
                if line.isspace():
                    continue
                count += 1
                event = parse_line(line, f"{path}:{number}", summary)
                if event is None:
                    continue
                if event.request_id is not None:
                    if event.request_id in seen:
                        summary.duplicate(event.replica)
                        continue
                    seen.add(event.request_id)
                yield orjson.loads(line)
        summary.lines += count
        summary.lines_per_file[str(path)] = count


_CHUNK_BYTES = 4 << 20  # ~16k events a chunk: bounded memory, few Python-level calls


def _read_file(path: Path, columns: Columns, summary: ReadSummary) -> None:
    summary.files.append(path)
    count = 0
    first_line = 1
    with open(path, "rb") as handle:
        while block := handle.read(_CHUNK_BYTES):
            block += handle.readline()  # end on a line boundary
            body = block.rstrip(b"\r\n")
            lines_in_block = block.count(b"\n") + (not block.endswith(b"\n"))
            try:
                # The whole block as one JSON array, validated by msgspec in C. A blank
                # or broken line makes it invalid and sends it down the careful path.
                events = decode_chunk(b"[" + body.replace(b"\n", b",") + b"]")
                if len(events) != lines_in_block:  # a line holding two objects
                    raise ValueError("line count mismatch")
                columns.add(events)
                count += lines_in_block
            except (msgspec.DecodeError, ValueError):
                lines = block.splitlines(keepends=True)
                count += sum(not line.isspace() for line in lines)
                _add_line_by_line(lines, first_line, path, columns, summary)
            first_line += lines_in_block
    summary.lines += count
    summary.lines_per_file[str(path)] = count


def _add_line_by_line(lines: list[bytes], first_line: int, path: Path, columns: Columns,
                      summary: ReadSummary) -> None:
    good: list[Event] = []
    for number, line in enumerate(lines, start=first_line):
        if line.isspace():
            continue
        event = parse_line(line, f"{path}:{number}", summary)
        if event is not None:
            good.append(event)
    if good:
        columns.add(good)


def read_events(paths: Iterable[str | Path]) -> tuple[pd.DataFrame, ReadSummary]:
    """All events under `paths` as a DataFrame, plus a summary of what was skipped.

    Columns: message (categorical next/last), timestamp (ms), timestamp_us, user, track,
    time, latency, recommendation (-1 when null), session and replica (categorical, NaN
    when not logged), file_order (a global line index, the tiebreak for equal timestamps),
    and one categorical column per experiment found in `experiments`, named `exp:<NAME>`
    (NaN where a line does not name that experiment).

    Files are read a few MB at a time; each chunk is decoded as one JSON array and
    validated by msgspec, then turned into numpy columns. A chunk holding a malformed
    line is re-read line by line, and only the bad lines are skipped (and counted). A line
    whose `request_id` was read before is dropped and counted (`summary.duplicates`).
    """
    summary = ReadSummary()
    columns = Columns()
    for path in find_log_files(paths):
        _read_file(path, columns, summary)
    return columns.frame(summary), summary
