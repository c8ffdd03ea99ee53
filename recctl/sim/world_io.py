"""World folders on disk, in the course's formats so its own simulator can load them.

    tracks.json       JSON lines {"track": int, "artist": str, "title": str}, by track id
    embeddings.npy    float32 (T, d) track embeddings
    users.json        JSON lines {"user", "interests", "consume_bias", "consume_sharpness"}
    genres.npy        int64 (T,) genre of each track (recctl's own; optional on load)
    sound.npy         float32 (T, d') public sound features (recctl's own; optional):
                      what training may know of a track besides its artist
    manifest.json     generator version, seed, sizes, parameters

A folder written by the course (no manifest, no genres, users without consume_* fields)
loads too: missing per-user parameters take the user model's defaults.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import orjson

from recctl.errors import RecctlError
from recctl.paths import config_file
from recctl.settings import read_yaml, validate
from recctl.sim.user_model import UserModel
from recctl.sim.world import (
    INTERESTS_PER_USER,
    NEIGHBOURS_CACHE_PREFIX,
    World,
    WorldParams,
    generate_world,
)

TRACKS_FILE = "tracks.json"
EMBEDDINGS_FILE = "embeddings.npy"
USERS_FILE = "users.json"
GENRES_FILE = "genres.npy"
SOUND_FILE = "sound.npy"
MANIFEST_FILE = "manifest.json"
WORLD_CONFIG = "world.yml"


def save_world(world: World, out: Path) -> list[Path]:
    """Write `world` into folder `out` (created if needed); returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob(f"{NEIGHBOURS_CACHE_PREFIX}*.npy"):
        stale.unlink()
    with open(out / TRACKS_FILE, "wb") as handle:
        handle.writelines(
            orjson.dumps({"track": t, "artist": world.artist_names[a], "title": title}) + b"\n"
            for t, (a, title) in enumerate(
                zip(world.track_artist.tolist(), world.titles, strict=True))
        )
    np.save(out / EMBEDDINGS_FILE, world.embeddings.astype(np.float32))
    with open(out / USERS_FILE, "wb") as handle:
        handle.writelines(
            orjson.dumps({"user": u, "interests": interests, "consume_bias": bias,
                          "consume_sharpness": sharpness}) + b"\n"
            for u, (interests, bias, sharpness) in enumerate(zip(
                world.interests.tolist(), world.consume_bias.tolist(),
                world.consume_sharpness.tolist(), strict=True))
        )
    files = [out / TRACKS_FILE, out / EMBEDDINGS_FILE, out / USERS_FILE]
    if world.track_genre is not None:
        np.save(out / GENRES_FILE, world.track_genre)
        files.append(out / GENRES_FILE)
    if world.sound is not None:
        np.save(out / SOUND_FILE, world.sound.astype(np.float32))
        files.append(out / SOUND_FILE)
    manifest = dict(world.manifest)
    manifest["files"] = [p.name for p in files]
    (out / MANIFEST_FILE).write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
    return files + [out / MANIFEST_FILE]


def build_world(out: Path, params: WorldParams, seed: int) -> tuple[World, float]:
    """Generate a world and write it to `out`; returns it and the seconds it took."""
    started = time.perf_counter()
    world = generate_world(params, seed)
    save_world(world, out)
    return world, time.perf_counter() - started


def _read_lines(path: Path) -> list[dict]:
    if not path.is_file():
        raise RecctlError(f"world file {path} not found",
                          "make a world with `recctl world --out DIR` or point at its folder")
    with open(path, "rb") as handle:
        try:
            return [orjson.loads(line) for line in handle if line.strip()]
        except orjson.JSONDecodeError as exc:
            raise RecctlError(f"{path} is not JSON lines ({exc})",
                              "regenerate the world with `recctl world`") from None


def load_world(folder: Path, user_model: UserModel | None = None) -> World:
    """Load a world folder written by `save_world` (or by the course's tools)."""
    folder = Path(folder)
    defaults = user_model if user_model is not None else UserModel()
    tracks = _read_lines(folder / TRACKS_FILE)
    tracks.sort(key=lambda row: row["track"])
    if [row["track"] for row in tracks] != list(range(len(tracks))):
        raise RecctlError(f"{folder / TRACKS_FILE}: track ids must be 0..N-1",
                          "regenerate the world with `recctl world`")
    artist_names, track_artist = np.unique([str(row["artist"]) for row in tracks],
                                           return_inverse=True)
    embeddings_path = folder / EMBEDDINGS_FILE
    if not embeddings_path.is_file():
        raise RecctlError(f"world file {embeddings_path} not found",
                          "make a world with `recctl world --out DIR`")
    embeddings = np.load(embeddings_path).astype(np.float32, copy=False)
    if embeddings.shape[0] != len(tracks):
        raise RecctlError(f"{embeddings_path} has {embeddings.shape[0]} rows but "
                          f"{TRACKS_FILE} has {len(tracks)} tracks",
                          "regenerate the world with `recctl world`")
    users = sorted(_read_lines(folder / USERS_FILE), key=lambda row: row["user"])
    interests = np.full((len(users), INTERESTS_PER_USER), -1, dtype=np.int64)
    for i, row in enumerate(users):
        chosen = list(row["interests"])[:INTERESTS_PER_USER]
        chosen += [chosen[j % len(chosen)] for j in range(INTERESTS_PER_USER - len(chosen))]
        interests[i] = chosen
    genres_path = folder / GENRES_FILE
    sound_path = folder / SOUND_FILE
    manifest_path = folder / MANIFEST_FILE
    return World(
        track_artist=track_artist.astype(np.int64),
        artist_names=[str(name) for name in artist_names],
        titles=[str(row.get("title", "")) for row in tracks],
        embeddings=embeddings,
        interests=interests,
        consume_bias=np.array([row.get("consume_bias", defaults.default_consume_bias)
                               for row in users], dtype=np.float64),
        consume_sharpness=np.array([row.get("consume_sharpness",
                                            defaults.default_consume_sharpness)
                                    for row in users], dtype=np.float64),
        track_genre=np.load(genres_path).astype(np.int64) if genres_path.is_file() else None,
        sound=np.load(sound_path).astype(np.float32) if sound_path.is_file() else None,
        manifest=orjson.loads(manifest_path.read_bytes()) if manifest_path.is_file() else {},
        cache_dir=folder,
    )


def load_world_params(path: Path | None = None, *, source: str | None = None,
                      prefix: str = "", **overrides: object) -> WorldParams:
    """World parameters from YAML (default: config/world.yml), then `overrides` (non-None).

    Errors name `source` (default: the file) and keys under `prefix` (e.g. "world" for a
    bootstrap file's `world:` section).
    """
    given = path is not None
    path = Path(path) if path is not None else config_file(WORLD_CONFIG)
    raw = (read_yaml(path, what="world parameters file", example="config/world.yml",
                     empty_ok=True) if given or path.is_file() else {})
    raw.update({k: v for k, v in overrides.items() if v is not None})
    return validate(WorldParams, raw, source or str(path), what="world parameters",
                    hint="fix the value; config/world.yml lists every parameter",
                    prefix=prefix)
