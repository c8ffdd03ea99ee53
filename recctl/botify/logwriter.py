"""The replica's event log: JSON lines, rotated by size, written off the request path.

Request handlers `write()` a finished line into a deque (append is atomic and O(1));
a background thread drains it every `interval` seconds into `data.json`, rotating to
`data.json.1`, `.2`, ... (newest first, `backups` kept) when the file would exceed
`max_bytes`. `close()` drains what is left and fsyncs, so on a graceful stop (SIGTERM)
every answered request's line is on disk.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from pathlib import Path

from recctl.eventlog import LOG_BASENAME


class RotatingLogWriter:
    def __init__(self, directory: str | Path, *, max_bytes: int, backups: int,
                 interval: float = 0.05) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / LOG_BASENAME
        self.max_bytes = max_bytes
        self.backups = backups
        self.interval = interval
        self.lines: deque[bytes] = deque()
        self.written_lines = 0
        self._file = open(self.path, "ab")  # noqa: SIM115 (lives as long as the writer)
        self._size = self._file.tell()
        self._wake = threading.Event()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="eventlog-writer", daemon=True)
        self._thread.start()

    def write(self, line: bytes) -> None:
        """Queue one complete line (newline included). Never blocks on I/O."""
        self.lines.append(line)

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait(self.interval)
            self._drain()

    def _drain(self) -> None:
        chunk: list[bytes] = []
        size = 0
        popleft = self.lines.popleft
        while True:
            try:
                line = popleft()
            except IndexError:
                break
            if self._size + size + len(line) > self.max_bytes and (self._size or size):
                self._flush(chunk)
                self._rotate()
                chunk, size = [], 0
            chunk.append(line)
            size += len(line)
        self._flush(chunk)

    def _flush(self, chunk: list[bytes]) -> None:
        if not chunk:
            return
        data = b"".join(chunk)
        self._file.write(data)
        self._file.flush()
        self._size += len(data)
        self.written_lines += len(chunk)

    def _rotate(self) -> None:
        self._file.close()
        # data.json.(n-1) -> data.json.n, ..., data.json -> data.json.1; the oldest drops off.
        for number in range(self.backups - 1, 0, -1):
            older = self.directory / f"{LOG_BASENAME}.{number}"
            if older.exists():
                os.replace(older, self.directory / f"{LOG_BASENAME}.{number + 1}")
        os.replace(self.path, self.directory / f"{LOG_BASENAME}.1")
        self._file = open(self.path, "ab")  # noqa: SIM115
        self._size = 0

    def close(self) -> None:
        """Stop the thread, write everything queued, fsync. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._wake.set()
        self._thread.join()
        self._drain()
        os.fsync(self._file.fileno())
        self._file.close()
