"""Artifact folders: what `train` writes and `botify` loads (docs/design.md, "Artifacts").

A folder of JSON-lines files in the course's formats plus `manifest.json`:

- `tracks.json`      kind "catalog":   {"track": int, "artist": str, "title": str} a line
- `top_tracks.json`  kind "top":       one JSON list of track ids
- `<name>.json`      kind "user_list": {"user": int, "tracks": [int, ...]} a line (DSSM, LFM)
- `<name>.json`      kind "item_list": {"track": int, "recommendations": [int, ...]} a line

An artifact's name is its file's stem. A folder without a manifest (the course's own)
still opens: kinds are inferred from each file's first line.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import orjson

from recctl.errors import RecctlError

ArtifactKind = Literal["catalog", "top", "user_list", "item_list"]
MANIFEST = "manifest.json"
CATALOG = "tracks"
TOP = "top_tracks"


def write_jsonl(path: Path, rows: Iterable[Any]) -> int:
    """Write rows as JSON lines; returns the number written."""
    count = 0
    with open(path, "wb") as handle:
        for row in rows:
            handle.write(orjson.dumps(row, option=orjson.OPT_SERIALIZE_NUMPY))
            handle.write(b"\n")
            count += 1
    return count


def read_jsonl(path: Path) -> Iterator[Any]:
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise RecctlError(
                    f"{path}:{number} is not valid JSON ({exc})",
                    "rebuild the artifacts with `recctl train` or `recctl bootstrap`",
                ) from None


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _infer_kind(path: Path) -> ArtifactKind | None:
    if path.stem == CATALOG:
        return "catalog"
    with open(path, "rb") as handle:
        first = handle.readline()
    try:
        value = orjson.loads(first)
    except orjson.JSONDecodeError:
        return None
    if isinstance(value, list):
        return "top"
    if isinstance(value, dict):
        if "user" in value and "tracks" in value:
            return "user_list"
        if "track" in value and "recommendations" in value:
            return "item_list"
    return None


@dataclass(frozen=True)
class ArtifactInfo:
    name: str
    kind: ArtifactKind
    file: str
    sha256: str | None = None
    count: int | None = None


class ArtifactSet:
    """An artifacts folder opened for reading."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise RecctlError(
                f"artifacts folder {str(self.root)!r} does not exist",
                "build one with `recctl bootstrap` (from nothing) or `recctl train LOGS --out DIR`",
            )
        manifest_path = self.root / MANIFEST
        self.manifest: dict[str, Any] = {}
        infos: dict[str, ArtifactInfo] = {}
        if manifest_path.is_file():
            self.manifest = orjson.loads(manifest_path.read_bytes())
            for name, entry in (self.manifest.get("artifacts") or {}).items():
                infos[name] = ArtifactInfo(
                    name=name, kind=entry["kind"], file=entry["file"],
                    sha256=entry.get("sha256"), count=entry.get("count"),
                )
        else:
            for path in sorted(self.root.glob("*.json")):
                kind = _infer_kind(path)
                if kind is not None:
                    infos[path.stem] = ArtifactInfo(name=path.stem, kind=kind, file=path.name)
        self.infos = infos

    def names(self, kind: ArtifactKind | None = None) -> list[str]:
        return [name for name, info in self.infos.items() if kind is None or info.kind == kind]

    def info(self, name: str) -> ArtifactInfo:
        if name not in self.infos:
            known = ", ".join(sorted(self.infos)) or "none"
            raise RecctlError(
                f"artifact {name!r} is not in {self.root} (it has: {known})",
                "name one of the artifacts listed, or retrain with `recctl train`",
            )
        return self.infos[name]

    def path(self, name: str) -> Path:
        return self.root / self.info(name).file

    def require(self, name: str, kind: ArtifactKind) -> ArtifactInfo:
        info = self.info(name)
        if info.kind != kind:
            raise RecctlError(
                f"artifact {name!r} in {self.root} is a {info.kind}, not a {kind}",
                f"name an artifact of kind {kind}: {', '.join(self.names(kind)) or 'none here'}",
            )
        if not (self.root / info.file).is_file():
            raise RecctlError(f"artifact file {self.root / info.file} is missing",
                              "rebuild the artifacts folder")
        return info

    def content_hash(self) -> str:
        """A short hash of every artifact's content: the Redis namespace of this set."""
        digest = hashlib.sha256()
        for name in sorted(self.infos):
            info = self.infos[name]
            checksum = info.sha256 or file_sha256(self.root / info.file)
            digest.update(f"{name}\0{info.kind}\0{checksum}\n".encode())
        return digest.hexdigest()[:16]

    # Readers, in the course's formats.
    def tracks(self) -> Iterator[dict[str, Any]]:
        return read_jsonl(self.path(self.require(CATALOG, "catalog").name))

    def top_tracks(self) -> list[int]:
        info = self.require(TOP, "top")
        return list(orjson.loads((self.root / info.file).read_bytes()))

    def user_lists(self, name: str) -> Iterator[tuple[int, list[int]]]:
        info = self.require(name, "user_list")
        for row in read_jsonl(self.root / info.file):
            yield int(row["user"]), list(row["tracks"])

    def item_lists(self, name: str) -> Iterator[tuple[int, list[int]]]:
        info = self.require(name, "item_list")
        for row in read_jsonl(self.root / info.file):
            yield int(row["track"]), list(row["recommendations"])


