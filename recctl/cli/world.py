"""The `world` command: generate the simulated world. Thin: parse, call, render."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

console = Console()


def world(
    out: Annotated[Path, typer.Option("--out", help="The folder to write the world into; it "
                                      "is created if it does not exist.", show_default=False)],
    tracks: Annotated[int | None, typer.Option(
        "--tracks", min=10, help="The number of tracks in the catalog (default from "
        "config/world.yml: 50,000).")] = None,
    users: Annotated[int | None, typer.Option(
        "--users", min=1, help="The number of simulated users (default from "
        "config/world.yml: 10,000).")] = None,
    seed: Annotated[int, typer.Option(
        "--seed", help="The seed; the same seed and sizes give the same world.")] = 0,
    config: Annotated[Path | None, typer.Option(
        "--config", help="A YAML file of world parameters to use instead of "
        "config/world.yml.", rich_help_panel="Advanced")] = None,
) -> None:
    """Generate the simulated world: tracks, artists, genres, embeddings and users.

    Files use the course's formats (tracks.json, embeddings.npy, users.json).

    The service never reads this folder; only the simulator does.

    Other knobs: keys of config/world.yml (or your copy, --config); its comments
    say what each does to the verdicts:

    genres, genre_zipf, centre_norm: how much finding the session's genre pays
    artist_norm: how much more an artist's own tracks are liked (sticky_artist)
    noise_norm: how far a track strays from its artist and genre (all arms)
    sound_norm: how little a track's public sound tells of taste (content lists,
    and whether their diverse version pays)
    consume_bias_range, consume_sharpness_range: how hard, how sharp a listen is

    See a knob's effect: python bench/world_calibration.py --bootstrap --config F
    (F: a bootstrap file whose world: section overrides config/world.yml).

    Example: recctl world --out data/default/world --tracks 50000 --users 10000 --seed 0
    """
    from recctl.sim.world_io import build_world, load_world_params

    params = load_world_params(config, tracks=tracks, users=users)
    made, seconds = build_world(out, params, seed)
    console.print(f"[green]World written[/] to {out}: {made.n_tracks:,} tracks by "
                  f"{made.n_artists:,} artists in {params.genres} genres, "
                  f"{made.n_users:,} users (seed {seed}, {seconds:.1f} s)")


def register(app: typer.Typer) -> None:
    """Add the `world` command to the recctl app."""
    app.command("world")(world)
