"""`python -m recctl` is the `recctl` command."""

from recctl.cli.main import main

main()
