"""Check: the DuckDB engine's first-kept de-duplication on a file large enough to be loaded
out of line order (not a timed test).

    python bench/duckdb_dedupe_check.py [--cache DIR]

DuckDB's bulk load does not keep line order, and only a file of many MB is parsed in
several pieces (so the unit tests' small files cannot show a wrong order). This takes
replica-0's ~127 MB log of report_bench's 1M-event set (generated once into the cache),
adds retried requests logged twice (copies of lines from the whole file appended at its
end, and copies of late lines near its top, each with another latency), and checks that
both engines drop the same copies: equal duplicate counts and equal per-user latency
sums. Exits 1 when they differ.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import orjson
from report_bench import ensure_logs


def with_retries(source: Path, target: Path) -> int:
    """`source` with retried requests added; returns how many copies were added."""
    lines = source.read_bytes().splitlines(keepends=True)
    n = len(lines)

    def copy(i: int, extra: float) -> bytes:
        event = orjson.loads(lines[i])
        return orjson.dumps({**event, "latency": event["latency"] + extra}) + b"\n"

    at_end = [copy(i, 5.0) for i in range(0, n, 500)]  # the originals come first: dropped
    near_top = [copy(i, 7.0) for i in range(n - 1, n // 2, -997)]  # first in file: kept
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "wb") as handle:
        handle.writelines(lines[:1000] + near_top + lines[1000:] + at_end)
    return len(at_end) + len(near_top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path,
                        default=Path(tempfile.gettempdir()) / "recctl-report-bench")
    args = parser.parse_args()
    from recctl.analysis.engine import MemorySource
    from recctl.analysis.engine_duckdb import DuckDBSource

    source = ensure_logs(args.cache, 1_000_000) / "replica-0" / "data.json"
    with tempfile.TemporaryDirectory(prefix="recctl-dedupe-check-") as folder:
        log = Path(folder) / "replica-0" / "data.json"
        added = with_retries(source, log)
        memory = MemorySource([folder])
        started = time.perf_counter()
        duck = DuckDBSource([folder])
        try:
            mem_facts, duck_facts = memory.facts("EXP"), duck.facts("EXP")
            reordered = duck.reordered
        finally:
            duck.close()
        print(f"{added} retried copies; duplicates: memory {memory.read.duplicates}, duckdb "
              f"{duck.read.duplicates}; duckdb re-read in order: {len(reordered)} file(s); "
              f"duckdb {time.perf_counter() - started:.1f} s")

    def latency_sums(users: object) -> object:
        return (users["mean_request_latency"] * users["tracks"]).sort_index()  # type: ignore[index]

    ours, theirs = latency_sums(duck_facts.users), latency_sums(mem_facts.users)
    differ = int((~np.isclose(ours, theirs, rtol=1e-12)).sum()) if ours.index.equals(
        theirs.index) else -1
    same = (duck.read.duplicates == memory.read.duplicates == added
            and duck.read.duplicates_per_replica == memory.read.duplicates_per_replica
            and differ == 0)
    print(f"users whose latency sum differs: {differ}; {'OK' if same else 'MISMATCH'}")
    sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()
