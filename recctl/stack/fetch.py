"""log2local: copy every replica's event log into `cache/<experiment>/<run-id>/<replica>/`.

Idempotent and never destructive: a file already fetched is kept when the replica's copy
is the same or only longer (an appended log replaces it, nothing lost); a copy that
differs otherwise (the log rotated between fetches) is kept aside under
`conflicts/<stamp>/`, never overwriting what was collected.

Each replica's log-writer sidecar (`data.json.stats`) is copied too (the newest replaces
the older: it only holds counters); its `lines_dropped` (lines lost to rotation beyond
`log_backups`) goes into the manifest and is warned about. The manifest also carries the
simulation's summary (acknowledged requests, per replica too) when the run folder has
one, and the experiment file's `report:` block, so that a standalone `recctl report` on
the folder knows the settings.

A replica whose logs cannot be reached (its Ray node lost, its log folder gone) does not
stop the fetch: the others are collected, the replica is marked `unreachable` in the
manifest, and `recctl fetch` exits 1 after saving what it could.
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
from recctl.errors import RecctlError
from recctl.eventlog import LOG_STATS, SET_ASIDE, is_log_name, read_stats
from recctl.paths import cache_root
from recctl.stack.base import RunState, Runtime
from recctl.stack.runs import EXPERIMENT_SNAPSHOT

MANIFEST = "manifest.json"


@dataclass
class FetchResult:
    dest: Path
    copied: list[str] = field(default_factory=list)     # new or grown files
    unchanged: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    lines: int = 0
    lines_dropped: dict[str, int] = field(default_factory=dict)  # replica -> lines lost
    unreachable: dict[str, str] = field(default_factory=dict)  # replica -> why not fetched

    def warnings(self) -> list[str]:
        """What the user must hear about: events lost to rotation, replicas not reached."""
        lost = [f"{replica}: {count:,} logged line(s) were lost to log rotation (more than "
                f"stack.log_backups files); raise log_max_bytes or log_backups"
                for replica, count in self.lines_dropped.items() if count]
        return lost + [f"{replica}: its logs could not be fetched ({why}); what an earlier "
                       "fetch collected is kept, and a report marks the verdict invalid "
                       "unless the acknowledged requests are all read"
                       for replica, why in self.unreachable.items()]


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


def _cache_error(what: str, error: OSError) -> RecctlError:
    return RecctlError(
        f"{what}: {error.strerror or error}",
        "fix that (free space, a file in the way; or set RECCTL_HOME to another folder) "
        "and run `recctl fetch` again: the logs fetched before are kept, and the replicas "
        "keep theirs until `recctl down`",
    )


def fetch_run(state: RunState, runtime: Runtime, root: Path | None = None,
              extra_manifest: dict[str, Any] | None = None) -> FetchResult:
    dest = (root or cache_root()) / state.experiment / state.run_id
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as error:  # e.g. a file named like one of its folders
        raise _cache_error(f"cannot create {dest}", error) from error
    result = FetchResult(dest=dest)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    replicas: dict[str, Any] = {}
    for replica in state.replicas:
        target = dest / replica.name
        target.mkdir(exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".fetch-", dir=dest) as tmp:
            staging = Path(tmp)
            try:
                runtime.fetch_replica_logs(state, replica, staging)
            except RecctlError as error:  # e.g. its node is gone: the others still count
                result.unreachable[replica.name] = error.message
            except OSError as error:  # e.g. a full disk under the cache
                raise _cache_error(f"copying {replica.name}'s logs into {dest} failed",
                                   error) from error
            fetched = [] if replica.name in result.unreachable else sorted(staging.iterdir())
            for new in fetched:
                old = target / new.name
                key = f"{replica.name}/{new.name}"
                if new.name == LOG_STATS:
                    os.replace(new, old)  # counters: the newest is the truth
                    continue
                if not is_log_name(new.name):
                    continue  # e.g. the sidecar's temporary file
                if not old.exists():
                    os.replace(new, old)
                    result.copied.append(key)
                elif file_sha256(old) == file_sha256(new):
                    result.unchanged.append(key)
                elif _is_prefix(old, new):
                    os.replace(new, old)
                    result.copied.append(key)
                else:
                    aside = dest / SET_ASIDE / stamp / replica.name
                    aside.mkdir(parents=True, exist_ok=True)
                    shutil.move(str(new), aside / new.name)
                    result.conflicts.append(key)
        files = {}
        for path in sorted(target.iterdir()):
            if path.is_file() and not path.is_symlink() and is_log_name(path.name):
                lines = _count_lines(path)
                result.lines += lines
                files[path.name] = {"lines": lines, "bytes": path.stat().st_size,
                                    "sha256": file_sha256(path)}
        stats = read_stats(target / LOG_STATS) or {}
        dropped = int(stats.get("lines_dropped", 0))
        result.lines_dropped[replica.name] = dropped
        replicas[replica.name] = {"files": files, "lines": sum(f["lines"] for f in files.values()),
                                  "lines_dropped": dropped,
                                  "lines_written": stats.get("lines_written")}
        if replica.name in result.unreachable:
            replicas[replica.name]["unreachable"] = result.unreachable[replica.name]
    experiment_copy = dest / "experiment.yml"
    snapshot = state.path / EXPERIMENT_SNAPSHOT  # as served (runs from before: the file now)
    source = snapshot if snapshot.is_file() else Path(state.experiment_file)
    if source.is_file() and not experiment_copy.exists():
        shutil.copyfile(source, experiment_copy)
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
    simulation = _saved_simulation(state)
    if simulation is not None:  # the latest word: a finished run clears an earlier mark
        manifest["simulation"] = simulation
        manifest["interrupted"] = bool(simulation.get("interrupted"))
    report = _report_block(state)
    if report is not None:
        manifest["report"] = report
    if extra_manifest:
        manifest.update({k: v for k, v in extra_manifest.items()
                         if v is not None or k not in manifest})
    manifest_path.write_text(json.dumps(manifest, indent=2))
    return result


def _saved_simulation(state: RunState) -> dict[str, Any] | None:
    """The summary `recctl simulate` left in the run folder (simulation.json), if any."""
    try:
        value = json.loads((state.path / "simulation.json").read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _report_block(state: RunState) -> dict[str, Any] | None:
    """The experiment file's `report:` block as JSON (the report's defaults), if readable.

    `pre_period` is stored resolved (report.pre_period, else the data folder's bootstrap
    logs), so that a standalone report on the fetched folder finds CUPED's covariate."""
    from recctl.spec import parse_experiment

    try:
        spec = parse_experiment(Path(state.experiment_file)).spec
    except (RecctlError, OSError):
        return None
    block = spec.report.model_dump(mode="json")
    pre_period = spec.pre_period_paths
    block["pre_period"] = str(pre_period[0].resolve()) if pre_period else None
    return block
