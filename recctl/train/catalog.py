"""The catalog the artifacts ship (`tracks.json`): the public one, or placeholders from logs;
with the tracks' sound features (`sound.npy` beside tracks.json) when the world has them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from recctl.artifacts import read_jsonl
from recctl.errors import RecctlError

SOUND_FILE = "sound.npy"  # recctl.sim.world_io writes it (train does not import sim)


@dataclass(frozen=True)
class Catalog:
    rows: list[dict[str, Any]]  # {"track", "artist", "title"}, by track id
    artist_of: np.ndarray  # int64 artist code per track id, -1 when unknown
    source: str  # the file it came from, or "placeholder"
    sound: np.ndarray | None = None  # float32 (n_tracks, d) sound features, by track id

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
    artist_of = _artist_codes(rows)
    return Catalog(rows, artist_of, str(path), _sound_beside(path, len(artist_of)))


def _sound_beside(tracks_path: Path, n_tracks: int) -> np.ndarray | None:
    """The sound features next to a tracks.json, if any (a world made by recctl has them)."""
    path = tracks_path.with_name(SOUND_FILE)
    if not path.is_file():
        return None
    try:
        sound = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise RecctlError(f"{path} is not a numpy array file ({exc})",
                          "regenerate the world with `recctl world`, or remove the file") from None
    if sound.ndim != 2 or sound.shape[0] != n_tracks or not np.isfinite(sound).all():
        raise RecctlError(
            f"{path} holds shape {sound.shape}, but {tracks_path.name} has {n_tracks} track "
            "ids: it needs one finite row per track",
            "regenerate the world with `recctl world`, or remove the file")
    return sound.astype(np.float32, copy=False)


def placeholder_catalog(track_ids: np.ndarray) -> Catalog:
    """Tracks seen in logs, each its own unknown artist (so diversity limits nothing real)."""
    rows = [
        {"track": int(t), "artist": f"Unknown artist {int(t)}", "title": f"Track {int(t)}"}
        for t in np.unique(track_ids)
    ]
    return Catalog(rows, _artist_codes(rows), "placeholder")
