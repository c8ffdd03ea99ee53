"""The DuckDB report engine: the report's per-user metrics in SQL, out of core.

DuckDB reads the JSON-lines logs in parallel into a table (held within `memory_limit`,
the rest spilled to a temporary folder), and the same figures as the in-memory engine
are computed there with the same rules:

- files: `find_log_files` (rotated files oldest first, conflicts/ never read, symlinks
  never followed); each row carries its file's index in that order.
- validation: a line the in-memory reader would reject (malformed, a value out of range,
  `experiments` not an object of arm names) marks its file; such a file is re-read by the
  in-memory reader's own line checks, which count what they skip, and only its good lines
  (copied to the spill folder) are loaded. Logs written by recctl have none.
- duplicates: a request id seen before, in file order, is dropped and counted by the
  replica of the dropped copy. Ids are compared by a 64-bit hash, as the in-memory reader
  does. The bulk load does not keep line order (keeping it took 10-20% more CPU on 20M
  events), so the order is recovered only where it is needed: the files holding an id
  seen more than once (rare: retries) are loaded again with insertion order kept, so
  that a row's rowid orders it within its file, and their unordered rows are deleted.
  When a distinct count shows no repeated id (the usual case) nothing is re-read.
- sessions: logged session ids when every line of the experiment has one, else the
  course's rule (a `last` closes a user's run of events in time order). Only per-user
  totals reach the report, so the rule reduces to counts: a user's sessions are their
  `last` events, plus one unclosed session when their final event (by timestamp, `next`
  before `last` at equal times) is not a `last`.

Why the rows are stored, not aggregated while scanning: a DuckDB statement has one sink,
and the report needs per-user sums, every latency (exact per-arm quantiles) and every
request id (the duplicate proof). Measured on 1M-4M events (loaded machine, so +-20%): the
bare scan costs ~1.1 s CPU a million lines, storing the rows ~1.9-2.3 s; aggregating per
user+session in the scan ~1.6-1.9 s, but adding a (experiments, latency) grouping set
~2.2 s, adding a request-id grouping set ~3.7 s, list() of ids and latencies per group
~2.7 s, and a second scan for the ids ~1.0 s: each complete variant costs more than
storing.

Around the load (20M events, 40 files, 2 cores; the VM's speed varies +-10% run to run, so
variants were compared in interleaved repetitions, A B A B ...):
- build_report runs the load in a background thread (DuckDB works without the GIL) while
  the main thread imports the statistics and matplotlib (~2 s of one core, before or
  after the read until then): recctl/analysis/build.py.
- the row's file is DuckDB >= 1.3's file_index, not list_position($paths, filename): the
  search cost ~2 s CPU on 20M rows (measured alone), the load ~1.5 s CPU and ~0.8 s wall
  less (means of 4 interleaved runs each). 1.1/1.2 have no file_index and keep the search.
- fsync off (the database is scratch, deleted on close): the close ~0.2 s instead of
  ~0.55 s, and no ~1 s wait for the disk at the load's commit (iowait in a CPU sampler);
  load+facts+close 26.1 s vs 27.1 s (means of 4 interleaved runs).
- the outlier threshold is the floor whenever more than half the latencies are at most
  floor / factor (the usual case): a filtered count, 0.07 s, instead of the median's
  sort of every latency, 0.75-0.83 s.
All of it, bench/report_bench.py --events 20000000 --engine duckdb, 5 interleaved pairs
with the code before (load average 1.4-2.1, our own run included): 28.9 s median wall
(28.4-30.9), 53.8 s CPU, 751-773 MB peak RSS; before 33.3 s (30.0-34.6), 55.7 s CPU,
719-746 MB. Child's split now: imports before the read 0.8-1.1 s, read+analyse
25.9-28.6 s, outputs 0.5-0.9 s (the statistics and matplotlib imported during the read).
Measured and not kept: the per-arm quantiles and the overall median in one statement
(GROUPING SETS ((arm), ())) ran out of the 500 MB limit; the users' GROUP BY next to the
quantiles on a second cursor also ran out of it; the arm as a CASE on `experiments`
instead of the join with arm_of: no difference (2.4-3.0 s either way).

Sums of floats run in DuckDB's order, not the in-memory engine's, so per-user time and
latency agree to float rounding (about 1e-15 relative), counts exactly.

DuckDB 1.x and 2.x both work: every result is fetched completely before the next query
(an unfinished result blocks the connection in 2.x), and no relation method that 2.x
dropped (fetchone) is used.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd

from recctl.analysis.facts import LogFacts
from recctl.analysis.metrics import (
    OUTLIER_FACTOR,
    OUTLIER_FLOOR_SECONDS,
    UserSummary,
    outlier_threshold,
)
from recctl.analysis.reconcile import NO_REPLICA
from recctl.analysis.sessions import SessionSummary
from recctl.errors import RecctlError
from recctl.eventlog import ReadSummary, find_log_files

# The in-memory reader's own line checks and arm order (one rule for both engines).
from recctl.eventlog.columns import natural_key
from recctl.eventlog.decode import parse_line

MEMORY_LIMIT = "500MB"  # DuckDB's own memory; the process adds Python, pandas, the result

# Typed as the reader validates them: a value that does not fit becomes NULL (and the
# line fails _VALID). DuckDB reads a line that is not JSON as a row of NULLs.
_COLUMNS = {
    "message": "VARCHAR", "timestamp": "BIGINT", "user": "BIGINT", "track": "BIGINT",
    "time": "DOUBLE", "latency": "DOUBLE",  # (recommendation: not read, null is valid)
    "experiments": "JSON", "timestamp_us": "BIGINT", "session": "VARCHAR",
    "replica": "VARCHAR", "request_id": "VARCHAR",
}
# (`experiments` is checked in Python, once per distinct value: see _arm_names.)
_VALID = ("message IN ('next', 'last') AND \"timestamp\" IS NOT NULL AND \"user\" IS NOT NULL"
          " AND track IS NOT NULL AND \"time\" BETWEEN 0 AND 1 AND latency >= 0")
# One row a line; strings that matter only for equality are kept as 64-bit hashes.
# {file}: the row's index in $paths (0-based), see _load_sql.
_LOAD = f"""
INSERT INTO raw SELECT
    $first + {{file}} AS file, $src AS src, {_VALID} AS ok,
    message = 'last' AS is_last,
    CASE WHEN timestamp_us IS NULL OR timestamp_us < 0 THEN "timestamp" * 1000
         ELSE timestamp_us END AS ts_us,
    "user" AS uid, "time" AS listened, latency,
    coalesce(experiments::VARCHAR, '{{{{}}}}') AS experiments,
    CASE WHEN session IS NULL THEN NULL ELSE hash(session) END AS session,
    replica,
    CASE WHEN request_id IS NULL THEN NULL ELSE hash(request_id) END AS rid
