"""log2local: copy every replica's event log into `cache/<experiment>/<run-id>/<replica>/`.

Idempotent and never destructive: a file already fetched is kept when the replica's copy
is the same or only longer (an appended log replaces it, nothing lost); a copy that
differs otherwise (the log rotated between fetches) is kept aside under
`conflicts/<stamp>/`, never overwriting what was collected.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recctl import __version__
from recctl.artifacts import file_sha256
from recctl.paths import cache_root
from recctl.stack.base import RunState, Runtime

MANIFEST = "manifest.json"


@dataclass
class FetchResult:
    dest: Path
    copied: list[str] = field(default_factory=list)     # new or grown files
    unchanged: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    lines: int = 0


def _is_prefix(old: Path, new: Path) -> bool:
    if old.stat().st_size > new.stat().st_size:
        return False
    with open(old, "rb") as a, open(new, "rb") as b:
        while block := a.read(1 << 20):
            if b.read(len(block)) != block:
                return False
    return True


def _count_lines(path: Path) -> int:
    with open(path, "rb") as handle:
        return sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b""))


def fetch_run(state: RunState, runtime: Runtime, root: Path | None = None,
              extra_manifest: dict[str, Any] | None = None) -> FetchResult:
    dest = (root or cache_root()) / state.experiment / state.run_id
    dest.mkdir(parents=True, exist_ok=True)
    result = FetchResult(dest=dest)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    replicas: dict[str, Any] = {}
    for replica in state.replicas:
        target = dest / replica.name
        target.mkdir(exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".fetch-", dir=dest) as tmp:
            staging = Path(tmp)
            runtime.fetch_replica_logs(state, replica, staging)
            for new in sorted(staging.iterdir()):
                old = target / new.name
                key = f"{replica.name}/{new.name}"
                if not old.exists():
                    os.replace(new, old)
                    result.copied.append(key)
                elif file_sha256(old) == file_sha256(new):
                    result.unchanged.append(key)
                elif _is_prefix(old, new):
                    os.replace(new, old)
                    result.copied.append(key)
                else:
                    aside = dest / "conflicts" / stamp / replica.name
                    aside.mkdir(parents=True, exist_ok=True)
                    shutil.move(str(new), aside / new.name)
                    result.conflicts.append(key)
        files = {}
        for path in sorted(target.iterdir()):
            if path.is_file():
                lines = _count_lines(path)
                result.lines += lines
                files[path.name] = {"lines": lines, "bytes": path.stat().st_size,
                                    "sha256": file_sha256(path)}
        replicas[replica.name] = {"files": files, "lines": sum(f["lines"] for f in files.values())}
    experiment_copy = dest / "experiment.yml"
    if Path(state.experiment_file).is_file() and not experiment_copy.exists():
        shutil.copyfile(state.experiment_file, experiment_copy)
    manifest_path = dest / MANIFEST
    manifest: dict[str, Any] = {}
    if manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text())
    manifest.update({
        "experiment": state.experiment,
        "run_id": state.run_id,
        "runtime": state.runtime,
        "experiment_file": state.experiment_file,
        "config_hash": state.config_hash,
        "seed": state.seed,
        "replicas": replicas,
        "lines": result.lines,
        "fetched_at": dt.datetime.now(dt.timezone.utc).isoformat(),
        "versions": {"recctl": __version__, "python": platform.python_version()},
    })
    if result.conflicts:
        manifest.setdefault("conflicts", []).extend(result.conflicts)
    if extra_manifest:
        manifest.update(extra_manifest)
    manifest_path.write_text(json.dumps(manifest, indent=2))
    return result
