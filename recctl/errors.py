"""The one exception type the library raises for problems a user can fix.

The CLI catches it once, prints the message and the hint, and exits with code 1.
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
