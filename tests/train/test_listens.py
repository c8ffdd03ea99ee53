from __future__ import annotations

from pathlib import Path

import numpy as np

from recctl.eventlog import read_events
from recctl.train.listens import Listens, listens_from_frame, split_by_time
from tests.train.conftest import event, write_lines


def test_sessions_end_at_last_lines_per_user_across_replicas(tmp_path: Path) -> None:
    # User 1's session spans two replicas; user 2 interleaves in time.
    write_lines(
        tmp_path / "a" / "data.json",
        [
            event("next", 100, 1, 10, 1.0),
            event("next", 150, 2, 20, 1.0),
            event("last", 300, 1, 12, 0.5, None),
        ],
    )
    write_lines(
        tmp_path / "b" / "data.json",
        [
            event("next", 200, 1, 11, 0.9),
            event("last", 250, 2, 21, 0.1, None),
            event("next", 400, 1, 13, 1.0),
            event("last", 500, 1, 14, 0.2, None),
        ],
    )
    listens = listens_from_frame(read_events([tmp_path])[0])
    assert listens.n_sessions == 3
    sessions = [listens.track[listens.session == s].tolist() for s in range(3)]
    # Ordered by session start: user 1 (t=100), user 2 (t=150), user 1 again (t=400).
    assert sessions == [[10, 11, 12], [20, 21], [13, 14]]
    assert listens.position.tolist() == [0, 1, 2, 0, 1, 0, 1]


def test_logged_session_field_wins_over_last_lines(tmp_path: Path) -> None:
    write_lines(
        tmp_path / "data.json",
        [
            event("next", 1, 1, 10, 1.0, session="x"),
            event("next", 2, 1, 11, 1.0, session="y"),
            event("next", 3, 1, 12, 1.0, session="x"),
        ],
    )
    listens = listens_from_frame(read_events([tmp_path])[0])
    assert [listens.track[listens.session == s].tolist() for s in range(2)] == [[10, 12], [11]]


def test_rotated_files_are_read_oldest_first(tmp_path: Path) -> None:
    write_lines(tmp_path / "data.json.1", [event("next", 1, 1, 10, 1.0)])
    write_lines(tmp_path / "data.json", [event("last", 1, 1, 11, 1.0, None)])  # same ms
    listens = listens_from_frame(read_events([tmp_path])[0])
    assert listens.track.tolist() == [10, 11]


def test_split_holds_out_the_latest_sessions(synthetic_logs: Path) -> None:
    listens = listens_from_frame(read_events([synthetic_logs])[0])
    train, holdout = split_by_time(listens, 0.2)
    assert train.n_sessions + holdout.n_sessions == listens.n_sessions
    assert abs(holdout.n_sessions - 0.2 * listens.n_sessions) <= 1

    def start(part: Listens) -> np.ndarray:
        return np.array(
            [part.timestamp_us[part.session == s].min() for s in range(part.n_sessions)]
        )

    assert start(train).max() <= start(holdout).min()
    assert split_by_time(listens, 0.0)[1].n_sessions == 0
