"""The DuckDB report engine gives the in-memory engine's figures on the same logs.

Both engines read the same files; per-user counts, arms, sessions, lines per replica and
the reader's accounting must be equal, and sums of floats (time, latency) equal to 1e-12
relative: SQL adds them in another order than pandas, so the last bits may differ (the
measured difference is ~1e-15).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import orjson
import pandas as pd
import pytest

pytest.importorskip("duckdb", reason="the duckdb extra is not installed: pip install "
                                     "'recctl[duckdb]'")

from recctl.analysis import build_report  # noqa: E402
from recctl.analysis import engine as engines  # noqa: E402
from recctl.analysis.engine import MemorySource  # noqa: E402
from recctl.analysis.engine_duckdb import DuckDBSource  # noqa: E402
from recctl.analysis.facts import LogFacts  # noqa: E402
from recctl.synthetic import generate_events, write_logs  # noqa: E402

RTOL = 1e-12  # float sums in another order (module docstring)


def both(paths: list[Path], experiment: str = "EXP") -> tuple[tuple[LogFacts, object],
                                                               tuple[LogFacts, object]]:
    memory = MemorySource(paths)
    duck = DuckDBSource(paths, memory_limit="200MB")
    try:
        assert duck.experiment_names() == memory.experiment_names()
        return (memory.facts(experiment), memory.read), (duck.facts(experiment), duck.read)
    finally:
        duck.close()


def assert_same(paths: list[Path], experiment: str = "EXP") -> tuple[LogFacts, LogFacts]:
    (mem, mem_read), (duck, duck_read) = both(paths, experiment)
    pd.testing.assert_index_equal(duck.users.index, mem.users.index)
    assert list(duck.users.columns) == list(mem.users.columns)
    for column in mem.users.columns:
        ours, theirs = duck.users[column], mem.users[column]
        assert ours.dtype == theirs.dtype, column
        if theirs.dtype.kind == "f":
            np.testing.assert_allclose(ours, theirs, rtol=RTOL, err_msg=column)
        else:
            pd.testing.assert_series_equal(ours, theirs, check_exact=True)
    assert duck.user_summary == mem.user_summary
    assert duck.arms == mem.arms
    assert duck.per_replica == mem.per_replica and duck.rows == mem.rows
    pd.testing.assert_frame_equal(duck.latency, mem.latency, rtol=RTOL)
    assert duck.latency_outliers.keys() == mem.latency_outliers.keys()
    if mem.latency_outliers:
        assert duck.latency_outliers["per_arm"] == mem.latency_outliers["per_arm"]
        assert duck.latency_outliers["requests"] == mem.latency_outliers["requests"]
        for exact in ("threshold_seconds", "max_seconds"):
            assert duck.latency_outliers[exact] == mem.latency_outliers[exact], exact
    for name in ("files", "lines", "lines_per_file", "malformed", "malformed_examples",
                 "out_of_range", "duplicates", "duplicates_per_replica"):
        assert getattr(duck_read, name) == getattr(mem_read, name), name
    return mem, duck


def test_normal_logs_with_rotation_and_session_ids(ab_logs: Path) -> None:
    mem, _ = assert_same([ab_logs])
    # The fixture rotates every 5000 lines: several files per replica were read.
    assert len(list(ab_logs.rglob("data.json.*"))) >= 4
    assert mem.user_summary.sessions.method == "logged"
    assert mem.user_summary.sessions.unclosed > 0 and len(mem.arms) == 3


def test_course_logs_without_session_ids(course_logs: Path) -> None:
    mem, _ = assert_same([course_logs])
    assert mem.user_summary.sessions.method == "inferred"


def _lines(path: Path) -> list[dict]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def _write(path: Path, events: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))


def test_duplicates_keep_the_first_copy_in_file_order(tmp_path: Path) -> None:
    events = generate_events(300, seed=3)
    write_logs(events, tmp_path, replicas=2, rotate_lines=1000)
    oldest, newest = tmp_path / "replica-0" / "data.json.2", tmp_path / "replica-0" / "data.json"
    lines = _lines(oldest)
    # A retry logged again later in the same file and by the other replica, with another
    # latency: only the first copy may count, and each dropped copy is counted where logged.
    again = [{**line, "latency": line["latency"] + 5.0} for line in lines[:40]]
    _write(oldest, lines + again[:20])
    other = tmp_path / "replica-1" / "data.json"
    _write(other, _lines(other) + [{**e, "replica": 1} for e in again[20:]])
    # A copy in an older file than the original comes first in file order: it is kept.
    moved = _lines(newest)[:10]
    _write(oldest, [{**e, "latency": e["latency"] + 5.0} for e in moved] + _lines(oldest))
    mem, duck = assert_same([tmp_path])
    read = MemorySource([tmp_path]).read
    assert read.duplicates == 50 and read.duplicates_per_replica == {"0": 30, "1": 20}
    latency_sum = duck.users["mean_request_latency"] * duck.users["tracks"]
    assert set(duck.users.index[latency_sum > 4.0]) == {e["user"] for e in moved}


def test_sessions_rule_on_equal_timestamps(tmp_path: Path) -> None:
    """No session ids: a `last` closes; at equal times `next` sorts before `last`."""
    def event(message: str, ts_us: int, user: int, time: float) -> dict:
        return {"message": message, "timestamp": ts_us // 1000, "timestamp_us": ts_us,
                "user": user, "track": 1, "time": time, "latency": 0.01,
                "recommendation": None, "experiments": {"EXP": "C" if user < 3 else "T1"}}

    _write(tmp_path / "a" / "data.json", [
        event("last", 2000, 1, 0.5), event("next", 1000, 1, 0.1),  # one closed session
        event("next", 2000, 1, 0.2),  # same time as the `last`: sorts before it
        event("next", 5000, 1, 0.3),  # then an unclosed one
        event("last", 1000, 2, 0.4), event("last", 1000, 2, 0.6),  # two at one time
        event("next", 1000, 3, 0.7), event("next", 1000, 4, 0.8),
    ])
    _write(tmp_path / "b" / "data.json", [event("last", 1000, 3, 0.9),
                                          event("last", 1000, 4, 1.0)])
    mem, duck = assert_same([tmp_path])
    assert mem.users["sessions"].to_dict() == {1: 2, 2: 2, 3: 1, 4: 1}
    assert mem.users["unclosed_sessions"].to_dict() == {1: 1, 2: 0, 3: 0, 4: 0}


def test_bad_lines_are_skipped_and_counted_alike(tmp_path: Path) -> None:
    events = generate_events(200, seed=5)
    write_logs(events, tmp_path, replicas=2)
    path = tmp_path / "replica-1" / "data.json"
    lines = path.read_bytes().splitlines(keepends=True)
    good = orjson.loads(lines[3])
    lines[3:3] = [b"not json\n", b"\n", orjson.dumps({**good, "time": 1.5}) + b"\n",
                  orjson.dumps({**good, "latency": -1}) + b"\n",
                  orjson.dumps({**good, "experiments": {"EXP": 1}}) + b"\n",
                  orjson.dumps({**good, "message": "skip"}) + b"\n"]
    path.write_bytes(b"".join(lines) + b'{"message": "next", "user"')  # a cut last line
    _, duck = assert_same([tmp_path])
    read = MemorySource([tmp_path]).read
    assert read.malformed == 4 and read.out_of_range == {"time": 1, "latency": 1}
    source = DuckDBSource([tmp_path], memory_limit="200MB")
    try:  # only the file with rejected lines was checked line by line
        assert source.checked == [path] and source.reordered == []
    finally:
        source.close()


def test_conflicts_and_symlinks_are_never_read(tmp_path: Path) -> None:
    events = generate_events(200, seed=6)
    write_logs(events, tmp_path / "run", replicas=2)
    replica = tmp_path / "run" / "replica-0"
    (replica / "conflicts").mkdir()
    shutil.copy(replica / "data.json", replica / "conflicts" / "data.json")
    os.symlink(tmp_path / "run" / "replica-1" / "data.json", replica / "data.json.7")
    mem, _ = assert_same([tmp_path / "run"])
    assert mem.rows == len(events)


def test_the_report_is_the_same_with_either_engine(ab_logs: Path) -> None:
    memory = build_report([ab_logs], engine="memory")
    duck = build_report([ab_logs], engine="duckdb")
    assert (memory.engine, duck.engine) == ("memory", "duckdb")
    columns = ["arm", "metric", "significant", "error"]
    pd.testing.assert_frame_equal(duck.table[columns], memory.table[columns])
    for column in ("effect", "p_value", "lower", "upper"):
        np.testing.assert_allclose(duck.table[column], memory.table[column], rtol=1e-9)
    pd.testing.assert_frame_equal(duck.arm_summary, memory.arm_summary, rtol=RTOL)
    assert duck.summary_lines()[-1] == memory.summary_lines()[-1]  # the SRM line
    assert duck.reconciliation.as_dict() == memory.reconciliation.as_dict()


def test_auto_takes_duckdb_above_the_threshold(ab_logs: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    assert engines.choose_engine([ab_logs], "auto") == ("memory", [])
    monkeypatch.setattr(engines, "AUTO_DUCKDB_BYTES", 1000)
    assert engines.choose_engine([ab_logs], "auto") == ("duckdb", [])
    # Without DuckDB, auto says how to install it and reads in memory.
    monkeypatch.setitem(sys.modules, "duckdb", None)
    chosen, notes = engines.choose_engine([ab_logs], "auto")
    assert chosen == "memory" and "pip install 'recctl[duckdb]'" in notes[0]
    report = build_report([ab_logs])
    assert report.engine == "memory" and notes[0] in report.warnings


def test_cli_engine_duckdb_without_duckdb_exits_2(ab_logs: Path, tmp_path: Path) -> None:
    code = ("import sys; sys.modules['duckdb'] = None; from recctl.cli.main import main; "
            "sys.argv = ['recctl'] + sys.argv[1:]; main()")
    result = subprocess.run([sys.executable, "-c", code, "report", str(ab_logs), "--engine",
                             "duckdb", "--out", str(tmp_path / "out")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert "pip install 'recctl[duckdb]'" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_cli_engine_flag_writes_the_engine_in_the_manifest(ab_logs: Path,
                                                           tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "recctl", "report", str(ab_logs),
                             "--engine", "duckdb", "--format", "json", "--out",
                             str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    manifest = orjson.loads((tmp_path / "manifest.json").read_bytes())
    assert manifest["engine"] == "duckdb" and manifest["versions"]["duckdb"] != "not installed"


def test_duplicates_across_files_replicas_and_checked_files(tmp_path: Path) -> None:
    """The bulk load keeps no line order: the files holding a repeated id are read again in
    order (a file with bad lines already is), and only those."""
    events = generate_events(400, seed=8)
    write_logs(events, tmp_path, replicas=2, rotate_lines=1000)
    files = sorted(tmp_path.rglob("data.json*"))
    r0 = [tmp_path / "replica-0" / n for n in ("data.json.2", "data.json.1", "data.json")]
    r1_new = tmp_path / "replica-1" / "data.json"
    assert all(f in files for f in r0) and r1_new in files
    oldest, middle = _lines(r0[0]), _lines(r0[1])
    # Copies of ids from the oldest file, later in the same file (twice for one id) and in
    # replica-1's newest file; each copy has another latency, so a wrong pick shows.
    slow = [{**e, "latency": e["latency"] + 5.0} for e in oldest[100:130]]
    _write(r0[0], oldest + slow[:10] + slow[:1])
    _write(r1_new, _lines(r1_new) + [{**e, "replica": "r1"} for e in slow[10:]])
    # The middle file's first ids copied to the top of the oldest file: those copies come
    # first in file order (kept), the later-written originals are dropped.
    _write(r0[0], [{**e, "latency": e["latency"] + 5.0} for e in middle[:5]] + _lines(r0[0]))
    # Bad lines in a file holding duplicates: it is checked line by line and its good
    # lines, duplicates included, loaded in order.
    lines = _lines(r0[1])
    _write(r0[1], lines[:50] + [{**lines[60], "time": 2.0}] + lines[50:])
    with r0[1].open("ab") as handle:
        handle.write(b"{broken\n")
    mem, duck = assert_same([tmp_path])
    read = MemorySource([tmp_path]).read
    assert read.duplicates == 11 + 20 + 5 and read.malformed == 1
    assert read.duplicates_per_replica == {"0": 16, "r1": 20}
    source = DuckDBSource([tmp_path], memory_limit="200MB")
    try:
        assert source.reordered == [r0[0], r0[1], r1_new]
    finally:
        source.close()
    latency_sum = duck.users["mean_request_latency"] * duck.users["tracks"]
    assert set(duck.users.index[latency_sum > 4.0]) == {e["user"] for e in middle[:5]}


def test_no_repeated_id_reads_nothing_again(ab_logs: Path) -> None:
    source = DuckDBSource([ab_logs], memory_limit="200MB")
    try:  # the usual case: no file checked or re-read, figures as in memory (tests above)
        assert source.reordered == [] and source.read.duplicates == 0
        assert source.checked == []
    finally:
        source.close()


def test_background_read_raises_its_error_and_leaves_nothing_running(
        ab_logs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """build_report reads with DuckDB in a thread: its error is the memory engine's, and no
    thread or spill folder outlives the call."""
    import tempfile
    import threading

    from recctl.errors import RecctlError

    spill = tmp_path / "spill"
    spill.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spill))
    errors = []
    for engine in ("memory", "duckdb"):
        with pytest.raises(RecctlError) as caught:
            build_report([ab_logs], engine=engine, experiment="nope")
        errors.append((caught.value.message, caught.value.hint))
    assert errors[0] == errors[1] and "'nope' is not in the logs" in errors[1][0]
    assert not [t for t in threading.enumerate() if t.name.startswith("recctl-duckdb")]
    assert list(spill.iterdir()) == []


def test_interrupted_load_stops_with_a_clear_error(ab_logs: Path) -> None:
    from recctl.errors import RecctlError

    source = DuckDBSource([ab_logs], memory_limit="200MB", load=False)
    source.interrupt()  # e.g. Ctrl-C in build_report while another thread loads
    with pytest.raises(RecctlError, match="interrupted"):
        source.load()
    assert source.con is None and not source._spill.exists()  # closed by the failed load


@pytest.mark.parametrize("scale", [1.0, 20.0])
def test_latency_outliers_below_and_above_the_floor(tmp_path: Path, scale: float) -> None:
    """A median latency under floor / factor gives the floor as threshold (found by a count
    in DuckDB), a larger one factor x the median (DuckDB sorts for it): as in memory."""
    events = generate_events(300, seed=9)
    events["latency"] = events["latency"] * scale
    median = float(events["latency"].median())
    assert (median < 0.01) == (scale == 1.0)  # both sides of floor / factor (1 s / 100)
    events.loc[events.index[[5, 50]], "latency"] = [150 * median, 3.0]
    write_logs(events, tmp_path, replicas=2)
    mem, duck = assert_same([tmp_path])
    assert mem.latency_outliers["threshold_seconds"] == max(1.0, 100 * median)
    # Above the floor the 150x request is the outlier, below it the 3 s one (1.0 < 3 s).
    slowest = 3.0 if scale == 1.0 else 150 * median
    assert duck.latency_outliers["requests"] == 1
    assert duck.latency_outliers["max_seconds"] == pytest.approx(max(slowest, 3.0))
