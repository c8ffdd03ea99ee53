"""The event-log writers: sizes, backups, nothing lost on close; one line format for all."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import orjson
import pandas as pd
from http_client import Client

from recctl.eventlog import (
    COURSE_FIELDS,
    InProcessLogWriter,
    RotatingLogWriter,
    course_event,
    dumps_event,
    find_log_files,
    make_event,
    read_events,
    read_stats,
)
from recctl.synthetic import write_logs


def _line(i: int) -> bytes:
    return dumps_event(make_event("next", 1_700_000_000_000_000 + i, i, i, 0.5, 0.001, i + 1,
                                  {"EXP": "C"}, replica="r", session="s", recommender="random"))


def test_rotates_by_size_and_keeps_backups(tmp_path):
    size = len(_line(100))
    writer = RotatingLogWriter(tmp_path, max_bytes=10 * size, backups=3)
    for i in range(100, 145):  # 45 lines: 4.5 files' worth
        writer.write(_line(i))
    writer.close()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["data.json", "data.json.1", "data.json.2", "data.json.3", "data.json.stats"]
    assert all(p.stat().st_size <= 10 * size for p in tmp_path.glob("data.json*[0-9n]"))
    frame, summary = read_events([tmp_path])
    assert summary.malformed == 0
    # The oldest file (lines 100..109) fell off; the rest are in order, newest last.
    assert list(frame["user"]) == list(range(110, 145))
    assert find_log_files([tmp_path])[-1].name == "data.json"


def test_no_line_lost_with_many_threads(tmp_path):
    writer = RotatingLogWriter(tmp_path, max_bytes=1 << 30, backups=2)

    def produce(base: int) -> None:
        for i in range(2000):
            writer.write(_line(base + i))

    threads = [threading.Thread(target=produce, args=(k * 10_000,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    writer.close()
    writer.close()  # idempotent
    frame, _ = read_events([tmp_path])
    assert len(frame) == 8000 and frame["user"].is_unique
    assert writer.written_lines == 8000


def test_appends_to_an_existing_log(tmp_path):
    first = RotatingLogWriter(tmp_path, max_bytes=1 << 20, backups=1)
    first.write(_line(1))
    first.close()
    second = RotatingLogWriter(tmp_path, max_bytes=1 << 20, backups=1)
    second.write(_line(2))
    second.close()
    assert list(read_events([tmp_path])[0]["user"]) == [1, 2]


def test_a_torn_last_line_is_ended_before_appending(tmp_path):
    # A log torn by a crash or a full disk (half a line at the end): the next line
    # written must stay whole, and the torn one counts as one malformed line.
    (tmp_path / "data.json").write_bytes(_line(1) + _line(2)[:40])
    writer = RotatingLogWriter(tmp_path, max_bytes=1 << 20, backups=1)
    writer.write(_line(3))
    writer.close()
    frame, summary = read_events([tmp_path])
    assert list(frame["user"]) == [1, 3] and summary.malformed == 1


def test_a_line_is_in_the_file_before_write_returns(tmp_path):
    # What makes an acknowledged request's line survive a SIGKILL of the replica:
    # it is in the kernel's hands before the answer is sent, with no close() needed.
    writer = RotatingLogWriter(tmp_path, max_bytes=1 << 20, backups=1)
    writer.write(_line(7))
    assert (tmp_path / "data.json").read_bytes() == _line(7)
    writer.close()


def test_lines_lost_to_rotation_are_counted_in_the_sidecar(tmp_path):
    size = len(_line(100))
    writer = RotatingLogWriter(tmp_path, max_bytes=10 * size, backups=2)
    for i in range(100, 145):  # 45 lines: files of 10, the two oldest fall off
        writer.write(_line(i))
        if i == 125:  # the counters are on disk before close (a SIGKILL keeps them)
            assert read_stats(tmp_path / "data.json.stats")["lines_dropped"] == 0
    writer.close()
    stats = read_stats(tmp_path / "data.json.stats")
    frame, _ = read_events([tmp_path])  # the sidecar is not read as a log
    assert stats["lines_dropped"] == 45 - len(frame) == 20 and stats["files_dropped"] == 2
    assert stats["lines_written"] == 45
    # A replica restarted on the same folder carries on counting.
    again = RotatingLogWriter(tmp_path, max_bytes=10 * size, backups=2)
    again.write(_line(1))
    again.close()
    assert read_stats(tmp_path / "data.json.stats")["lines_written"] == 46


def test_log_files_are_private(tmp_path):
    (tmp_path / "data.json").write_bytes(b"")
    (tmp_path / "data.json").chmod(0o644)  # left by an older version
    writer = RotatingLogWriter(tmp_path, max_bytes=1 << 20, backups=1)
    writer.write(_line(1))
    writer.close()
    for name in ("data.json", "data.json.stats"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o600, name


# One line format, whoever writes it: the service, the in-process simulator's writer and the
# synthetic-log generator all produce the same bytes for the contract's fields.

def _contract_part(line: bytes) -> bytes:
    """The line up to the end of `experiments`: the contract's fields, as written."""
    end = line.index(b"}", line.index(b'"experiments":')) + 1
    return line[:end]


def _canonical(line: bytes) -> bytes:
    """The line rebuilt by make_event/dumps_event from its own values (extras in order)."""
    value = orjson.loads(line)
    fields = [value.pop(name) for name in ("message", "timestamp_us", "user", "track", "time",
                                           "latency", "recommendation", "experiments")]
    value.pop("timestamp")
    return dumps_event(make_event(*fields, **value))


