"""Reconciliation: was every acknowledged request read exactly once? And is the verdict valid?

Per replica and in total, from the fetch manifest (what the simulator saw acknowledged,
what was fetched, what rotation deleted) and from the reader (what was read after dropping
duplicate request ids). The verdict is invalid, with a reason each, when:

- more episodes failed than `simulation.max_failed_fraction` allows,
- the acknowledged requests are not the lines read (after dropping duplicates),
- log rotation deleted lines (more than `stack.log_backups` files),
- the run was interrupted, the simulation stopped on an error (a lost node), or it was
  killed outright (simulate marks the run unfinished before it starts),
- a replica's logs could not be fetched and the acknowledgements do not show that every
  request was read anyway.

Per-replica counts may differ while the totals agree (a replica logged a request, died
before answering, and another one answered the retry: the first copy is the one kept);
only the totals decide.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from recctl.eventlog import ReadSummary
from recctl.failures import DEFAULT_MAX_FAILED_FRACTION, failed_too_many

NO_REPLICA = "(none)"  # lines that name no replica (e.g. the course's logs)


@dataclass
class Counts:
    """One replica's (or the total's) requests at each stage; None: not known."""

    replica: str
    acknowledged: int | None = None  # answered 2xx, as the simulator counted them
    logged: int | None = None        # lines fetched from the replica
    lost_to_rotation: int = 0        # lines deleted by rotation before the fetch
    read: int = 0                    # lines read, duplicates dropped
    duplicates: int = 0              # lines dropped: a request id already read


@dataclass
class Reconciliation:
    replicas: list[Counts] = field(default_factory=list)
    total: Counts = field(default_factory=lambda: Counts("total"))
    malformed: int = 0
    interrupted: bool = False
    stopped_by: str | None = None  # why the simulation did not finish, when known
    unreachable: dict[str, str] = field(default_factory=dict)  # replica -> why not fetched
    failed_episodes: int | None = None
    episodes: int | None = None
    max_failed_fraction: float = DEFAULT_MAX_FAILED_FRACTION

    @property
    def balanced(self) -> bool | None:
        """acknowledged == read in total (None when the acknowledgements are unknown)."""
        if self.total.acknowledged is None:
            return None
        return self.total.acknowledged == self.total.read

    def as_dict(self) -> dict[str, Any]:
        return {"replicas": [asdict(c) for c in self.replicas], "total": asdict(self.total),
                "malformed": self.malformed, "interrupted": self.interrupted,
                "stopped_by": self.stopped_by, "unreachable": self.unreachable,
                "failed_episodes": self.failed_episodes, "episodes": self.episodes,
                "max_failed_fraction": self.max_failed_fraction, "balanced": self.balanced}


def lines_per_replica(events: pd.DataFrame) -> dict[str, int]:
    """Lines read per replica (duplicates dropped), from read_events' frame."""
    if "replica" not in events:
        return {}
    counts = events["replica"].value_counts(dropna=False)  # categorical: no object copy
    return {NO_REPLICA if pd.isna(name) else str(name): int(n)
            for name, n in counts.items() if n}


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def reconcile(manifest: dict[str, Any] | None, read: ReadSummary,
              read_per: Mapping[str, int], rows: int) -> Reconciliation:
    """The counts per replica and in total (see the module docstring).

    `read_per`: lines read per replica (NO_REPLICA for lines naming none) and `rows`: lines
    read in total, both after dropping duplicates (whichever engine read them).
    """
    manifest = manifest or {}
    simulation = _mapping(manifest.get("simulation"))
    fetched = _mapping(manifest.get("replicas"))
    acked = _mapping(simulation.get("acked_by_replica"))
    duplicates = {(k or NO_REPLICA): v for k, v in read.duplicates_per_replica.items()}
    names = sorted(set(fetched) | set(acked) | set(read_per) | set(duplicates))
    counts = []
    for name in names:
        info = _mapping(fetched.get(name))
        counts.append(Counts(
            replica=name,
            acknowledged=int(acked[name]) if name in acked else (0 if acked else None),
            logged=int(info["lines"]) if "lines" in info else None,
            lost_to_rotation=int(info.get("lines_dropped") or 0),
            read=int(read_per.get(name, 0)), duplicates=int(duplicates.get(name, 0))))
    total_acked = simulation.get("acked_requests")
    total = Counts(
        "total", acknowledged=int(total_acked) if total_acked is not None else None,
        logged=int(manifest["lines"]) if "lines" in manifest else None,
        lost_to_rotation=sum(r.lost_to_rotation for r in counts), read=rows,
        duplicates=read.duplicates)
    fraction = simulation.get("max_failed_fraction")
    return Reconciliation(
        replicas=counts, total=total, malformed=read.malformed,
        interrupted=bool(manifest.get("interrupted") or simulation.get("interrupted")),
        stopped_by=str(simulation["error"]) if simulation.get("error") else None,
        unreachable={name: str(info["unreachable"]) for name, info in fetched.items()
                     if isinstance(info, dict) and info.get("unreachable")},
        failed_episodes=simulation.get("failed_episodes"), episodes=simulation.get("episodes"),
        max_failed_fraction=DEFAULT_MAX_FAILED_FRACTION if fraction is None else float(fraction))


def invalid_reasons(rec: Reconciliation) -> list[str]:
    """Why the verdict cannot be trusted; empty when nothing is wrong."""
    reasons = []
    if rec.stopped_by:
        reasons.append(f"the simulation did not finish: {rec.stopped_by}")
    elif rec.interrupted:
        reasons.append("the run was interrupted: the simulation did not finish")
    if rec.unreachable and rec.balanced is not True:
        names = ", ".join(sorted(rec.unreachable))
        reasons.append(f"the logs of {names} could not be fetched, so events may be missing "
                       f"({next(iter(rec.unreachable.values()))})")
    if rec.failed_episodes is not None and rec.episodes and failed_too_many(
            rec.failed_episodes, rec.episodes, rec.max_failed_fraction):
        reasons.append(f"{rec.failed_episodes:,} of {rec.episodes:,} episodes failed "
                       f"({rec.failed_episodes / rec.episodes:.1%}), above the allowed "
                       f"{rec.max_failed_fraction:.1%} (simulation.max_failed_fraction)")
    total = rec.total
    if total.lost_to_rotation:
        reasons.append(f"{total.lost_to_rotation:,} logged line(s) were lost to log rotation "
                       "(raise stack.log_max_bytes or stack.log_backups)")
    if rec.balanced is False:
        reasons.append(f"{total.acknowledged:,} requests were acknowledged but {total.read:,} "
                       f"lines were read (after dropping {total.duplicates:,} duplicate(s)): "
                       "events were lost or counted twice")
    return reasons
