"""What reading the logs found, for the report's and training's accounting."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class ReadSummary:
    """What reading the logs found: files, lines read (in total and per file), lines skipped.

    `duplicates` counts lines dropped because their `request_id` was already read (a
    retried request logged twice; the first occurrence in file order is kept), by the
    replica that logged the dropped copy in `duplicates_per_replica`.
    """

    files: list[Path] = field(default_factory=list)
    lines: int = 0
    malformed: int = 0
    malformed_examples: list[str] = field(default_factory=list)
    lines_per_file: dict[str, int] = field(default_factory=dict)
    # Lines left out for a value outside its range (time not in [0, 1], negative latency,
    # an id beyond int64), by field; not counted in `malformed`.
    out_of_range: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0
    duplicates_per_replica: dict[str, int] = field(default_factory=dict)

    def duplicate(self, replica: object, count: int = 1) -> None:
        self.duplicates += count
        key = "" if replica is None else str(replica)
        self.duplicates_per_replica[key] = self.duplicates_per_replica.get(key, 0) + count

    def skip(self, where: str, reason: object) -> None:
        self.malformed += 1
        if len(self.malformed_examples) < 5:
            self.malformed_examples.append(f"{where}: {reason}")

    def exclude(self, field_name: str) -> None:
        self.out_of_range[field_name] = self.out_of_range.get(field_name, 0) + 1
