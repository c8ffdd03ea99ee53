"""`recctl serve`: run one botify replica (what `recctl up` starts N of)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

HELP = (
    "Run one botify replica: the recommender service, on one port.\n\n"
    "The replica loads the artifacts into Redis (once for all replicas that share them), "
    "assigns each user to an arm of the experiment and answers /next with that arm's "
    "recommender. Every request is written to the event log in --log-dir.\n\n"
    "Example: recctl serve --experiment experiments/aa.yml --artifacts "
    "data/default/artifacts --port 5001 --redis redis://127.0.0.1:6379/0 --log-dir logs"
)


def serve(
    experiment: Annotated[Path, typer.Option(
        "--experiment", "-e", help="The experiment file whose arms this replica serves.")],
    port: Annotated[int, typer.Option(help="The TCP port to listen on.")] = 5000,
    artifacts: Annotated[Path | None, typer.Option(
        help="The artifacts folder to serve; by default the one the experiment file names.")]
        = None,
    host: Annotated[str, typer.Option(help="The address to listen on.")] = "127.0.0.1",
    redis: Annotated[str, typer.Option(
        "--redis", envvar="RECCTL_REDIS",
        help="The Redis URL shared by all replicas. A URL with a password "
        "(redis://:PASSWORD@host:port/0) belongs in the environment variable, where `ps` "
        "does not show it.")] = "redis://127.0.0.1:6379/0",
    replica: Annotated[str, typer.Option(
        help="This replica's name, written into every log line; by default the host name.")]
        = "",
    log_dir: Annotated[Path, typer.Option(
        help="The folder for the event log (data.json, rotated to data.json.1, ...).")]
        = Path("logs"),
    cache_mb: Annotated[int, typer.Option(
        help="Megabytes of artifact lists each replica keeps in memory.")] = 48,
    seed: Annotated[int | None, typer.Option(
        help="Seed of the replica's random choices, for reproducible runs.")] = None,
    endpoint_port: Annotated[int | None, typer.Option(
        help="Also listen on this port with SO_REUSEPORT, shared with the other replicas "
        "of the stack: the kernel spreads the connections of any client over them.")]
        = None,
) -> None:
    from recctl.botify.server import run_replica
    from recctl.botify.settings import ServiceSettings

    run_replica(ServiceSettings(
        experiment=experiment, artifacts=artifacts, redis_url=redis, replica=replica,
        log_dir=log_dir, host=host, port=port, cache_mb=cache_mb, seed=seed),
        endpoint_port=endpoint_port)


def register(app: typer.Typer) -> None:
    app.command("serve", help=HELP)(serve)
