"""Realistic synthetic event logs for tests, benchmarks and demos (no service needed).

Heavy-tailed like real traffic: a few users come back many times (Pareto session counts),
session lengths vary per user (lognormal taste times geometric length), latencies have a
slow tail, and some sessions never close (the run stopped mid-session). Users are
assigned with the service's hash, and requests are spread over replicas as a balancer
would, each replica writing its own rotated files.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from recctl.assignment import arm_index


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
    """Write events as JSON lines, one folder per replica (`replica-N/data.json[.K]`).

    `style="course"` writes only the course's fields (no session, microseconds, replica
    or request id); `"recctl"` adds them (a unique request id per line, as the service
    logs). `rotate_lines` > 0 rotates files like a logger
    (data.json.1 is older than data.json). Returns the files written.
    """
    rng = np.random.default_rng(seed)
    replica = rng.integers(0, replicas, size=len(events))
    written: list[Path] = []
    columns = [events[c].to_numpy() for c in
               ("message", "timestamp_us", "user", "track", "time", "latency",
                "recommendation", "session", "arm")]
    columns.append(np.arange(len(events)))  # the request id
    for r in range(replicas):
        mask = replica == r
        rows = zip(*(c[mask].tolist() for c in columns), strict=True)  # Python scalars format fast
        lines = [_line(row, experiment, r, style) for row in rows]
        written += _write_rotated(Path(folder) / f"replica-{r}", lines, rotate_lines)
    return written


def _line(row: tuple, experiment: str, replica: int, style: str) -> str:
    message, ts_us, user, track, time, latency, rec, session, arm, number = row
    recommendation = "null" if rec < 0 else str(rec)
    head = (f'{{"message":"{message}","timestamp":{ts_us // 1000},"user":{user},'
            f'"track":{track},"time":{time},"latency":{latency},'
            f'"recommendation":{recommendation},"experiments":{{"{experiment}":"{arm}"}}')
    if style == "course":
        return head + "}\n"
    return head + (f',"timestamp_us":{ts_us},"session":"{user}-{session}","replica":{replica},'
                   f'"request_id":"0-0-{number}:{message}"}}\n')


def _write_rotated(folder: Path, lines: list[str], rotate_lines: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    size = rotate_lines if rotate_lines > 0 else max(len(lines), 1)
    chunks = [lines[i:i + size] for i in range(0, len(lines), size)] or [[]]
    paths = []
    for age, chunk in enumerate(reversed(chunks)):  # the newest chunk is data.json
        path = folder / ("data.json" if age == 0 else f"data.json.{age}")
        path.write_text("".join(chunk))
        paths.append(path)
    return paths
