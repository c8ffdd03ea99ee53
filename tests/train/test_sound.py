"""Content-based item lists from a world's sound features (recctl.train.sound)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import orjson
import pytest
from rich.console import Console

from recctl.artifacts import ArtifactSet
from recctl.errors import RecctlError
from recctl.sim.world import WorldParams, generate_world
from recctl.sim.world_io import save_world
from recctl.train.catalog import load_catalog
from recctl.train.config import load_train_config
from recctl.train.pipeline import train
from recctl.train.sound import sound_lists
from tests.train.conftest import event, write_lines


def _quiet() -> Console:
    return Console(file=io.StringIO())


def test_plain_lists_are_the_nearest_and_diverse_lists_one_track_per_other_artist() -> None:
    # Two artists on a line (0-3 near 0, 4-7 near 10) and four solo artists further out.
    sound = np.array([[0.0, 1], [0.1, 1], [0.2, 1], [0.3, 1],
                      [10, 1], [10.1, 1], [10.2, 1], [10.3, 1],
                      [1, 1], [2, 1], [20, 1], [30, 1]], dtype=np.float32)
    artist = np.array([0, 0, 0, 0, 1, 1, 1, 1, 2, 3, 4, 5])
    lists = sound_lists(sound, artist, k=3, pool=11)
    plain = dict(lists["i2i_sound"].rows())
    diverse = dict(lists["i2i_sound_diverse"].rows())
    assert plain[0] == [1, 2, 3]  # its own artist's tracks sound most alike
    assert 0 not in plain[0] and all(t not in row for t, row in plain.items())
    # No track of the anchor's artist, at most one per artist, nearest artists first.
    assert diverse[0] == [8, 9, 4]
    for track, row in diverse.items():
        artists = artist[row]
        assert artist[track] not in artists and len(set(artists)) == len(row)


def test_unknown_artists_count_as_their_own() -> None:
    sound = np.random.default_rng(0).standard_normal((30, 4)).astype(np.float32)
    lists = sound_lists(sound, np.full(30, -1), k=5, pool=10)
    plain, diverse = lists["i2i_sound"].lists, lists["i2i_sound_diverse"].lists
    assert np.array_equal(plain, diverse)  # nothing to cap when every track is its own artist


def test_world_sound_clusters_by_artist_and_tells_taste_in_part() -> None:
    params = WorldParams(tracks=6_000, users=50)
    world = generate_world(params, 4)
    assert world.sound is not None and world.sound.shape == world.embeddings.shape
    lists = sound_lists(world.sound, world.track_artist, k=10, pool=100)
    same = world.track_artist[lists["i2i_sound"].lists] == world.track_artist[:, None]
    assert same.mean() > 0.4  # tracks of an artist sound alike
    # Sound is informative about taste, and blurring it (sound_norm) makes it less so.
    def taste_of(lists_for: dict) -> float:
        rows = lists_for["i2i_sound_diverse"].lists
        ok = rows >= 0
        products = np.einsum("nd,nkd->nk", world.embeddings, world.embeddings[np.maximum(rows, 0)])
        return float(products[ok].mean())
    blurred = generate_world(params.model_copy(update={"sound_norm": 12.0}), 4)
    assert np.array_equal(blurred.embeddings, world.embeddings)  # only the sound moved
    blurred_lists = sound_lists(blurred.sound, world.track_artist, k=10, pool=100)
    assert taste_of(lists) > taste_of(blurred_lists) + 1.0


def _course_logs(folder: Path, tracks: int) -> None:
    events = []
    for user in range(20):
        first, second = user % tracks, (user + 1) % tracks
        events += [event("next", 10 * user, user, first, 1.0),
                   event("last", 10 * user + 1, user, second, 1.0, None)]
    write_lines(folder / "data.json", events)


def test_train_ships_sound_lists_when_the_world_has_sound(tmp_path: Path) -> None:
    world = generate_world(WorldParams(tracks=400, users=20), 1)
    save_world(world, tmp_path / "world")
    _course_logs(tmp_path / "logs", 400)
    config = load_train_config(overrides={"dssm": {"epochs": 1}, "lfm": {"enabled": False},
                                          "evaluation": {"holdout_fraction": 0.0}})
    tracks = tmp_path / "world" / "tracks.json"
    result = train([tmp_path / "logs"], tmp_path / "art", catalog=tracks, config=config,
                   console=_quiet())
    art = ArtifactSet(result.out)
    assert {"i2i_sound", "i2i_sound_diverse"} <= set(art.names("item_list"))
    assert len(dict(art.item_lists("i2i_sound"))) == 400
    assert "sound_lists" in result.manifest["timings"]
    # Switched off, or a catalog without sound: no such lists, and no error.
    off = load_train_config(overrides={"dssm": {"epochs": 1}, "lfm": {"enabled": False},
                                       "sound": {"enabled": False},
                                       "evaluation": {"holdout_fraction": 0.0}})
    art_off = ArtifactSet(train([tmp_path / "logs"], tmp_path / "off",
                                catalog=tracks, config=off,
                                console=_quiet()).out)
    assert "i2i_sound" not in set(art_off.names("item_list"))


@pytest.mark.parametrize("bad", ["rows", "nan", "garbage"])
def test_a_broken_sound_file_names_the_file_and_the_fix(tmp_path: Path, bad: str) -> None:
    (tmp_path / "tracks.json").write_bytes(b"".join(
        orjson.dumps({"track": i, "artist": f"a{i}", "title": "t"}) + b"\n" for i in range(5)))
    sound = tmp_path / "sound.npy"
    if bad == "rows":
        np.save(sound, np.zeros((4, 3), dtype=np.float32))
    elif bad == "nan":
        np.save(sound, np.full((5, 3), np.nan, dtype=np.float32))
    else:
        sound.write_bytes(b"not numpy")
    with pytest.raises(RecctlError) as caught:
        load_catalog(tmp_path / "tracks.json")
    assert "sound.npy" in str(caught.value) and "recctl world" in caught.value.hint
