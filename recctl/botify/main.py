"""The replica's command line: its options, and the entry of `python -m recctl.botify`.

`recctl serve` is this same command inside the recctl CLI (recctl.cli.serve wraps it),
so the service never imports the CLI. Options are validated as ServiceSettings: a bad
one is a RecctlError naming the option; the CLI's error boundary prints it, and so does
`main` here, in the same words and with the same exit code (1).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from recctl.botify.settings import (
    DEFAULT_CACHE_MB,
    DEFAULT_LOG_DIR,
    DEFAULT_PORT,
    DEFAULT_REDIS_URL,
    ServiceSettings,
)
from recctl.constants import LOOPBACK
from recctl.errors import RecctlError, error_lines
from recctl.settings import validate

HELP = (
    "Run one botify replica: the recommender service, on one port.\n\n"
    "The replica loads the artifacts into Redis (once for all replicas that share them), "
    "assigns each user to an arm of the experiment and answers /next with that arm's "
    "recommender. Every request is written to the event log in --log-dir.\n\n"
    "Example: recctl serve --experiment experiments/aa.yml --artifacts "
    "data/default/artifacts --port 5001 --redis redis://127.0.0.1:6379/0 --log-dir logs"
)
# The option that sets each ServiceSettings field, for error messages.
OPTIONS = {"experiment": "--experiment", "artifacts": "--artifacts", "redis_url": "--redis",
           "replica": "--replica", "log_dir": "--log-dir", "host": "--host", "port": "--port",
           "cache_mb": "--cache-mb", "seed": "--seed"}


def serve(
    experiment: Annotated[Path, typer.Option(
        "--experiment", "-e", help="The experiment file whose arms this replica serves.")],
    port: Annotated[int, typer.Option(help="The TCP port to listen on.")] = DEFAULT_PORT,
    artifacts: Annotated[Path | None, typer.Option(
        help="The artifacts folder to serve; by default the one the experiment file names.")]
        = None,
    host: Annotated[str, typer.Option(help="The address to listen on.")] = LOOPBACK,
    redis: Annotated[str, typer.Option(
        "--redis", envvar="RECCTL_REDIS",
        help="The Redis URL shared by all replicas. A URL with a password "
        "(redis://:PASSWORD@host:port/0) belongs in the environment variable, where `ps` "
        "does not show it.")] = DEFAULT_REDIS_URL,
    replica: Annotated[str, typer.Option(
        help="This replica's name, written into every log line; by default the host name.")]
        = "",
    log_dir: Annotated[Path, typer.Option(
        help="The folder for the event log (data.json, rotated to data.json.1, ...).")]
        = DEFAULT_LOG_DIR,
    cache_mb: Annotated[int, typer.Option(
        help="Megabytes of artifact lists each replica keeps in memory.")] = DEFAULT_CACHE_MB,
    seed: Annotated[int | None, typer.Option(
        help="Seed of the replica's random choices, for reproducible runs.")] = None,
    endpoint_port: Annotated[int | None, typer.Option(
        help="Also listen on this port with SO_REUSEPORT, shared with the other replicas "
        "of the stack: the kernel spreads the connections of any client over them.")]
        = None,
) -> None:
    # Imported here: `recctl --help` should not load the service (uvicorn, redis, ...).
    from recctl.botify.server import run_replica

    settings = validate(ServiceSettings, {
        "experiment": experiment, "artifacts": artifacts, "redis_url": redis,
        "replica": replica, "log_dir": log_dir, "host": host, "port": port,
        "cache_mb": cache_mb, "seed": seed}, "options", what="options", names=OPTIONS,
        hint="fix the option; `recctl serve --help` lists them")
    run_replica(settings, endpoint_port=endpoint_port)


def main(argv: list[str] | None = None) -> None:
    """`python -m recctl.botify`: one replica, without the rest of the CLI."""
    app = typer.Typer(add_completion=False, pretty_exceptions_show_locals=False)
    app.command(help=HELP)(serve)
    try:
        app(args=argv, prog_name="python -m recctl.botify")
    except RecctlError as exc:  # the words and exit code of recctl's own boundary
        for label, text in error_lines(exc):
            print(label, text, file=sys.stderr)
        raise SystemExit(1) from None
