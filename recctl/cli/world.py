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

    Every other knob is a key of config/world.yml (pass your own copy with --config),
    whose comments say what each does to the verdicts: genres, genre_zipf and
    centre_norm set how much finding a session's genre pays (DSSM, LFM, i2i and
    top_pop against random); artist_norm how much more an artist's own tracks are
    liked (sticky_artist, and how full of one artist i2i lists get, hence what
    diversity buys); noise_norm how much a track deviates from its artist and genre
    (all learned arms towards random); consume_bias_range and
    consume_sharpness_range how hard and how sharp a listen is. See the effect in
    seconds: python bench/world_calibration.py --bootstrap --config FILE.

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