def _synthetic_line(tmp_path: Path, event: dict, style: str = "recctl") -> bytes:
    """`event`'s values written by the synthetic-log generator (one replica, one line)."""
    (experiment, arm), = event["experiments"].items()
    row = pd.DataFrame({"message": [event["message"]], "timestamp_us": [event["timestamp_us"]],
                        "user": [event["user"]], "track": [event["track"]],
                        "time": [event["time"]], "latency": [event["latency"]],
                        "recommendation": [-1 if event["recommendation"] is None
                                           else event["recommendation"]],
                        "session": [0], "arm": [arm]})
    folder = tmp_path / f"synthetic-{event['message']}-{style}"
    files = write_logs(row, folder, experiment=experiment, replicas=1, style=style)
    assert [f.name for f in files] == ["data.json"]
    return files[0].read_bytes()


def test_the_service_logs_exactly_what_make_event_and_dumps_event_give(replica, tmp_path):
    client = Client(replica.url)
    try:
        assert client.next(7, 3, 0.123456789, session="s-1")[0] == 200
        assert client.request("POST", "/last/7", {"track": 5, "time": 1.0})[0] == 200
    finally:
        client.close()
    lines = (replica.log_dir / "data.json").read_bytes().splitlines(keepends=True)
    assert [orjson.loads(line)["message"] for line in lines] == ["next", "last"]
    for line in lines:
        assert line == _canonical(line)
        # The generator, given the same values, writes the same contract fields byte for byte.
        event = orjson.loads(line)
        assert _contract_part(_synthetic_line(tmp_path, event)) == _contract_part(line)
        course = _synthetic_line(tmp_path, event, style="course")
        assert course == dumps_event(course_event(event))
        assert orjson.loads(course) == {k: v for k, v in event.items() if k in COURSE_FIELDS}


def test_in_process_and_synthetic_lines_match(tmp_path):
    log = tmp_path / "inprocess" / "data.json"
    writer = InProcessLogWriter(log, seed=3, day=2, experiment="EXP")
    one = np.array([0])
    writer.next_lines(np.array([11]), one, np.array([4]), np.array([0.3141592653589793]),
                      np.array([9]), ["T1"], one)
    writer.last_lines(np.array([11]), one, np.array([9]), np.array([0.25]), ["T1"], one)
    assert writer.close() == 2
    lines = log.read_bytes().splitlines(keepends=True)
    assert len(lines) == 2
    for line in lines:
        assert line == _canonical(line)
        synthetic = _synthetic_line(tmp_path, orjson.loads(line))
        assert _contract_part(synthetic) == _contract_part(line)
        assert synthetic == _canonical(synthetic)
    # In-process day folders hold the log only (bootstrap lists them as training inputs).
    assert [p.name for p in log.parent.iterdir()] == ["data.json"]


def test_the_line_format_is_pinned():
    # The bytes the course's notebooks and users' scripts read: a change here breaks them.
    event = make_event("next", 1_700_000_000_123_456, 42, 7, 0.5, 0.0012, 9, {"EXP": "T1"},
                       session="s", replica="replica-1", request_id="a:next")
    assert dumps_event(event) == (
        b'{"message":"next","timestamp":1700000000123,"timestamp_us":1700000000123456,'
        b'"user":42,"track":7,"time":0.5,"latency":0.0012,"recommendation":9,'
        b'"experiments":{"EXP":"T1"},"session":"s","replica":"replica-1",'
        b'"request_id":"a:next"}\n')
    last = make_event("last", 1_700_000_000_000_000, 42, 9, 1.0, 0.0, None, {"EXP": "C"})
    assert dumps_event(course_event(last)) == (
        b'{"message":"last","timestamp":1700000000000,"user":42,"track":9,"time":1.0,'
        b'"latency":0.0,"recommendation":null,"experiments":{"EXP":"C"}}\n')


def test_rotation_naming_is_shared_by_writer_and_generator(tmp_path):
    size = len(_line(100))
    writer = RotatingLogWriter(tmp_path / "service", max_bytes=3 * size, backups=5)
    writer.write_lines([_line(i) for i in range(100, 108)])  # 8 lines: files of 3, 3, 2
    writer.close()
    events = pd.DataFrame({"message": ["next"] * 8, "timestamp_us": range(8), "user": range(8),
                           "track": 1, "time": 0.5, "latency": 0.001, "recommendation": 2,
                           "session": 0, "arm": "C"})
    files = write_logs(events, tmp_path / "synthetic", replicas=1, rotate_lines=3)
    service = sorted(p.name for p in (tmp_path / "service").iterdir())
    synthetic = sorted(p.name for p in (tmp_path / "synthetic" / "replica-0").iterdir())
    assert service == synthetic == ["data.json", "data.json.1", "data.json.2", "data.json.stats"]
    assert [f.name for f in files] == ["data.json", "data.json.1", "data.json.2"]
    for folder in (tmp_path / "service", tmp_path / "synthetic"):
        # Oldest first, whole lines, nothing lost.
        assert [f.name for f in find_log_files([folder])][-1] == "data.json"
        frame, summary = read_events([folder])
        assert summary.lines == 8 and summary.malformed == 0
        assert frame["user"].is_monotonic_increasing
    assert list(read_events([tmp_path / "service"])[0]["user"]) == list(range(100, 108))
