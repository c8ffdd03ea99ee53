"""`python -m recctl.botify --experiment FILE ...`: one replica, without the rest of the CLI.

Same options as `recctl serve` (both are recctl.botify.main.serve); lighter to start.
"""

from recctl.botify.main import main

main()
