"""Writing an event log: JSON lines, rotated by size, handed to the OS before answering.

`write()` puts each finished line into `data.json` with one unbuffered write(2), before
the request is answered. That costs a few microseconds (the kernel's page cache takes it)
and means an acknowledged request's line survives even a SIGKILL of the replica, which a
user-space buffer would lose. When the file would exceed `max_bytes` it rotates to
`data.json.1`, `.2`, ... (newest first, `backups` kept). `close()` fsyncs. A
write the disk refuses (full, or over a size limit) is cut back to the last whole line
and raised: the caller did not get its line logged and must not acknowledge it.

Rotation beyond `backups` deletes the oldest file: the lines in it are counted in a
sidecar, `data.json.stats` (JSON: lines_written, lines_dropped, files_dropped), rewritten
at start, at every rotation and at close, so that fetch and the report can tell that
acknowledged events were lost. Readers ignore it (it is not `data.json` or `data.json.N`).
Run state is private: the log files and the sidecar are created mode 0600.

The service writes through this class one line at a time; the in-process simulator and
the synthetic-log generator write batches (`write_lines`) through the same code.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from recctl.eventlog.schema import LOG_BASENAME, LOG_STATS, rotated_name

_MODE = 0o600


def _count_lines(path: Path) -> int:
    with open(path, "rb") as handle:
        return sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b""))


def read_stats(path: Path) -> dict[str, Any] | None:
    """A sidecar's counters, or None when it is missing or not a JSON object."""
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


class RotatingLogWriter:
    """Appends lines to `directory/data.json`, rotating when a file would pass `max_bytes`.

    `max_bytes=None` never rotates by size (a caller may still call `rotate()`).
    `sidecar=False` keeps no `data.json.stats` (the in-process simulator's logs, which
    never rotate, are read whole and have nothing to account for).
    """

    def __init__(self, directory: str | Path, *, max_bytes: int | None, backups: int,
                 sidecar: bool = True) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / LOG_BASENAME
        self.stats_path = self.directory / LOG_STATS
        self.max_bytes = max_bytes
        self.backups = backups
        self.sidecar = sidecar
        # A replica restarted on the same folder carries on counting.
        previous = (read_stats(self.stats_path) if sidecar else None) or {}
        self.written_lines = 0
        self._written_before = int(previous.get("lines_written", 0))
        self.dropped_lines = int(previous.get("lines_dropped", 0))
        self.dropped_files = int(previous.get("files_dropped", 0))
        # Writes come from the event loop; the lock keeps other threads (tests, tools) safe.
        self._lock = threading.Lock()
        self._fd = self._open()
        self._size = os.fstat(self._fd).st_size
        self._closed = False
        self._end_torn_line()
        self._save_stats()

    def _end_torn_line(self) -> None:
        """An existing log that does not end with a newline was torn (a crash or a full
        disk under an older writer): end that line, so that it is read as one malformed
        line and the next line written is not glued to it."""
        if self._size == 0:
            return
        with open(self.path, "rb") as handle:
            handle.seek(-1, os.SEEK_END)
            if handle.read(1) != b"\n":
                self._append(b"\n", 0)

    def _open(self) -> int:
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, _MODE)
        os.fchmod(fd, _MODE)  # also when the file existed with looser permissions
        return fd

    def _full(self, size: int, more: int) -> bool:
        return self.max_bytes is not None and size > 0 and size + more > self.max_bytes

    def _append(self, data: bytes, lines: int) -> None:
        view = memoryview(data)
        try:
            while view:  # a regular file takes it in one go; loop for the rare short write
                view = view[os.write(self._fd, view):]
        except OSError:
            # A full disk (or a file-size limit) takes part of the data, then refuses the
            # rest. Cut the file back to its last whole line: the next line written once
            # there is room again must not be glued to a torn one and lost with it.
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, self._size)
            raise
        self._size += len(data)
        self.written_lines += lines

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError("the event log is closed")

    def write(self, line: bytes) -> None:
        """Write one complete line (newline included) to the log file now."""
        with self._lock:
            self._check_open()
            if self._full(self._size, len(line)):
                self._rotate()
            self._append(line, 1)

    def write_lines(self, lines: Sequence[bytes]) -> None:
        """Write complete lines in order, in as few write(2) calls as rotation allows."""
        with self._lock:
            self._check_open()
            start, size = 0, self._size
            for index, line in enumerate(lines):
                if self._full(size, len(line)):
                    self._append(b"".join(lines[start:index]), index - start)
                    self._rotate()
                    start, size = index, 0
                size += len(line)
            self._append(b"".join(lines[start:]), len(lines) - start)

    def rotate(self) -> None:
        """Start a new `data.json` now (the synthetic-log generator rotates by line count)."""
        with self._lock:
            self._check_open()
            self._rotate()

    def _rotate(self) -> None:
        os.close(self._fd)
        # The file about to be overwritten is the oldest kept one: count what it held.
        oldest = self.directory / rotated_name(max(self.backups, 1))
        if oldest.exists():
            self.dropped_lines += _count_lines(oldest)
            self.dropped_files += 1
        # data.json.(n-1) -> data.json.n, ..., data.json -> data.json.1; the oldest drops off.
        for number in range(self.backups - 1, 0, -1):
            older = self.directory / rotated_name(number)
            if older.exists():
                os.replace(older, self.directory / rotated_name(number + 1))
        os.replace(self.path, self.directory / rotated_name(1))
        self._fd = self._open()
        self._size = 0
        self._save_stats()

    def _save_stats(self) -> None:
        if not self.sidecar:
            return
        stats = {"lines_written": self._written_before + self.written_lines,
                 "lines_dropped": self.dropped_lines, "files_dropped": self.dropped_files,
                 "max_bytes": self.max_bytes, "backups": self.backups}
        tmp = self.stats_path.with_name(self.stats_path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, _MODE)
        with os.fdopen(fd, "w") as handle:
            json.dump(stats, handle)
        os.replace(tmp, self.stats_path)

    def close(self) -> None:
        """fsync and close (the sidecar gets the final counts). Safe to call twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            os.fsync(self._fd)
            os.close(self._fd)
            self._save_stats()
