"""The simulated world: a catalog of tracks with artists, genres and embeddings, and the
users who listen to it. Deterministic from a seed; nothing is downloaded.

Generative model (defaults in config/world.yml, calibrated so a random recommender gets
a session time of about 1; see docs in the feasibility note):

    genre weights      w_g ∝ (g + 1) ** -genre_zipf                   g < genres
    artist sizes       n_a = min(cap, floor(Pareto(alpha) + 1)), drawn until Σ n_a ≥ T
    artist genre       g_a ~ Categorical(w)
    track embedding    x_t = c_{g_a} + o_a + e_t
                       c_g: random direction with ‖c_g‖ = centre_norm
                       o_a ~ N(0, artist_norm² / d · I),  e_t ~ N(0, noise_norm² / d · I)
    track ids          a random permutation, so ids carry no artist or genre order
    track sound        s_t = c_{g_a} + o_a + h_a + j_t      (public: sound.npy)
                       h_a ~ N(0, sound_norm² / d · I),  j_t ~ N(0, sound_jitter_norm² / d · I)
    user interests     3 distinct tracks drawn ∝ popularity p_t ~ LogNormal(0, σ)
    consume_bias       ~ U(0, 10);  consume_sharpness ~ U(0.5, 2)   (the course's)

The sound is what a recommender can know of a track without logs (an audio embedding,
say): tracks of one artist sound alike (they share h_a, and the jitter is small), and an
artist's sound says only partly where their music sits in the listeners' taste space
(h_a blurs it). Content-based item lists are built from it (recctl.train.sound).

The catalog, the users, the names and the sound use independent child seeds, so e.g.
changing the number of users leaves the catalog unchanged.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field, field_validator

from recctl.settings import Settings
from recctl.sim import names
from recctl.sim.knn import top_k_inner_product

GENERATOR_VERSION = "recctl.sim.world/1"
INTERESTS_PER_USER = 3
NEIGHBOURS_CACHE_PREFIX = "interest_neighbours_k"


class WorldParams(Settings):
    """Everything that shapes a generated world, besides the seed."""

    tracks: int = Field(50_000, ge=INTERESTS_PER_USER)
    users: int = Field(10_000, ge=1)
    dim: int = Field(32, ge=1)
    genres: int = Field(24, ge=1)
    genre_zipf: float = Field(0.6, ge=0)
    centre_norm: float = Field(2.4, ge=0)
    artist_norm: float = Field(2.2, ge=0)
    noise_norm: float = Field(1.6, ge=0)
    artist_pareto_alpha: float = Field(1.1, gt=0)
    artist_max_tracks: int = Field(300, ge=1)
    sound_norm: float = Field(3.9, ge=0)
    sound_jitter_norm: float = Field(1.7, ge=0)
    interest_popularity_sigma: float = Field(1.0, ge=0)
    consume_bias_range: tuple[float, float] = (0.0, 10.0)
    consume_sharpness_range: tuple[float, float] = (0.5, 2.0)

    @field_validator("consume_bias_range", "consume_sharpness_range")
    @classmethod
    def _ordered(cls, value: tuple[float, float]) -> tuple[float, float]:
        if value[0] > value[1]:
            raise ValueError("must be [low, high] with low <= high")
        return value


@dataclass
class World:
    """A catalog and its users, as arrays indexed by track id and user id."""

    track_artist: np.ndarray  # int64 (T,) artist index of each track
    artist_names: list[str]  # (A,)
    titles: list[str]  # (T,)
    embeddings: np.ndarray  # float32 (T, d)
    interests: np.ndarray  # int64 (U, I) interest tracks of each user
    consume_bias: np.ndarray  # float64 (U,)
    consume_sharpness: np.ndarray  # float64 (U,)
    track_genre: np.ndarray | None = None  # int64 (T,), None for worlds made elsewhere
    sound: np.ndarray | None = None  # float32 (T, d) public sound features, None if absent
    manifest: dict[str, Any] = field(default_factory=dict)
    cache_dir: Path | None = None  # where neighbour tables are cached (the world's folder)
    _neighbours: dict[int, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def n_tracks(self) -> int:
        return int(self.embeddings.shape[0])

    @property
    def n_users(self) -> int:
        return int(self.interests.shape[0])

    @property
    def n_artists(self) -> int:
        return len(self.artist_names)

    def interest_neighbours(self, k: int) -> np.ndarray:
        """(U, I, k) int64: the k nearest tracks by inner product to each user's interests.

        Computed once per k over the distinct interest tracks, then cached in memory and,
        for a world loaded from a folder, in `interest_neighbours_k{k}.npy` there.
        """
        if k in self._neighbours:
            return self._neighbours[k]
        cached = self.cache_dir / f"{NEIGHBOURS_CACHE_PREFIX}{k}.npy" if self.cache_dir else None
        if cached is not None and cached.is_file():
            table = np.load(cached)
            if table.shape == (*self.interests.shape, min(k, self.n_tracks)):
                self._neighbours[k] = table
                return table
        unique, inverse = np.unique(self.interests, return_inverse=True)
        table = top_k_inner_product(self.embeddings, self.embeddings[unique], k)
        self._neighbours[k] = table[inverse.reshape(self.interests.shape)]
        if cached is not None:
            with contextlib.suppress(OSError):  # a read-only folder: keep it in memory only
                np.save(cached, self._neighbours[k])
        return self._neighbours[k]


def _artist_sizes(rng: np.random.Generator, tracks: int, alpha: float, cap: int) -> np.ndarray:
    """Tracks per artist: capped Pareto(alpha) counts, drawn until they cover `tracks`."""
    sizes: list[np.ndarray] = []
    total = 0
    while total < tracks:
        block = np.minimum(cap, np.floor(rng.pareto(alpha, size=max(64, tracks // 4)) + 1))
        sizes.append(block.astype(np.int64))
        total += int(block.sum())
    all_sizes = np.concatenate(sizes)
    cumulative = np.cumsum(all_sizes)
    last = int(np.searchsorted(cumulative, tracks))
    all_sizes = all_sizes[: last + 1].copy()
    all_sizes[-1] -= int(cumulative[last]) - tracks
    return all_sizes


def _distinct_interests(rng: np.random.Generator, users: int, p: np.ndarray) -> np.ndarray:
    """(users, 3) tracks drawn with probabilities p, redrawn until distinct within a row."""
    interests = rng.choice(len(p), size=(users, INTERESTS_PER_USER), p=p)
    while True:
        ordered = np.sort(interests, axis=1)
        bad = np.flatnonzero((ordered[:, 1:] == ordered[:, :-1]).any(axis=1))
        if bad.size == 0:
            return interests.astype(np.int64)
        interests[bad] = rng.choice(len(p), size=(bad.size, INTERESTS_PER_USER), p=p)


def generate_world(params: WorldParams, seed: int) -> World:
    """Generate a world from `params` and `seed` (see the module docstring for the model)."""
    if params.tracks < 10 or params.users < 1:
        raise ValueError("a world needs at least 10 tracks and 1 user")
    # spawn(4)'s first three children are spawn(3)'s: adding the sound changed no world.
    catalog_seq, users_seq, names_seq, sound_seq = np.random.SeedSequence(seed).spawn(4)
    rng = np.random.default_rng(catalog_seq)
    d = params.dim

    sizes = _artist_sizes(rng, params.tracks, params.artist_pareto_alpha, params.artist_max_tracks)
    n_artists = len(sizes)
    weights = (np.arange(params.genres) + 1.0) ** -params.genre_zipf
    artist_genre = rng.choice(params.genres, size=n_artists, p=weights / weights.sum())

    centres = rng.standard_normal((params.genres, d))
    centres *= params.centre_norm / np.linalg.norm(centres, axis=1, keepdims=True)
    offsets = rng.standard_normal((n_artists, d)) * (params.artist_norm / np.sqrt(d))
    by_artist = np.repeat(np.arange(n_artists), sizes)
    order = rng.permutation(params.tracks)  # track id -> position in artist order
    track_artist = by_artist[order]
    noise = rng.standard_normal((params.tracks, d)) * (params.noise_norm / np.sqrt(d))
    taste_of_artist = centres[artist_genre] + offsets  # (A, d)
    embeddings = taste_of_artist[track_artist] + noise

    sound_rng = np.random.default_rng(sound_seq)
    blur = sound_rng.standard_normal((n_artists, d)) * (params.sound_norm / np.sqrt(d))
    jitter = sound_rng.standard_normal((params.tracks, d)) * (params.sound_jitter_norm / np.sqrt(d))
    sound = (taste_of_artist + blur)[track_artist] + jitter

    users_rng = np.random.default_rng(users_seq)
    popularity = users_rng.lognormal(0.0, params.interest_popularity_sigma, size=params.tracks)
    interests = _distinct_interests(users_rng, params.users, popularity / popularity.sum())
    low, high = params.consume_bias_range
    bias = users_rng.uniform(low, high, size=params.users)
    low, high = params.consume_sharpness_range
    sharpness = users_rng.uniform(low, high, size=params.users)

    names_rng = np.random.default_rng(names_seq)
    manifest = {
        "generator": GENERATOR_VERSION,
        "seed": seed,
        "tracks": params.tracks,
        "users": params.users,
        "artists": int(n_artists),
        "params": params.model_dump(),
    }
    return World(
        track_artist=track_artist.astype(np.int64),
        artist_names=names.artist_names(names_rng, n_artists),
        titles=names.track_titles(names_rng, params.tracks),
        embeddings=embeddings.astype(np.float32),
        interests=interests,
        consume_bias=bias,
        consume_sharpness=sharpness,
        track_genre=artist_genre[track_artist].astype(np.int64),
        sound=sound.astype(np.float32),
        manifest=manifest,
    )
