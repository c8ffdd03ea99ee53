"""The one exception type the library raises for problems a user can fix.

The CLI catches it once, prints the message and the hint, and exits with code 1 (the
replica's own entry, `python -m recctl.botify`, prints the same `error_lines`).
"""

from __future__ import annotations


class RecctlError(Exception):
    """A problem the user can fix: the message says what is wrong, the hint how to fix it."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message


def error_lines(exc: RecctlError) -> list[tuple[str, str]]:
    """What an entry point shows for `exc`: ("Error:", message), then ("hint:", hint)."""
    lines = [("Error:", exc.message)]
    if exc.hint:
        lines.append(("hint:", exc.hint))
    return lines
