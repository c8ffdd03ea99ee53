"""The fast reader: every replica and rotated file, course logs, malformed lines."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from recctl.eventlog import find_log_files, iter_events, read_events


def test_reads_every_replica_and_rotation(ab_logs: Path, ab_events: pd.DataFrame) -> None:
    files = find_log_files([ab_logs])
    assert len(files) > 4 and {f.parent.name for f in files} == {"replica-0", "replica-1"}
    events, summary = read_events([ab_logs])
    assert len(events) == len(ab_events) == summary.lines
    assert summary.malformed == 0
    assert sum(summary.lines_per_file.values()) == summary.lines
    assert events["exp:EXP"].dtype == "category"
    assert list(events["exp:EXP"].cat.categories) == ["C", "T1", "T2"]
    # Same multiset of (user, timestamp_us, time) as generated.
    got = events.sort_values(["timestamp_us", "user"])[["user", "timestamp_us", "time"]]
    want = ab_events.sort_values(["timestamp_us", "user"])[["user", "timestamp_us", "time"]]
    np.testing.assert_array_equal(got.to_numpy(), want.to_numpy())
    assert (events["recommendation"][events["message"] == "last"] == -1).all()


def test_course_logs_have_no_extras(course_logs: Path) -> None:
    events, _ = read_events([course_logs])
    assert events["session"].isna().all() and events["replica"].isna().all()
    assert (events["timestamp_us"] == events["timestamp"] * 1000).all()


def test_rotated_files_are_read_oldest_first(tmp_path: Path) -> None:
    for name, user in [("data.json.2", 1), ("data.json", 3), ("data.json.1", 2)]:
        (tmp_path / name).write_text(
            f'{{"message":"next","timestamp":1,"user":{user},"track":1,"time":0.5,'
            f'"latency":0.01,"recommendation":2,"experiments":{{"E":"C"}}}}\n')
    events, _ = read_events([tmp_path])
    assert events["user"].tolist() == [1, 2, 3]
    assert events["file_order"].tolist() == [0, 1, 2]


def test_malformed_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    good = ('{"message":"next","timestamp":5,"user":1,"track":1,"time":0.5,"latency":0.01,'
            '"recommendation":null,"experiments":{"E":"T1"},"session":"s1"}')
    lines = [good, "", "{not json", good.replace('"user":1', '"user":"x"'),
             good.replace('"next"', '"play"'), good.replace(',"latency":0.01', ''),
             '{"a":1}{"b":2}', good.replace('{"E":"T1"}', '{"E":3}'), good]
    (tmp_path / "data.json").write_text("\n".join(lines) + "\n")
    events, summary = read_events([tmp_path])
    assert len(events) == 2
    assert summary.lines == 8 and summary.malformed == 6
    assert summary.malformed_examples[0].endswith(f"{tmp_path / 'data.json'}:3: "
                                                  + summary.malformed_examples[0].split(":3: ")[1])
    assert events["session"].tolist() == ["s1", "s1"]
    # The simple reader agrees on what is valid.
    assert len(list(iter_events(find_log_files([tmp_path])))) == 2


def test_experiments_appearing_later_get_their_own_column(tmp_path: Path) -> None:
    line = ('{{"message":"next","timestamp":{t},"user":1,"track":1,"time":0.5,"latency":0.01,'
            '"recommendation":1,"experiments":{exp}}}\n')
    (tmp_path / "data.json").write_text(
        line.format(t=1, exp='{"A":"C"}') + line.format(t=2, exp='{"A":"T1","B":"T2"}'))
    events, _ = read_events([tmp_path])
    assert events["exp:A"].tolist() == ["C", "T1"]
    assert events["exp:B"].isna().tolist() == [True, False]


def test_writing_needs_no_reader_dependencies(tmp_path: Path) -> None:
    # A service replica only writes: importing the package for that must not load pandas,
    # numpy or msgspec (startup time and memory of every replica); reading loads them.
    code = (
        "import sys; from pathlib import Path\n"
        "from recctl.eventlog import RotatingLogWriter, dumps_event, make_event\n"
        "w = RotatingLogWriter(Path(sys.argv[1]), max_bytes=1 << 20, backups=1)\n"
        "w.write(dumps_event(make_event('next', 1000, 1, 2, 0.5, 0.0, 3, {'E': 'C'})))\n"
        "w.close()\n"
        "heavy = [m for m in ('pandas', 'numpy', 'msgspec') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "from recctl.eventlog import read_events\n"
        "assert read_events([sys.argv[1]])[0]['user'].tolist() == [1]\n"
    )
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True)
