"""The rotating event-log writer: sizes, backups, nothing lost on close."""

from __future__ import annotations

import threading

from recctl.eventlog import (
    RotatingLogWriter,
    dumps_event,
    find_log_files,
    make_event,
    read_events,
    read_stats,
)


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
