"""Synthetic event logs for tests, benchmarks and demos (no service, no simulator needed).

Two generators, both writing through the event log's own formatter and writer
(recctl.eventlog: `make_event`, `dumps_event`, `RotatingLogWriter` and its rotation
naming), so their files are byte for byte what a replica would write for those events.

`generate_events` + `write_logs`: A/B traffic for the report, heavy-tailed like real
traffic: a few users come back many times (Pareto session counts), session lengths vary
per user (lognormal taste times geometric length), latencies have a slow tail, and some
sessions never close (the run stopped mid-session). Users are assigned with the service's
hash, and requests are spread over replicas as a balancer would, each replica writing
its own rotated files.

`learnable_events` + `write_learnable_logs`: logs with structure that training should
learn (see `learnable_events`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from recctl.assignment import arm_index
from recctl.eventlog import (
    LOG_BASENAME,
    RotatingLogWriter,
    course_event,
    dumps_event,
    make_event,
    rotated_name,
)


def generate_events(
    users: int,
    seed: int,
    experiment: str = "EXP",
    arms: Sequence[str] = ("C", "T1"),
    effects: Mapping[str, float] | None = None,
    unclosed_share: float = 0.02,
    start_ms: int = 1_700_000_000_000,
) -> pd.DataFrame:
    """Events of `users` simulated users, sorted by time.

    `effects` maps an arm to a relative change in its session length (0.1 = +10%).
    Columns: message, timestamp_us, user, track, time, latency, recommendation, session, arm.
    """
    rng = np.random.default_rng(seed)
    effects = dict(effects or {})
    user_ids = rng.choice(10 * users + 100, size=users, replace=False).astype(np.int64)
    arm_of_user = np.array([arms[arm_index(int(u), experiment, len(arms))] for u in user_ids])
    lift = np.array([1.0 + effects.get(str(a), 0.0) for a in arm_of_user])

    sessions = np.minimum(1 + rng.pareto(1.6, size=users).astype(np.int64), 60)
    taste = rng.lognormal(mean=1.6, sigma=0.6, size=users) * lift  # mean tracks a session
    session_user = np.repeat(np.arange(users), sessions)
    n_sessions = len(session_user)
    tracks = rng.geometric(1.0 / (1.0 + taste[session_user]))
    tracks = np.minimum(tracks, 200)

    # Session starts: each user begins somewhere in a day, then returns hours after the
    # previous session ended (sessions of one user never overlap).
    first = np.cumsum(sessions) - sessions
    base = rng.integers(0, 86_400_000, size=users)[session_user]
    span = tracks * 25_000 + 10_000 + rng.integers(3_600_000, 36_000_000, size=n_sessions)
    before = np.cumsum(span) - span  # all earlier sessions, of every user
    start = start_ms + base + before - np.repeat(before[first], sessions)

    event_session = np.repeat(np.arange(n_sessions), tracks)
    offsets = np.cumsum(tracks) - tracks
    position = np.arange(len(event_session)) - np.repeat(offsets, tracks)
    step_ms = rng.integers(2_000, 30_000, size=len(event_session))
    timestamp_ms = start[event_session] + position * 25_000 + step_ms // 10
    last_position = (position == tracks[event_session] - 1)
    # Some users' final session never closes: the run stopped before their `last`.
    final_session = np.cumsum(sessions) - 1
    unclosed = np.zeros(n_sessions, dtype=bool)
    unclosed[final_session] = rng.random(users) < unclosed_share
    keep = ~(last_position & unclosed[event_session])

    listen = np.clip(rng.beta(0.7, 0.9, size=len(event_session)) * 1.1, 0.0, 1.0)
    latency = rng.lognormal(np.log(0.004), 0.5, size=len(event_session))
    latency += (rng.random(len(event_session)) < 0.01) * rng.exponential(0.05, len(event_session))
    track = rng.zipf(1.3, size=len(event_session)) % 50_000
    recommendation = np.where(last_position, -1, rng.integers(0, 50_000, len(event_session)))

    frame = pd.DataFrame({
        "message": np.where(last_position, "last", "next"),
        "timestamp_us": timestamp_ms * 1000 + rng.integers(0, 1000, len(event_session)),
        "user": user_ids[session_user[event_session]],
        "track": track.astype(np.int64),
        "time": np.round(listen, 4),
        "latency": np.round(latency, 6),
        "recommendation": recommendation.astype(np.int64),
        "session": event_session,
        "arm": arm_of_user[session_user[event_session]],
    })[keep]
    return frame.sort_values(["timestamp_us", "user"], kind="stable").reset_index(drop=True)


def write_logs(
    events: pd.DataFrame,
    folder: str | Path,
    experiment: str = "EXP",
    replicas: int = 2,
    rotate_lines: int = 0,
    style: str = "recctl",
    seed: int = 0,
) -> list[Path]:
    """Write events as a replica would, one folder per replica (`replica-N/data.json[.K]`).

    `style="course"` writes only the course's fields (no session, microseconds, replica
    or request id); `"recctl"` adds them (a unique request id per line, as the service
    logs). `rotate_lines` > 0 rotates a file every that many lines (data.json.1 is older
    than data.json). Returns the log files written (not the stats sidecars).
    """
    if style not in ("recctl", "course"):
        raise ValueError(f"style is 'recctl' or 'course', not {style!r}")
    rng = np.random.default_rng(seed)
    replica = rng.integers(0, replicas, size=len(events))
    written: list[Path] = []
    columns = [events[c].to_numpy() for c in
               ("message", "timestamp_us", "user", "track", "time", "latency",
                "recommendation", "session", "arm")]
    columns.append(np.arange(len(events)))  # the request id
    for r in range(replicas):
        mask = replica == r
        rows = zip(*(c[mask].tolist() for c in columns), strict=True)  # Python scalars
        lines = [dumps_event(_event(row, experiment, r, style)) for row in rows]
        written += _write_rotated(Path(folder) / f"replica-{r}", lines, rotate_lines)
    return written


def _event(row: tuple[Any, ...], experiment: str, replica: int, style: str) -> dict[str, Any]:
    message, ts_us, user, track, time, latency, rec, session, arm, number = row
    event = make_event(message, ts_us, user, track, time, latency, None if rec < 0 else rec,
                       {experiment: arm}, session=f"{user}-{session}", replica=replica,
                       request_id=f"0-0-{number}:{message}")
    return course_event(event) if style == "course" else event


def _write_rotated(folder: Path, lines: list[bytes], rotate_lines: int) -> list[Path]:
    """The lines through the service's writer, rotated every `rotate_lines` lines."""
    if (folder / LOG_BASENAME).exists():
        raise ValueError(f"{folder / LOG_BASENAME} exists: write synthetic logs to a new folder")
    size = rotate_lines if rotate_lines > 0 else max(len(lines), 1)
    chunks = [lines[i:i + size] for i in range(0, len(lines), size)] or [[]]
    writer = RotatingLogWriter(folder, max_bytes=None, backups=len(chunks))
    try:
        for number, chunk in enumerate(chunks):
            if number:
                writer.rotate()
            writer.write_lines(chunk)
    finally:
        writer.close()
    return [folder / rotated_name(age) for age in range(len(chunks))]


