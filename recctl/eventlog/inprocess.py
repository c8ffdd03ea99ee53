"""Event-log lines for in-process traffic, exactly as the service would log them.

Each recommendation gives a "next" line (track = the track just played, time = its listen
fraction, recommendation = the next track); each session end a "last" line (track = the
last track, recommendation null). Extras: `session` ("{seed}-{day}-{episode}") and
`replica: "inprocess"`; latency is 0. Lines are built by `make_event`/`dumps_event` and
written through `RotatingLogWriter` like the service's (never rotated, no stats sidecar:
the folder holds `data.json` only, as before).

Timestamps are synthetic, increasing and deterministic:
    timestamp_us = BASE_US + day * 86_400 s + line_index * 1 ms
with BASE_US = 2024-01-01T00:00:00Z and line_index counting lines written for that day.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from recctl.eventlog.schema import LOG_BASENAME, dumps_event, make_event
from recctl.eventlog.writer import RotatingLogWriter

if TYPE_CHECKING:
    import numpy as np

BASE_US = 1_704_067_200 * 1_000_000
DAY_US = 86_400 * 1_000_000
LINE_SPACING_US = 1_000
REPLICA = "inprocess"


class InProcessLogWriter:
    """Appends one day's event lines to `path` (a `data.json`); `close()` returns the count."""

    def __init__(self, path: Path, seed: int, day: int, experiment: str | None) -> None:
        path = Path(path)
        if path.name != LOG_BASENAME:
            raise ValueError(f"an event log is named {LOG_BASENAME}, not {path.name!r} ({path})")
        self._writer = RotatingLogWriter(path.parent, max_bytes=None, backups=0, sidecar=False)
        self._experiment = experiment
        self._base = BASE_US + day * DAY_US
        self._prefix = f"{seed}-{day}-"
        self.lines = 0

    def _experiments(self, arms: list[str] | None, row: int) -> dict[str, str]:
        if self._experiment is None or arms is None:
            return {}
        return {self._experiment: arms[row]}

    def _write(self, message: str, users: np.ndarray, episodes: np.ndarray, tracks: np.ndarray,
               times: np.ndarray, recs: np.ndarray | None, arms: list[str] | None,
               rows: np.ndarray) -> None:
        out = []
        rec_list = recs.tolist() if recs is not None else [None] * len(users)
        for user, episode, track, time, rec, row in zip(
                users.tolist(), episodes.tolist(), tracks.tolist(), times.tolist(), rec_list,
                rows.tolist(), strict=True):
            event = make_event(message, self._base + self.lines * LINE_SPACING_US, user, track,
                               time, 0.0, rec, self._experiments(arms, row),
                               session=f"{self._prefix}{episode}", replica=REPLICA)
            out.append(dumps_event(event))
            self.lines += 1
        self._writer.write_lines(out)

    def next_lines(self, users: np.ndarray, episodes: np.ndarray, tracks: np.ndarray,
                   times: np.ndarray, recs: np.ndarray, arms: list[str] | None,
                   rows: np.ndarray) -> None:
        """One "next" line per row: `tracks`/`times` just played, `recs` recommended."""
        self._write("next", users, episodes, tracks, times, recs, arms, rows)

    def last_lines(self, users: np.ndarray, episodes: np.ndarray, tracks: np.ndarray,
                   times: np.ndarray, arms: list[str] | None, rows: np.ndarray) -> None:
        """One "last" line per row: the session ended after `tracks`."""
        self._write("last", users, episodes, tracks, times, None, arms, rows)

    def close(self) -> int:
        self._writer.close()
        return self.lines