FROM read_json($paths, format = 'newline_delimited', ignore_errors = true{{filename}},
               columns = {{{{{', '.join(f"'{k}': '{v}'" for k, v in _COLUMNS.items())}}}}})
"""


def _load_sql() -> str:
    """_LOAD with the row's file index: DuckDB >= 1.3's file_index column (the file's
    position in $paths), else the position of its file name in $paths, searched on every
    row (~2 s of CPU on 20M events from 40 files)."""
    if _version() >= (1, 3):
        return _LOAD.format(file="file_index", filename="")
    return _LOAD.format(file="list_position($paths, filename) - 1", filename=", filename = true")


_TABLE = """
CREATE TABLE raw (file INTEGER, src TINYINT, ok BOOLEAN, is_last BOOLEAN, ts_us BIGINT,
                  uid BIGINT, listened DOUBLE, latency DOUBLE, experiments VARCHAR,
                  session UBIGINT, replica VARCHAR, rid UBIGINT)
"""


def _version() -> tuple[int, int]:
    """DuckDB's (major, minor): what its SQL and settings offer differs between them."""
    import duckdb

    major, minor = duckdb.__version__.split(".")[:2]
    return int(major), int(minor)


def _always_ordered() -> bool:
    """DuckDB 1.x keeps insertion order for every load (see _connect)."""
    return _version() < (2, 0)


