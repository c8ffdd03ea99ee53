"""Which files hold events: every `data.json` and `data.json.N` under the given paths.

Rotated files are read oldest first: `data.json.3`, `data.json.2`, `data.json.1`,
`data.json`. Fetch's set-aside copies (`conflicts/`) are never read, and no symlink is
followed (a link could point at another replica's or another run's log).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from recctl.errors import RecctlError
from recctl.eventlog.schema import is_log_name, rotation_number

SET_ASIDE = "conflicts"  # where fetch keeps copies that are not appends: never read


def _rotation_key(path: Path) -> tuple[str, int]:
    # Oldest first: higher rotation numbers were written earlier.
    return (str(path.parent), -rotation_number(path.name))


def _logs_under(folder: Path) -> Iterator[Path]:
    # os.walk, not rglob: no symlinked folder is entered and no symlinked file is taken.
    for root, dirs, files in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d != SET_ASIDE)
        for name in files:
            path = Path(root) / name
            if is_log_name(name) and not path.is_symlink() and path.is_file():
                yield path


def find_log_files(paths: Iterable[str | Path]) -> list[Path]:
    """Every event-log file under the given files or folders, rotated ones included.

    Folders are searched recursively for `data.json` and `data.json.N`, never inside a
    `conflicts/` folder (fetch's set-aside copies) and never through a symlink; a file
    given directly is taken whatever its name. Within a folder files come oldest first.
    """
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            found.extend(_logs_under(path))
        else:
            raise RecctlError(
                f"log path {str(path)!r} does not exist",
                "pass a folder made by `recctl fetch` or a replica's log folder",
            )
    return sorted(set(found), key=_rotation_key)
