"""`recctl train` and `recctl bootstrap`: artifacts from logs, or everything from nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

TRAIN_HELP = (
    "Train the recommenders' artifacts from event logs.\n\n"
    "Reads every event log under the given folders (replica folders, rotated files "
    "included), fits top tracks, item-to-item lists (plain and artist-diverse), a DSSM "
    "two-tower model and optionally an ALS factorisation, evaluates them on the last "
    "sessions held out by time against top-pop, and writes an artifacts folder with a "
    "manifest of inputs, checksums, parameters, seed, code version and metrics.\n\n"
    "Example: recctl train cache/contextualmod_vs_dssm/RUN --out artifacts/v2 "
    "--catalog data/default/world/tracks.json"
)

BOOTSTRAP_HELP = (
    "Build a ready artifacts folder from nothing: world, cold-start logs, training.\n\n"
    "Generates the simulated world, simulates cold-start traffic from a random "
    "recommender in-process, then runs days of traffic served by a mix of the trained "
    "recommenders, retraining every day. Deterministic from the seed; a complete folder "
    "with a matching manifest is reused instead of rebuilt.\n\n"
    "Example: recctl bootstrap --out data/default --seed 0"
)


def _out_option(help: str) -> Any:
    """The required output folder of both commands, `--out`/`-o`."""
    return typer.Option("--out", "-o", help=help, show_default=False)


def train_command(
    logs: Annotated[
        list[Path],
        typer.Argument(
            help="Folders (or data.json files) holding event logs: every replica folder "
            "you fetched.",
            show_default=False,
        ),
    ],
    out: Annotated[
        Path, _out_option("The artifacts folder to write; it must not exist unless --overwrite.")
    ],
    seed: Annotated[int, typer.Option(help="Seed of every random choice in training.")] = 0,
    catalog: Annotated[
        Path | None,
        typer.Option(
            help="The world's tracks.json to ship as the catalog; without it, tracks seen in the "
            "logs get placeholder artists and titles."
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(help="A YAML file overriding the training parameters in config/train.yml."),
    ] = None,
    overwrite: Annotated[
        bool, typer.Option(help="Replace the artifacts folder if it already exists.")
    ] = False,
) -> None:
    from recctl.train.config import load_train_config
    from recctl.train.pipeline import train

    result = train(
        logs, out, seed=seed, catalog=catalog, config=load_train_config(config), overwrite=overwrite
    )
    typer.echo(f"artifacts written to {result.out}")


def bootstrap_command(
    out: Annotated[
        Path, _out_option("The folder to build: world/, logs/, artifacts/ and manifest.json.")
    ],
    seed: Annotated[int, typer.Option(help="Seed of the world, the traffic and training.")] = 0,
    config: Annotated[
        Path | None,
        typer.Option(
            help="A YAML file overriding config/bootstrap.yml (episodes, days, arm shares...)."
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            help="Rebuild even if the folder is already complete with a matching manifest."
        ),
    ] = False,
) -> None:
    from recctl.bootstrap import bootstrap, load_bootstrap_config

    result = bootstrap(out, seed=seed, config=load_bootstrap_config(config), force=force)
    typer.echo(
        f"{'reused' if result.reused else 'built'} {result.out} "
        f"(artifacts: {result.out / 'artifacts'})"
    )


def register(app: typer.Typer) -> None:
    app.command("train", help=TRAIN_HELP)(train_command)
    app.command("bootstrap", help=BOOTSTRAP_HELP)(bootstrap_command)