def _connect(spill: Path, memory_limit: str, threads: int | None) -> Any:
    import duckdb

    # Insertion order off for the bulk load; the loads that need it set it (_ordered).
    # Not on DuckDB 1.x: its JSON reader then keeps more files in flight, each with a
    # 32 MiB buffer, and ran out of a 200 MB limit on a few small files (1.1.3).
    config: dict[str, Any] = {"memory_limit": memory_limit, "temp_directory": str(spill),
                              "preserve_insertion_order": _always_ordered()}
    if threads:
        config["threads"] = threads
    # A database file in the spill folder, not ":memory:": its tables are stored
    # compressed, so scans of 20M rows read a fraction of the bytes back.
    con = duckdb.connect(str(spill / "logs.duckdb"), config=config)
    con.execute("SET enable_progress_bar = false")  # a session option in DuckDB 1.x
    # A scratch database, deleted on close: nothing to make durable. Without fsync the
    # close took ~0.2 s instead of ~0.55 s on 20M events (DuckDB 2.0; 1.1 has no setting).
    if con.execute("SELECT count(*) FROM duckdb_settings() WHERE name = 'fsync_mode'"
                   ).fetchall()[0][0]:
        con.execute("SET fsync_mode = 'NONE'")
    return con


class DuckDBSource:
    """The logs under `paths` loaded into DuckDB (see the module docstring).

    With load=False only the connection is made: `load()` reads the logs, e.g. in a
    background thread, which `interrupt()` (from any thread) stops with a RecctlError.
    """

    name = "duckdb"

    def __init__(self, paths: Sequence[str | Path], memory_limit: str = MEMORY_LIMIT,
                 spill_dir: str | Path | None = None, threads: int | None = None,
                 load: bool = True) -> None:
        if not paths:
            raise RecctlError("no logs given", "pass a run folder from `recctl fetch` or log "
                              "files")
        self.files = find_log_files(paths)
        if not self.files:
            raise RecctlError(
                f"no event logs (data.json, data.json.N) under {', '.join(map(str, paths))}",
                "run `recctl fetch` first, or point at a replica's log folder")
        self._interrupted = False
        self._spill = Path(tempfile.mkdtemp(prefix="recctl-duckdb-", dir=spill_dir))
        try:
            self.con = _connect(self._spill, memory_limit, threads)
            self.read = ReadSummary()
            self.reordered: list[Path] = []  # files loaded again in line order (dedupe)
            self.checked: list[Path] = []  # files with rejected lines, checked line by line
        except BaseException:
            self.close()
            raise
        if load:
            self.load()

    def load(self) -> None:
        """Read the logs into the database (once)."""
        try:
            self._load()
        except BaseException:
            self.close()
            raise

    def interrupt(self) -> None:
        """Stop the statement running in another thread, and every later one."""
        import duckdb

        self._interrupted = True
        con = getattr(self, "con", None)
        if con is not None:
            # (closed meanwhile by the reading thread: nothing left to stop)
            with contextlib.suppress(duckdb.Error):
                con.interrupt()

    def close(self) -> None:
        con = getattr(self, "con", None)
        if con is not None:
            con.close()
            self.con = None
        shutil.rmtree(self._spill, ignore_errors=True)

    # -- queries: each result is fetched completely (DuckDB 2.x blocks on an open one) --

    def _run(self, sql: str, params: Any = None, fetch: str | None = None) -> Any:
        import duckdb

        if self._interrupted:
            raise RecctlError("the duckdb report engine was interrupted")
        try:
            result = self.con.execute(sql, params)
            return getattr(result, fetch)() if fetch else None
        except duckdb.Error as exc:  # out of disk for the spill folder, an unreadable file
            raise RecctlError(f"the duckdb report engine failed: {exc}",
                              f"spill folder {self._spill} (set TMPDIR to move it), or "
                              "--engine memory") from None

    def _ordered(self, sql: str, params: Any = None) -> None:
        """Run an INSERT keeping line order: its rows get rowids in file order."""
        self._run("SET preserve_insertion_order = true")
        try:
            self._run(sql, params)
        finally:
            if not _always_ordered():
                self._run("SET preserve_insertion_order = false")

    def _rows(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        return self._run(sql, params, "fetchall")

    def _arrays(self, sql: str, params: Any = None) -> dict[str, np.ndarray]:
        return self._run(sql, params, "fetchnumpy")

    # -- loading --

    def _load(self) -> None:
        self._run(_TABLE)
        # One statement for every file: DuckDB parses them in parallel, in any order.
        self._run(_load_sql(), {"first": 0, "src": 0, "paths": [str(p) for p in self.files]})
        # Lines and rejected lines per file, in one scan.
        per_file = self._rows("SELECT file, count(*), count(*) FILTER (WHERE NOT ok) FROM raw "
                              "GROUP BY file")
        counts = {f: n for f, n, _ in per_file}
        bad = {f for f, _, rejected in per_file if rejected}
        # `experiments` must be an object of arm names: checked once per distinct value.
        values = [v for (v,) in self._rows("SELECT DISTINCT experiments FROM raw WHERE ok")]
        wrong = [v for v in values if not _arm_names(v)]
        if wrong:
            bad |= {f for (f,) in self._rows(
                "SELECT DISTINCT file FROM raw WHERE ok AND list_contains($v, experiments)",
                {"v": wrong})}
        for index, path in enumerate(self.files):
            self.read.files.append(path)
            lines = int(counts.get(index, 0))
            if index in bad:
                lines = self._reload_checked(index, path)
            self.read.lines += lines
            self.read.lines_per_file[str(path)] = lines
        self._bad = sorted(bad)
        self.checked = [self.files[f] for f in self._bad]
        # A checked file's rows are its good lines, loaded again (src 1) after the others.
        checked = f"WHERE src = 1 OR file NOT IN ({', '.join(map(str, self._bad))})"
        self._run(f"CREATE VIEW ev AS SELECT rowid AS pos, * FROM raw "
                         f"{checked if bad else ''}")
        if bad:
            # Rows of ev and their `experiments` values: counted again after the checks.
            self._values = None
            stray, total = self._rows("SELECT count(*) FILTER (WHERE NOT ok), count(*) "
                                      "FROM ev")[0]
        else:  # every row is ok and in ev: the counts above hold (no scan again)
            self._values = values
            stray, total = 0, sum(counts.values())
        if stray:
            raise RecctlError(f"the duckdb engine could not read {stray} line(s) that the "
                              "in-memory reader accepts", "use --engine memory")
        if not total:
            examples = "; ".join(self.read.malformed_examples[:2]) or "none"
            raise RecctlError("the logs hold no valid events",
                              f"{self.read.malformed} malformed line(s), e.g. {examples}")
        self._drop_duplicates()

    def _reload_checked(self, index: int, path: Path) -> int:
        """A file with lines the reader rejects: check it line by line as read_events does
        (counting what is skipped), and load only its good lines. Returns its line count."""
        clean = self._spill / f"clean-{index}.json"
        count = 0
        with open(path, "rb") as source, open(clean, "wb") as target:
            for number, line in enumerate(source, start=1):
                if line.isspace():
                    continue
                count += 1
                if parse_line(line, f"{path}:{number}", self.read) is None:
                    continue  # counted in self.read, as the in-memory reader does
                target.write(line if line.endswith(b"\n") else line + b"\n")
        self._ordered(_load_sql(), {"first": index, "src": 1, "paths": [str(clean)]})
        return count

    def _drop_duplicates(self) -> None:
        """A request id read before (in file order) is dropped, counted by its replica."""
        # Usually no id repeats: a distinct count proves it for ~30% less CPU than finding
        # the repeated ids (measured on 20M events).
        if self._rows("SELECT count(DISTINCT rid) = count(rid) FROM ev")[0][0]:
            self._run("CREATE VIEW kept AS SELECT * FROM ev")
            return
        self._run("""CREATE TEMP TABLE repeated AS SELECT rid FROM ev WHERE rid IS NOT NULL
                     GROUP BY rid HAVING count(*) > 1""")
        files = [f for (f,) in self._rows(
            "SELECT DISTINCT file FROM ev SEMI JOIN repeated USING (rid) ORDER BY file")]
        if not files:
            self._run("CREATE VIEW kept AS SELECT * FROM ev")
            return
        # Line order matters only among copies of a repeated id: the files holding one are
        # loaded again keeping it (a checked file's good lines already were: _ordered).
        again = [f for f in files if f not in self._bad]
        if again:
            self._run(f"DELETE FROM raw WHERE file IN ({', '.join(map(str, again))})")
            for f in again:
                # One file a statement: `first` names it (its rows' file index).
                self._ordered(_load_sql(), {"first": f, "src": 0, "paths": [str(self.files[f])]})
        self.reordered = [self.files[f] for f in files]
        self._run("""
            CREATE TEMP TABLE dropped AS
            SELECT file, pos, replica FROM (
                SELECT file, pos, replica,
                       row_number() OVER (PARTITION BY rid ORDER BY file, pos) AS copy
                FROM ev SEMI JOIN repeated USING (rid))
            WHERE copy > 1""")
        per_replica = self._rows("SELECT coalesce(replica, ''), count(*) FROM dropped "
                                 "GROUP BY 1 ORDER BY 1")
        for replica, n in per_replica:
            self.read.duplicates += int(n)
            self.read.duplicates_per_replica[replica] = int(n)
        self._run("CREATE VIEW kept AS SELECT * FROM ev ANTI JOIN dropped USING (file, pos)")

    # -- the report's facts --

    def _experiment_values(self) -> list[str]:
        """The distinct `experiments` values of ev (known from the load when no file was
        checked: then ev is every row and every row is ok)."""
        if self._values is None:
            self._values = [v for (v,) in self._rows("SELECT DISTINCT experiments FROM ev")]
        return self._values

    def experiment_names(self) -> list[str]:
        names: set[str] = set()
        for value in self._experiment_values():
            names.update(_arm_names(value) or {})
        return sorted(names)

    def facts(self, experiment: str) -> LogFacts:
        arms = self._arm_table(experiment)
        # Rows per (experiments value, replica): totals, rows without an arm, whether
        # sessions are logged and lines per replica, from one scan without the arm join.
        groups = self._rows("SELECT experiments, replica, count(*), "
                            "bool_and(session IS NOT NULL) FROM kept GROUP BY ALL")
        rows = without_arm = 0
        logged = None
        per_replica: dict[str, int] = {}
        for value, replica, n, all_logged in groups:
            rows += int(n)
            if self._arm_of[value] is None:
                without_arm += int(n)
            else:
                logged = bool(all_logged) if logged is None else logged and bool(all_logged)
            replica = NO_REPLICA if replica is None else replica
            per_replica[replica] = per_replica.get(replica, 0) + int(n)
        logged = bool(logged)
        per_replica = dict(sorted(per_replica.items()))
        users, several, sessions, unclosed = self._users(arms, logged)
        summary = UserSummary(
            sessions=SessionSummary(method="logged" if logged else "inferred",
                                    sessions=sessions, unclosed=unclosed),
            events_without_arm=without_arm, users_in_several_arms=several)
        return LogFacts(users=users, user_summary=summary, arms=arms,
                        latency=self._latency(arms), latency_outliers=self._outliers(arms),
                        per_replica=per_replica, rows=rows, engine="duckdb")

    def _arm_table(self, experiment: str) -> list[str]:
        """The experiment's arms (natural order); view x: kept rows with their arm code."""
        arm_of = {v: (_arm_names(v) or {}).get(experiment) for v in self._experiment_values()}
        self._arm_of = arm_of
        arms = sorted({a for a in arm_of.values() if a is not None}, key=natural_key)
        code = {a: i for i, a in enumerate(arms)}
        self._run("CREATE OR REPLACE TEMP TABLE arm_of (experiments VARCHAR, arm INTEGER)")
        pairs = [(v, code[a]) for v, a in arm_of.items() if a is not None]
        if pairs:
            self.con.executemany("INSERT INTO arm_of VALUES (?, ?)", pairs)
        self._run("CREATE OR REPLACE TEMP VIEW x AS "
                         "SELECT * FROM kept LEFT JOIN arm_of USING (experiments)")
        return arms

    def _users(self, arms: list[str], logged: bool) -> tuple[pd.DataFrame, int, int, int]:
        """metrics.user_metrics' frame; users in several arms, sessions, unclosed ones."""
        if logged:  # a session is (user, logged id): closed when any of its events is `last`
            sql = """
                WITH s AS (SELECT uid, min(arm) AS amin, max(arm) AS amax, sum(listened) AS t,
                                  count(*) AS n, sum(latency) AS l, bool_or(is_last) AS closed
                           FROM x WHERE arm IS NOT NULL GROUP BY uid, session)
                SELECT uid, min(amin) AS amin, max(amax) AS amax, sum(t) AS time,
                       count(*) AS sessions, sum(n) AS tracks, sum(l) AS latency_sum,
                       count(*) FILTER (WHERE NOT closed) AS unclosed
                FROM s GROUP BY uid ORDER BY uid"""
        else:  # the course's rule, as counts (module docstring)
            sql = """
                WITH u AS (SELECT uid, min(arm) AS amin, max(arm) AS amax,
                                  sum(listened) AS time, count(*) AS tracks,
                                  sum(latency) AS latency_sum,
                                  count(*) FILTER (WHERE is_last) AS lasts,
                                  max(ts_us) AS final, max(ts_us) FILTER (WHERE is_last) AS closing
                           FROM x WHERE arm IS NOT NULL GROUP BY uid)
                SELECT uid, amin, amax, time, tracks, latency_sum,
                       CAST(closing IS NULL OR closing < final AS BIGINT) AS unclosed,
                       lasts + CAST(closing IS NULL OR closing < final AS BIGINT) AS sessions
                FROM u ORDER BY uid"""
        got = self._arrays(sql)
        sessions_all = int(got["sessions"].sum())
        unclosed_all = int(got["unclosed"].sum())
        several = got["amin"] != got["amax"]
        keep = ~several
        tracks = got["tracks"][keep].astype(np.int64)
        sessions = got["sessions"][keep].astype(np.int64)
        time = got["time"][keep].astype(np.float64)
        users = pd.DataFrame({
            "arm": pd.Categorical.from_codes(got["amin"][keep].astype(np.int64),
                                             categories=arms),
            "time": time, "sessions": sessions, "tracks": tracks,
            "unclosed_sessions": got["unclosed"][keep].astype(np.int64),
            "mean_request_latency": got["latency_sum"][keep].astype(np.float64) / tracks,
            "mean_tracks_per_session": tracks / sessions,
            "mean_time_per_session": time / sessions,
        }, index=pd.Index(got["uid"][keep].astype(np.int64), name="user"))
        return users, int(several.sum()), sessions_all, unclosed_all

    def _latency(self, arms: list[str]) -> pd.DataFrame:
        """Request latency p50/p95/p99 per arm, ms (metrics.latency_percentiles)."""
        rows = self._rows("""
            SELECT arm, quantile_cont(latency * 1000, [0.5, 0.95, 0.99])
            FROM x WHERE arm IS NOT NULL GROUP BY arm ORDER BY arm""")
        table = pd.DataFrame([q for _, q in rows],
                             columns=["latency_p50_ms", "latency_p95_ms", "latency_p99_ms"],
                             index=pd.CategoricalIndex([arms[a] for a, _ in rows],
                                                       categories=arms, name="arm"))
        return table

    def _outliers(self, arms: list[str]) -> dict[str, Any]:
        """Requests far slower than the median (metrics.latency_outliers)."""
        # The threshold is the floor for any median up to floor / factor, and the median
        # is at most that when more than half the requests are: a count tells, where the
        # median sorts every latency (~0.8 s on 20M events). Else the median is computed.
        low = OUTLIER_FLOOR_SECONDS / OUTLIER_FACTOR
        total, fast, top = self._rows("SELECT count(*), count(*) FILTER (WHERE latency <= $low),"
                                      " max(latency) FROM kept", {"low": low})[0]
        if not total:
            return {}
        if fast > total // 2 and outlier_threshold(low) == OUTLIER_FLOOR_SECONDS:
            threshold = OUTLIER_FLOOR_SECONDS  # (the middle value(s) at most `low`)
        else:
            threshold = outlier_threshold(float(self._rows("SELECT median(latency) FROM kept")
                                                [0][0]))
        per_arm = self._rows("SELECT arm, count(*) AS n FROM x WHERE latency > $t "
                             "GROUP BY arm ORDER BY n DESC, arm", {"t": threshold})
        if not per_arm:
            return {}
        return {"threshold_seconds": threshold, "requests": int(sum(n for _, n in per_arm)),
                "max_seconds": float(top),
                "per_arm": {"(none)" if a is None else arms[a]: int(n) for a, n in per_arm}}


def _arm_names(value: str) -> dict[str, str] | None:
    """`experiments` as {experiment: arm}; None when it is not an object of arm names."""
    try:
        parsed = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(parsed, dict) or not all(isinstance(v, str) for v in parsed.values()):
        return None
    return parsed
