"""Event-log lines for in-process traffic, exactly as the service would log them.

Each recommendation gives a "next" line (track = the track just played, time = its listen
fraction, recommendation = the next track); each session end a "last" line (track = the
last track, recommendation null). Extras: `session` ("{seed}-{day}-{episode}") and
`replica: "inprocess"`; latency is 0.

Timestamps are synthetic, increasing and deterministic:
    timestamp_us = BASE_US + day * 86_400 s + line_index * 1 ms
with BASE_US = 2024-01-01T00:00:00Z and line_index counting lines written for that day.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from recctl.eventlog import dumps_event, make_event

BASE_US = 1_704_067_200 * 1_000_000
DAY_US = 86_400 * 1_000_000
LINE_SPACING_US = 1_000
REPLICA = "inprocess"


class EventLogWriter:
    """Appends event lines to one file; `close()` returns the number of lines written."""

    def __init__(self, path: Path, seed: int, day: int, experiment: str | None) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._handle = open(path, "ab")  # noqa: SIM115 (closed by close())
        self._seed, self._experiment = seed, experiment
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
        self._handle.writelines(out)

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
        self._handle.close()
        return self.lines