def learnable_events(
    rng: np.random.Generator,
    *,
    n_users: int = 300,
    n_tracks: int = 2000,
    n_genres: int = 20,
    n_sessions: int = 3000,
    steps: int = 8,
    liked_share: float = 0.5,
    start_us: int = 1_700_000_000_000_000,
) -> Iterator[dict[str, Any]]:
    """Events (dicts in the log format) with learnable structure, in time order.

    Not the simulator: a tiny generative story that training should be able to learn.
    Tracks belong to genres (Zipf-sized popularity inside each genre); each user likes one
    or two genres. A session starts on a liked track (time 1.0); then each recommendation
    is a random track that the user listens to mostly (time 0.8-1) when it is in a liked
    genre and skips (0-0.3) otherwise. Top-pop knows only popularity; a model that learns
    users' genres beats it.
    """
    genre = rng.integers(0, n_genres, n_tracks)
    popularity = 1.0 / (1.0 + rng.permutation(n_tracks)) ** 0.6
    by_genre = [np.flatnonzero(genre == g) for g in range(n_genres)]
    liked = [rng.choice(n_genres, size=rng.integers(1, 3), replace=False) for _ in range(n_users)]
    clock = start_us
    for _ in range(n_sessions):
        user = int(rng.integers(n_users))
        genres = liked[user]
        pool = np.concatenate([by_genre[g] for g in genres])
        weights = popularity[pool] / popularity[pool].sum()
        track, time = int(rng.choice(pool, p=weights)), 1.0
        for step in range(steps):
            clock += int(rng.integers(1_000, 50_000))
            if rng.random() < liked_share:  # a recommendation that happens to fit
                nxt = int(rng.choice(pool, p=weights))
            else:
                nxt = int(rng.integers(n_tracks))
            message = "last" if step == steps - 1 else "next"
            yield make_event(
                message,
                clock,
                user,
                track,
                time,
                0.001,
                None if message == "last" else nxt,
                {"EXP": "C"},
            )
            track = nxt
            time = float(rng.uniform(0.8, 1.0) if genre[nxt] in genres else rng.uniform(0.0, 0.3))


def write_learnable_logs(
    root: Path,
    rng: np.random.Generator,
    *,
    replicas: int = 2,
    rotate_every: int = 0,
    **kwargs: Any,
) -> list[Path]:
    """`learnable_events` spread over `replicas` folders by user (`root/replica-N/data.json[.k]`),
    a file rotated every `rotate_every` lines; returns the folders."""
    folders = [root / f"replica-{r}" for r in range(replicas)]
    lines: list[list[bytes]] = [[] for _ in folders]
    for event in learnable_events(rng, **kwargs):
        lines[int(event["user"]) % replicas].append(dumps_event(event))
    for folder, replica_lines in zip(folders, lines, strict=True):
        _write_rotated(folder, replica_lines, rotate_every)
    return folders
