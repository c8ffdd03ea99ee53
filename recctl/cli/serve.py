"""`recctl serve`: run one botify replica (what `recctl up` starts N of).

The command itself belongs to the service (recctl.botify.main), so that the service
never imports the CLI; here it only joins the recctl app.
"""

from __future__ import annotations

import typer

from recctl.botify.main import HELP, serve


def register(app: typer.Typer) -> None:
    app.command("serve", help=HELP)(serve)