class ArtifactWriter:
    """Writes an artifacts folder atomically: into a temporary sibling, renamed on success.

    A failure leaves no folder that looks complete at `root`.
    """

    def __init__(self, root: str | Path, *, overwrite: bool = False) -> None:
        self.root = Path(root)
        self.overwrite = overwrite
        self.entries: dict[str, dict[str, Any]] = {}
        self._tmp: Path | None = None

    def __enter__(self) -> ArtifactWriter:
        if self.root.exists() and not self.overwrite:
            raise RecctlError(
                f"artifacts folder {self.root} already exists",
                "choose another --out, or remove the folder first",
            )
        self.root.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = Path(tempfile.mkdtemp(prefix=f".{self.root.name}.tmp-", dir=self.root.parent))
        return self

    @property
    def tmp(self) -> Path:
        assert self._tmp is not None, "use ArtifactWriter as a context manager"
        return self._tmp

    def _record(self, name: str, kind: ArtifactKind, count: int) -> None:
        file = f"{name}.json"
        self.entries[name] = {"kind": kind, "file": file, "count": count,
                              "sha256": file_sha256(self.tmp / file)}

    def tracks(self, rows: Iterable[dict[str, Any]]) -> None:
        self._record(CATALOG, "catalog", write_jsonl(self.tmp / f"{CATALOG}.json", rows))

    def top_tracks(self, tracks: Iterable[int]) -> None:
        values = [int(t) for t in tracks]
        (self.tmp / f"{TOP}.json").write_bytes(orjson.dumps(values) + b"\n")
        self._record(TOP, "top", len(values))

    def user_lists(self, name: str, lists: Iterable[tuple[int, Iterable[int]]]) -> None:
        rows = ({"user": int(u), "tracks": [int(t) for t in ts]} for u, ts in lists)
        self._record(name, "user_list", write_jsonl(self.tmp / f"{name}.json", rows))

    def item_lists(self, name: str, lists: Iterable[tuple[int, Iterable[int]]]) -> None:
        rows = ({"track": int(t), "recommendations": [int(r) for r in rs]} for t, rs in lists)
        self._record(name, "item_list", write_jsonl(self.tmp / f"{name}.json", rows))

    def finish(self, **manifest: Any) -> Path:
        """Write the manifest and move the folder into place."""
        body = dict(manifest)
        body["artifacts"] = self.entries
        (self.tmp / MANIFEST).write_bytes(orjson.dumps(body, option=orjson.OPT_INDENT_2
                                                       | orjson.OPT_SERIALIZE_NUMPY))
        if self.root.exists():
            shutil.rmtree(self.root)
        os.replace(self.tmp, self.root)
        self._tmp = None
        return self.root

    def __exit__(self, *exc_info: object) -> None:
        if self._tmp is not None and self._tmp.exists():
            shutil.rmtree(self._tmp, ignore_errors=True)
