"""Sessions and user-level metrics against the generator's ground truth and a pandas reference."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recctl.analysis.metrics import latency_percentiles, user_metrics
from recctl.analysis.sessions import sessionize
from recctl.eventlog import read_events


def reference_user_metrics(truth: pd.DataFrame) -> pd.DataFrame:
    """The course's notebook on the generator's true sessions (pandas groupby)."""
    per_session = truth.groupby(["user", "session"]).agg(
        tracks=("track", "count"), time=("time", "sum"), latency=("latency", "sum"))
    per_user = per_session.groupby("user").agg(
        time=("time", "sum"), sessions=("tracks", "size"), tracks=("tracks", "sum"),
        latency=("latency", "sum"))
    per_user["mean_request_latency"] = per_user["latency"] / per_user["tracks"]
    per_user["mean_tracks_per_session"] = per_user["tracks"] / per_user["sessions"]
    per_user["mean_time_per_session"] = per_user["time"] / per_user["sessions"]
    return per_user


@pytest.mark.parametrize("logs", ["ab_logs", "course_logs"])
def test_user_metrics_match_the_reference(logs: str, ab_events: pd.DataFrame,
                                          request: pytest.FixtureRequest) -> None:
    folder: Path = request.getfixturevalue(logs)
    events, _ = read_events([folder])
    users, summary = user_metrics(events, "exp:EXP")
    assert summary.sessions.method == ("logged" if logs == "ab_logs" else "inferred")
    want = reference_user_metrics(ab_events)
    assert len(users) == len(want) == ab_events["user"].nunique()
    got = users.loc[want.index]
    for metric in ("time", "sessions", "mean_request_latency", "mean_tracks_per_session",
                   "mean_time_per_session"):
        np.testing.assert_allclose(got[metric].to_numpy(), want[metric].to_numpy(),
                                   rtol=1e-9, err_msg=metric)
    arms = ab_events.groupby("user")["arm"].first()
    assert (got["arm"].astype(str) == arms.loc[want.index]).all()
    # Unclosed sessions: true sessions with no `last`.
    has_last = ab_events.assign(l=ab_events["message"] == "last").groupby("session")["l"].any()
    assert summary.sessions.unclosed == int((~has_last).sum()) > 0


def _events(rows: list[tuple[str, int, int]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["message", "timestamp_us", "user"])
    return frame.assign(
        message=pd.Categorical(frame["message"], categories=["next", "last"]),
        time=1.0, latency=0.01, session=pd.Categorical([None] * len(frame)),
        file_order=np.arange(len(frame)))


def test_last_closes_a_session_and_ties_break_deterministically() -> None:
    rows = [("next", 10, 1), ("last", 20, 1), ("next", 20, 1),  # tie: next sorts first
            ("next", 30, 1), ("last", 40, 1), ("next", 50, 1),  # final session never closes
            ("next", 15, 2), ("last", 15, 2)]
    sessions, summary = sessionize(_events(rows))
    assert sessions["user"].tolist() == [1, 1, 1, 2]
    assert sessions["tracks"].tolist() == [3, 2, 1, 2]
    assert sessions["closed"].tolist() == [True, True, False, True]
    assert (summary.method, summary.sessions, summary.unclosed) == ("inferred", 4, 1)
    # The answer does not depend on the order the lines were read in.
    shuffled = _events(rows[::-1])
    again, _ = sessionize(shuffled)
    pd.testing.assert_frame_equal(sessions, again)


def test_users_in_two_arms_and_lines_without_the_experiment_are_left_out() -> None:
    frame = _events([("next", 1, 1), ("last", 2, 1), ("next", 3, 2), ("last", 4, 2),
                     ("next", 5, 3), ("last", 6, 3)])
    frame["exp:E"] = pd.Categorical(["C", "C", "C", "T1", None, None], categories=["C", "T1"])
    users, summary = user_metrics(frame, "exp:E")
    assert users.index.tolist() == [1]
    assert summary.users_in_several_arms == 1 and summary.events_without_arm == 2


def test_latency_percentiles(ab_logs: Path) -> None:
    events, _ = read_events([ab_logs])
    table = latency_percentiles(events, "exp:EXP")
    control = events.loc[events["exp:EXP"] == "C", "latency"].to_numpy() * 1000
    assert table.loc["C", "latency_p95_ms"] == pytest.approx(np.percentile(control, 95))
    assert (table["latency_p50_ms"] < table["latency_p99_ms"]).all()
