"""The replica's event log: JSON lines, rotated by size, handed to the OS before answering.

`write()` puts each finished line into `data.json` with one unbuffered write(2), before
the request is answered. That costs a few microseconds (the kernel's page cache takes it)
and means an acknowledged request's line survives even a SIGKILL of the replica, which a
user-space buffer would lose. When the file would exceed `max_bytes` it rotates to
`data.json.1`, `.2`, ... (newest first, `backups` kept). `close()` fsyncs.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from recctl.eventlog import LOG_BASENAME


class RotatingLogWriter:
    def __init__(self, directory: str | Path, *, max_bytes: int, backups: int) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / LOG_BASENAME
        self.max_bytes = max_bytes
        self.backups = backups
        self.written_lines = 0
        # Writes come from the event loop; the lock keeps other threads (tests, tools) safe.
        self._lock = threading.Lock()
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._size = os.fstat(self._fd).st_size
        self._closed = False

    def write(self, line: bytes) -> None:
        """Write one complete line (newline included) to the log file now."""
        with self._lock:
            if self._closed:
                raise ValueError("the event log is closed")
            if self._size and self._size + len(line) > self.max_bytes:
                self._rotate()
            view = memoryview(line)
            while view:  # a regular file takes it in one go; loop for the rare short write
                view = view[os.write(self._fd, view):]
            self._size += len(line)
            self.written_lines += 1

    def _rotate(self) -> None:
        os.close(self._fd)
        # data.json.(n-1) -> data.json.n, ..., data.json -> data.json.1; the oldest drops off.
        for number in range(self.backups - 1, 0, -1):
            older = self.directory / f"{LOG_BASENAME}.{number}"
            if older.exists():
                os.replace(older, self.directory / f"{LOG_BASENAME}.{number + 1}")
        os.replace(self.path, self.directory / f"{LOG_BASENAME}.1")
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._size = 0

    def close(self) -> None:
        """fsync and close. Safe to call twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            os.fsync(self._fd)
            os.close(self._fd)
