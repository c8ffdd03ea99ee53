"""The Typer app: joins the command modules and is the one error boundary.

Each module under recctl/cli/ exposes `register(app)`, which adds its commands.
Library code raises RecctlError; it is printed here once and the exit code is 1.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys

import typer
from rich.console import Console
from rich.text import Text

from recctl import __version__
from recctl.errors import RecctlError, error_lines

COMMAND_MODULES = (
    "stack_commands",  # up, down, status, fetch, run, simulate
    "serve",
    "world",
    "train",
    "report",
)

app = typer.Typer(
    name="recctl",
    help="Run honest A/B experiments on a music recommender against simulated users.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_show_locals=False,
)
err_console = Console(stderr=True)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"recctl {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """Run honest A/B experiments on a music recommender against simulated users.

    Everything is driven by an experiment file: try
    `recctl run experiments/contextualmod-vs-dssm.yml`.
    """


for _name in COMMAND_MODULES:
    try:
        _module = importlib.import_module(f"recctl.cli.{_name}")
    except ModuleNotFoundError as exc:  # a command module not written yet
        if exc.name != f"recctl.cli.{_name}":
            raise
        continue
    _module.register(app)


def _terminate_like_ctrl_c(signum: int, frame: object) -> None:
    # `timeout`, a CI job's cancel, `kill`: the same clean stop as Ctrl-C (the stack torn
    # down, what was logged fetched), instead of dying with the stack left running.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends it at once
    os.kill(os.getpid(), signal.SIGINT)


def main() -> None:
    """Console-script entry: usage errors exit 2 (Typer), RecctlError exits 1 with its hint.
    SIGTERM is handled as Ctrl-C (a replica, `recctl serve`, sets its own handlers)."""
    signal.signal(signal.SIGTERM, _terminate_like_ctrl_c)
    try:
        app()
    except RecctlError as exc:
        report_error(exc)
        sys.exit(1)
    except OSError as exc:  # a path the user gave that cannot be used: no traceback
        if os.environ.get("RECCTL_TRACEBACK"):
            raise
        where = f": {exc.filename}" if exc.filename else ""
        report_error(RecctlError(
            f"{exc.strerror or type(exc).__name__}{where}",
            "check the path given (a file where a folder should be, permissions, free "
            "space); RECCTL_TRACEBACK=1 shows where it happened"))
        sys.exit(1)


def report_error(exc: RecctlError) -> None:
    for label, text in error_lines(exc):
        # Text, not markup: a message may quote a user's value with brackets in it.
        style = "bold red" if label == "Error:" else "dim"
        err_console.print(Text.assemble((label, style), " ", text), highlight=False)
