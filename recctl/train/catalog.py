"""The catalog the artifacts ship (`tracks.json`): the public one, or placeholders from logs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from recctl.artifacts import read_jsonl
from recctl.errors import RecctlError


@dataclass(frozen=True)
class Catalog:
    rows: list[dict[str, Any]]  # {"track", "artist", "title"}, by track id
    artist_of: np.ndarray  # int64 artist code per track id, -1 when unknown
    source: str  # the file it came from, or "placeholder"

    @property
    def n_tracks(self) -> int:
        return len(self.artist_of)


def _artist_codes(rows: list[dict[str, Any]]) -> np.ndarray:
    size = max((int(r["track"]) for r in rows), default=-1) + 1
    artist_of = np.full(size, -1, dtype=np.int64)
    names: dict[str, int] = {}
    for row in rows:
        artist_of[int(row["track"])] = names.setdefault(str(row["artist"]), len(names))
    return artist_of


def load_catalog(path: str | Path) -> Catalog:
    """A tracks.json in the course's format (one {"track", "artist", "title"} a line)."""
    path = Path(path)
    if not path.is_file():
        raise RecctlError(
            f"catalog {path} does not exist",
            "pass the world's tracks.json, or leave out --catalog to use placeholders",
        )
    rows: list[dict[str, Any]] = []
    for number, row in enumerate(read_jsonl(path), start=1):
        if not isinstance(row, dict) or not {"track", "artist", "title"} <= set(row):
            raise RecctlError(
                f"{path}:{number} is not a track (needs track, artist, title)",
                "pass a tracks.json in the course's format",
            )
        rows.append(
            {"track": int(row["track"]), "artist": str(row["artist"]), "title": str(row["title"])}
        )
    if not rows:
        raise RecctlError(f"catalog {path} is empty", "pass the world's tracks.json")
    rows.sort(key=lambda r: r["track"])
    return Catalog(rows, _artist_codes(rows), str(path))


def placeholder_catalog(track_ids: np.ndarray) -> Catalog:
    """Tracks seen in logs, each its own unknown artist (so diversity limits nothing real)."""
    rows = [
        {"track": int(t), "artist": f"Unknown artist {int(t)}", "title": f"Track {int(t)}"}
        for t in np.unique(track_ids)
    ]
    return Catalog(rows, _artist_codes(rows), "placeholder")
