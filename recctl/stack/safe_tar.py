"""Extract a tar stream from a container without trusting it.

A replica's container is code we run, but its archive is still input: a member named
`../../etc/x`, an absolute path, a link pointing out of the folder or a device node
must never land on this machine. Only regular files and folders are written, each
checked to resolve inside the target; anything else stops the extraction with an error
naming the member. Works on a stream (`get_archive` yields chunks), so logs of any
size are never held in memory whole.
"""

from __future__ import annotations

import io
import os
import shutil
import tarfile
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath

from recctl.errors import RecctlError


class UnsafeArchiveError(RecctlError):
    """A member would write outside the target, or is a link or a device."""


class ChunkReader(io.RawIOBase):
    """A read-only file over an iterator of byte chunks (what the Docker SDK streams)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks: Iterator[bytes] = iter(chunks)
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._buffer:
            try:
                self._buffer = next(self._chunks)
            except StopIteration:
                return 0
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        return size


def _relative_name(name: str, strip_prefix: str | None) -> PurePosixPath | None:
    """The member's path below `strip_prefix`, or None for the prefix folder itself.

    Raises for absolute paths and any `..` component, before anything is resolved.
    """
    path = PurePosixPath(name)
    if path.is_absolute() or name.startswith(("/", "\\")):
        raise UnsafeArchiveError(f"archive member {name!r} has an absolute path")
    if ".." in path.parts:
        raise UnsafeArchiveError(f"archive member {name!r} climbs out with '..'")
    parts = [p for p in path.parts if p != "."]
    if strip_prefix:
        if not parts or parts[0] != strip_prefix:
            raise UnsafeArchiveError(
                f"archive member {name!r} is outside the expected folder {strip_prefix!r}"
            )
        parts = parts[1:]
    return PurePosixPath(*parts) if parts else None


def _inside(root: Path, relative: PurePosixPath) -> Path:
    """`root/relative` with its parent resolved and proven to stay under root.

    The last component is not resolved: a link there is refused when opened instead.
    """
    parent = (root / relative).parent.resolve()
    if parent != root and root not in parent.parents:
        raise UnsafeArchiveError(f"archive member {str(relative)!r} resolves outside {root}")
    return parent / relative.name


def _check_kind(member: tarfile.TarInfo) -> None:
    if member.issym() or member.islnk():
        raise UnsafeArchiveError(
            f"archive member {member.name!r} is a link (to {member.linkname!r}); "
            "links are not extracted"
        )
    if member.ischr() or member.isblk() or member.isfifo() or member.isdev():
        raise UnsafeArchiveError(f"archive member {member.name!r} is a device or a pipe")
    if not (member.isfile() or member.isdir()):
        raise UnsafeArchiveError(f"archive member {member.name!r} is of an unsupported type")


def safe_extract(
    stream: Iterable[bytes] | io.IOBase,
    dest: Path,
    *,
    strip_prefix: str | None = None,
) -> list[Path]:
    """Extract regular files and folders from a tar stream into `dest`.

    Args:
        stream: the tar bytes, as an iterator of chunks or a binary file object.
        dest: an existing folder; nothing is written outside it.
        strip_prefix: the archive's top folder (get_archive names members after the
            folder it was asked for, e.g. `recctl/data.json`), dropped from every path.

    Returns:
        The regular files written, in archive order.

    Raises:
        UnsafeArchiveError: on the first member that is absolute, climbs out with `..`,
            resolves outside `dest`, is a link, a device or a pipe. Files written before
            it stay (they are inside `dest`).
    """
    root = dest.resolve()
    if not root.is_dir():
        raise RecctlError(f"extraction target {dest} is not a folder")
    fileobj = stream if isinstance(stream, io.IOBase) else io.BufferedReader(ChunkReader(stream))
    written: list[Path] = []
    with tarfile.open(fileobj=fileobj, mode="r|*") as archive:
        for member in archive:
            relative = _relative_name(member.name, strip_prefix)
            _check_kind(member)
            if relative is None:
                continue
            target = _inside(root, relative)
            if member.isdir():
                if target.is_symlink():
                    raise UnsafeArchiveError(f"archive folder {member.name!r} is a link here")
                target.mkdir(parents=True, exist_ok=True, mode=0o755)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            source = archive.extractfile(member)
            if source is None:  # pragma: no cover - isfile() members always have data
                continue
            # O_NOFOLLOW: never write through a link planted where the file should go.
            flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW
            try:
                descriptor = os.open(target, flags, 0o644)
            except OSError as exc:
                raise UnsafeArchiveError(
                    f"archive member {member.name!r} cannot be written to {target}: {exc}"
                ) from None
            with source, os.fdopen(descriptor, "wb") as out:
                shutil.copyfileobj(source, out)
            written.append(target)
    return written
