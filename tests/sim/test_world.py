"""The generated world: deterministic, shaped as specified, and readable in the course's formats."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
import pandas as pd
import pytest
from typer.testing import CliRunner

from recctl.cli.main import app
from recctl.errors import RecctlError
from recctl.sim.user_model import UserModel
from recctl.sim.world import World, WorldParams, generate_world
from recctl.sim.world_io import load_world, load_world_params, save_world

SMALL = WorldParams(tracks=3_000, users=500)


def test_same_seed_same_world_other_seed_other_world() -> None:
    a, b, c = generate_world(SMALL, 1), generate_world(SMALL, 1), generate_world(SMALL, 2)
    assert np.array_equal(a.embeddings, b.embeddings)
    assert np.array_equal(a.interests, b.interests)
    assert a.artist_names == b.artist_names and a.titles == b.titles
    assert not np.array_equal(a.embeddings, c.embeddings)


def test_catalog_does_not_depend_on_the_number_of_users() -> None:
    few = generate_world(WorldParams(tracks=3_000, users=10), 1)
    many = generate_world(WorldParams(tracks=3_000, users=900), 1)
    assert np.array_equal(few.embeddings, many.embeddings)
    assert np.array_equal(few.track_artist, many.track_artist)


def test_world_shape_and_distributions(small_world: World) -> None:
    w = small_world
    assert w.embeddings.dtype == np.float32 and w.embeddings.shape == (5_000, 32)
    per_artist = np.bincount(w.track_artist)
    assert per_artist.min() >= 1 and per_artist.max() <= 300
    # Heavy tail: most artists have one or two tracks, a few have dozens.
    assert np.median(per_artist) <= 2 and per_artist.max() >= 30
    assert len(set(w.artist_names)) == w.n_artists  # distinct, readable names
    assert all(name and name[0].isupper() for name in w.artist_names[:50])
    genre_sizes = np.sort(np.bincount(w.track_genre, minlength=24))[::-1]
    assert genre_sizes[0] > 2 * genre_sizes[-1]  # Zipf-sized genres
    assert w.interests.shape == (2_000, 3)
    assert all(len(set(row)) == 3 for row in w.interests.tolist())
    assert w.consume_bias.min() >= 0 and w.consume_bias.max() <= 10
    assert w.consume_sharpness.min() >= 0.5 and w.consume_sharpness.max() <= 2
    # Interests follow a skewed popularity: some tracks are many users' interest.
    assert np.bincount(w.interests.ravel()).max() >= 3


def test_save_and_load_round_trip_in_course_formats(tmp_path: Path) -> None:
    world = generate_world(SMALL, 3)
    save_world(world, tmp_path)
    # What the course's simulator reads: JSON lines via pandas, the embeddings via np.load.
    meta = pd.read_json(tmp_path / "tracks.json", lines=True)
    assert list(meta.columns) == ["track", "artist", "title"]
    assert np.array_equal(meta["track"].to_numpy(), np.arange(3_000))
    assert np.load(tmp_path / "embeddings.npy").shape == (3_000, 32)
    first_user = orjson.loads((tmp_path / "users.json").read_bytes().splitlines()[0])
    assert set(first_user) == {"user", "interests", "consume_bias", "consume_sharpness"}
    manifest = orjson.loads((tmp_path / "manifest.json").read_bytes())
    assert manifest["seed"] == 3 and manifest["tracks"] == 3_000 and manifest["generator"]

    loaded = load_world(tmp_path)
    assert np.array_equal(loaded.embeddings, world.embeddings)
    assert np.array_equal(loaded.interests, world.interests)
    assert np.allclose(loaded.consume_bias, world.consume_bias)
    # Artist ids may be renumbered on load, but which tracks share an artist may not.
    names = np.array(world.artist_names)[world.track_artist]
    assert np.array_equal(np.array(loaded.artist_names)[loaded.track_artist], names)


def test_loads_a_course_style_folder_with_defaults(tmp_path: Path) -> None:
    embeddings = np.random.default_rng(0).standard_normal((20, 4)).astype(np.float32)
    np.save(tmp_path / "embeddings.npy", embeddings)
    (tmp_path / "tracks.json").write_text("".join(
        f'{{"track": {t}, "artist": "a{t % 5}", "title": "t{t}"}}\n' for t in range(20)))
    (tmp_path / "users.json").write_text('{"user": 0, "interests": [1, 2, 3]}\n')
    world = load_world(tmp_path, UserModel(default_consume_bias=4.0))
    assert world.consume_bias.tolist() == [4.0] and world.consume_sharpness.tolist() == [1.0]
    assert world.track_genre is None and world.n_artists == 5


def test_missing_world_file_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(RecctlError, match="tracks.json"):
        load_world(tmp_path)


def test_world_params_from_yaml_with_overrides(tmp_path: Path) -> None:
    assert load_world_params().tracks == 50_000  # config/world.yml
    assert load_world_params(tracks=123).tracks == 123
    bad = tmp_path / "world.yml"
    bad.write_text("trakcs: 5\n")
    with pytest.raises(RecctlError, match="trakcs"):
        load_world_params(bad)


def test_world_command_writes_a_loadable_world(tmp_path: Path) -> None:
    out = tmp_path / "world"
    result = CliRunner().invoke(app, ["world", "--out", str(out), "--tracks", "2000",
                                      "--users", "100", "--seed", "5"])
    assert result.exit_code == 0, result.output
    assert "2,000 tracks" in " ".join(result.output.split())
    world = load_world(out)
    assert world.n_tracks == 2_000 and world.n_users == 100
    assert np.array_equal(world.embeddings,
                          generate_world(WorldParams(tracks=2_000, users=100), 5).embeddings)


def test_interest_neighbours_are_cached_in_the_world_folder(tmp_path: Path) -> None:
    save_world(generate_world(SMALL, 4), tmp_path)
    first = load_world(tmp_path).interest_neighbours(10)
    assert (tmp_path / "interest_neighbours_k10.npy").is_file()
    assert np.array_equal(load_world(tmp_path).interest_neighbours(10), first)
    save_world(generate_world(SMALL, 5), tmp_path)  # a new world drops the stale cache
    assert not (tmp_path / "interest_neighbours_k10.npy").exists()
