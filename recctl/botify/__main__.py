"""`python -m recctl.botify --experiment FILE ...`: one replica, without the rest of the CLI.

Same options as `recctl serve`; lighter to start, since only the service is imported.
"""

import sys

import typer

from recctl.cli.serve import HELP, serve
from recctl.errors import RecctlError

app = typer.Typer(add_completion=False, pretty_exceptions_show_locals=False)
app.command(help=HELP)(serve)

try:
    app()
except RecctlError as exc:  # the same output as recctl's own error boundary
    print(f"Error: {exc.message}", file=sys.stderr)
    if exc.hint:
        print(f"hint: {exc.hint}", file=sys.stderr)
    raise SystemExit(1) from None
