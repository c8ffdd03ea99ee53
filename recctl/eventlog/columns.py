"""Validated events turned into numpy columns, chunk by chunk, and de-duplicated.

A line whose `request_id` was already read is a retried request logged twice: it is
dropped (the first occurrence in file order is kept) and counted in the summary. The ids
are compared as 64-bit hashes (8 bytes a row instead of a string a row); two different
ids sharing a hash, odds ~1e-8 for a million requests, would drop one real line, which the
report's reconciliation (acknowledged vs read) then flags.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import orjson
import pandas as pd

from recctl.eventlog.decode import NO_ID, Event, check_experiments
from recctl.eventlog.schema import MESSAGES
from recctl.eventlog.summary import ReadSummary


class _Codes:
    """Values factorised chunk by chunk into one code space (missing -> -1).

    Keeps memory at 4 bytes a row instead of one Python object a row.
    """

    def __init__(self, rows_before: int = 0) -> None:
        self.categories: dict[Any, int] = {}
        self.parts: list[np.ndarray] = [np.full(rows_before, -1, dtype=np.int32)]

    def add_codes(self, codes: np.ndarray, uniques: Sequence[Any]) -> None:
        lookup = [-1 if u is None else self.categories.setdefault(u, len(self.categories))
                  for u in uniques]
        # A trailing -1 so that code -1 (missing) stays missing.
        self.parts.append(np.array(lookup + [-1], dtype=np.int32)[codes])

    def pad(self, rows: int) -> None:
        self.parts.append(np.full(rows, -1, dtype=np.int32))

    def codes(self) -> np.ndarray:
        joined = np.concatenate(self.parts)
        self.parts = [joined]
        return joined

    def keep(self, mask: np.ndarray) -> None:
        self.parts = [self.codes()[mask]]

    def categorical(self, natural_order: bool = False) -> pd.Categorical:
        codes, self.parts = np.concatenate(self.parts), []
        names = [str(name) for name in self.categories]
        result = pd.Categorical.from_codes(codes, categories=names)
        if natural_order:
            result = result.reorder_categories(sorted(names, key=natural_key))
        return result


def natural_key(name: str) -> tuple[Any, ...]:
    # C, T1, T2, ..., T10 rather than C, T1, T10, T2.
    match = re.match(r"^([A-Za-z]*)(\d+)$", name)
    if match:
        return (name != "C", match.group(1), int(match.group(2)), name)
    return (name != "C", name, -1, name)


def _factorize(values: list[Any]) -> tuple[np.ndarray, list[Any]]:
    codes, uniques = pd.factorize(np.array(values, dtype=object))
    return codes, list(uniques)


class Columns:
    """Column builders that chunks of validated events are appended to."""

    NUMERIC = {"timestamp": np.int64, "timestamp_us": np.int64, "user": np.int64,
               "track": np.int64, "time": np.float64, "latency": np.float64,
               "recommendation": np.int64}

    def __init__(self) -> None:
        self.rows = 0
        self.numeric: dict[str, list[np.ndarray]] = {name: [] for name in self.NUMERIC}
        self.is_last: list[np.ndarray] = []
        self.session = _Codes()
        self.replica = _Codes()
        self.experiments: dict[str, _Codes] = {}
        self.id_hashes: list[np.ndarray] = []

    def add(self, events: list[Event]) -> None:
        """Append a chunk; raises ValueError (nothing appended) if an extra has a bad shape."""
        exp_codes, exp_raw = _factorize([bytes(e.experiments) for e in events])
        exp_objects = [orjson.loads(raw) for raw in exp_raw]
        for obj in exp_objects:
            check_experiments(obj)
        session_codes, session_ids = _factorize([e.session for e in events])
        replica_codes, replica_ids = _factorize([e.replica for e in events])

        ts = np.array([e.timestamp for e in events], dtype=np.int64)
        ts_us = np.array([e.timestamp_us for e in events], dtype=np.int64)
        rec = [e.recommendation for e in events]
        chunk = {
            "timestamp": ts,
            "timestamp_us": np.where(ts_us < 0, ts * 1000, ts_us),
            "user": np.array([e.user for e in events], dtype=np.int64),
            "track": np.array([e.track for e in events], dtype=np.int64),
            "time": np.array([e.time for e in events], dtype=np.float64),
            "latency": np.array([e.latency for e in events], dtype=np.float64),
            "recommendation": np.array([-1 if r is None else r for r in rec], dtype=np.int64),
        }
        for name, values in chunk.items():
            self.numeric[name].append(values)
        self.is_last.append(np.array([e.message == "last" for e in events], dtype=np.int8))
        self.id_hashes.append(np.fromiter(map(hash, [e.request_id for e in events]),
                                          dtype=np.int64, count=len(events)))
        self.session.add_codes(session_codes, [None if v is None else str(v) for v in session_ids])
        self.replica.add_codes(replica_codes, [None if v is None else str(v) for v in replica_ids])
        names = {name for obj in exp_objects for name in obj}
        for name in sorted(names - self.experiments.keys()):
            self.experiments[name] = _Codes(rows_before=self.rows)
        for name, builder in self.experiments.items():
            if name in names:
                builder.add_codes(exp_codes, [obj.get(name) for obj in exp_objects])
            else:
                builder.pad(len(events))
        self.rows += len(events)

    def drop_duplicates(self, summary: ReadSummary) -> np.ndarray | None:
        """Rows to keep (None: all): a row whose request id came earlier is dropped."""
        hashes = np.concatenate(self.id_hashes) if self.id_hashes else np.empty(0, np.int64)
        self.id_hashes = []
        has_id = hashes != NO_ID
        ids = hashes[has_id]
        ordered = np.sort(ids)  # a sort (~20 ms a million) rules out duplicates fast
        if not (ordered[1:] == ordered[:-1]).any():
            return None
        repeated = np.zeros(self.rows, dtype=bool)
        repeated[has_id] = pd.Series(ids).duplicated(keep="first").to_numpy()
        names = [str(name) for name in self.replica.categories]
        replica_codes = self.replica.codes()[repeated]
        for code, count in zip(*np.unique(replica_codes, return_counts=True), strict=True):
            summary.duplicate(names[code] if code >= 0 else None, int(count))
        keep = ~repeated
        for builder in (self.session, self.replica, *self.experiments.values()):
            builder.keep(keep)
        self.is_last = [np.concatenate(self.is_last)[keep]] if self.is_last else []
        for name in self.NUMERIC:
            self.numeric[name] = [np.concatenate(self.numeric[name])[keep]]
        self.rows = int(keep.sum())
        return keep

    def frame(self, summary: ReadSummary | None = None) -> pd.DataFrame:
        if summary is not None:
            self.drop_duplicates(summary)

        # Join one column at a time and drop its parts at once: the peak stays near one
        # copy of the data, not two. copy=False keeps pandas from consolidating (a third).
        def joined(name: str) -> np.ndarray:
            parts = self.numeric.pop(name)
            return np.concatenate(parts) if parts else np.empty(0, dtype=self.NUMERIC[name])

        is_last = np.concatenate(self.is_last) if self.is_last else np.empty(0, np.int8)
        self.is_last = []
        data: dict[str, Any] = {
            "message": pd.Categorical.from_codes(is_last, categories=list(MESSAGES)),
            **{name: joined(name) for name in list(self.NUMERIC)},
            "session": self.session.categorical(),
            "replica": self.replica.categorical(),
            "file_order": np.arange(self.rows, dtype=np.int64),
        }
        for name in sorted(self.experiments):
            data[f"exp:{name}"] = self.experiments[name].categorical(natural_order=True)
        return pd.DataFrame(data, copy=False)

