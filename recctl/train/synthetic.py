"""Synthetic event logs with learnable structure, for tests and benchmarks of training.

Not the simulator: a tiny generative story that training should be able to learn.
Tracks belong to genres (Zipf-sized popularity inside each genre); each user likes one
or two genres. A session starts on a liked track (time 1.0); then each recommendation
is a random track that the user listens to mostly (time 0.8-1) when it is in a liked
genre and skips (0-0.3) otherwise. Top-pop knows only popularity; a model that learns
users' genres beats it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from recctl.eventlog import dumps_event, make_event


def synthetic_events(
    rng: np.random.Generator,
    *,
    n_users: int = 300,
    n_tracks: int = 2000,
    n_genres: int = 20,
    n_sessions: int = 3000,
    steps: int = 8,
    liked_share: float = 0.5,
    start_us: int = 1_700_000_000_000_000,
) -> Iterator[dict[str, object]]:
    """Events (dicts in the log format), in time order, sessions interleaved by start time."""
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


def write_synthetic_logs(
    root: Path,
    rng: np.random.Generator,
    *,
    replicas: int = 2,
    rotate_every: int = 0,
    **kwargs: object,
) -> list[Path]:
    """Spread events over `replicas` folders (`root/replica-N/data.json[.k]`); returns folders."""
    folders = [root / f"replica-{r}" for r in range(replicas)]
    chunks: list[list[list[bytes]]] = [[[]] for _ in folders]
    for event in synthetic_events(rng, **kwargs):  # type: ignore[arg-type]
        replica = int(event["user"]) % replicas  # type: ignore[call-overload]
        files = chunks[replica]
        if rotate_every and len(files[-1]) >= rotate_every:
            files.append([])
        files[-1].append(dumps_event(event))
    for folder, files in zip(folders, chunks, strict=True):
        folder.mkdir(parents=True, exist_ok=True)
        for age, lines in enumerate(reversed(files)):  # newest is data.json
            name = "data.json" if age == 0 else f"data.json.{age}"
            (folder / name).write_bytes(b"".join(lines))
    return folders
