"""Reading counts every logged request once: duplicate request ids dropped and counted, fetch's
set-aside copies and symlinks never read; and the report reconciles acknowledged vs read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recctl.analysis.build import build_report
from recctl.eventlog import (
    ReadSummary,
    dumps_event,
    find_log_files,
    iter_events,
    make_event,
    read_events,
)


def _line(i: int, replica: str, request_id: str | None, user: int | None = None) -> bytes:
    user = i % 40 if user is None else user
    return dumps_event(make_event(
        "next" if i % 5 else "last", 1_700_000_000_000_000 + i * 1000, user, i % 97, 0.5,
        0.001, (i * 7) % 97 if i % 5 else None, {"EXP": "C" if user % 2 else "T1"},
        replica=replica, session=f"s{user}", request_id=request_id))


def _write(path: Path, lines: list[bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(lines))
    return path


@pytest.fixture()
def run(tmp_path: Path) -> Path:
    """Two replicas; replica-2 logged requests 90..99 that replica-1 logged too (retries)."""
    root = tmp_path / "run"
    _write(root / "replica-1" / "data.json.1", [_line(i, "replica-1", f"r{i}") for i in range(50)])
    _write(root / "replica-1" / "data.json",
           [_line(i, "replica-1", f"r{i}") for i in range(50, 100)])
    _write(root / "replica-2" / "data.json",
           [_line(i, "replica-2", f"r{i}") for i in range(90, 200)]
           # course-style lines without an id: never dropped, even when identical
           + [_line(500, "replica-2", None)] * 2)
    return root


def test_duplicate_request_ids_are_dropped_and_counted(run: Path) -> None:
    events, read = read_events([run])
    assert read.lines == 212 and read.duplicates == 10
    assert read.duplicates_per_replica == {"replica-2": 10}
    assert len(events) == 202  # 200 distinct ids + 2 lines without one
    # The first occurrence (file order: replica-1 before replica-2) is the one kept.
    kept = events[events["replica"] == "replica-1"]
    assert len(kept) == 100
    assert events["file_order"].tolist() == list(range(202))
    # The simple reader agrees.
    summary = ReadSummary()
    assert len(list(iter_events(find_log_files([run]), summary))) == 202
    assert summary.duplicates_per_replica == {"replica-2": 10}


def test_duplicates_inside_one_chunk_and_across_chunks(tmp_path: Path) -> None:
    # 30,000 lines (several 4 MB chunks); every 1,000th line repeats an earlier id.
    lines = [_line(i, "r", f"id{i - 1 if i % 1000 == 0 else i}") for i in range(1, 30_001)]
    _write(tmp_path / "r" / "data.json", lines)
    events, read = read_events([tmp_path])
    assert read.duplicates == 30 and len(events) == 29_970


def test_set_aside_copies_are_never_read(run: Path) -> None:
    # fetch keeps a rotated-away copy under conflicts/<stamp>/<replica>/.
    _write(run / "conflicts" / "20260101T000000Z" / "replica-1" / "data.json",
           [_line(i, "replica-1", f"c{i}") for i in range(300, 400)])
    assert not any("conflicts" in p.parts for p in find_log_files([run]))
    events, read = read_events([run])
    assert len(events) == 202 and read.lines == 212


def test_symlinks_under_a_folder_are_never_followed(run: Path, tmp_path: Path) -> None:
    other = _write(tmp_path / "other" / "replica-9" / "data.json",
                   [_line(i, "replica-9", f"o{i}", user=7) for i in range(1000, 1100)])
    (run / "replica-2" / "data.json.1").symlink_to(other)  # a file link
    (run / "replica-3").symlink_to(other.parent, target_is_directory=True)  # a folder link
    assert all(not p.is_symlink() and "replica-3" not in p.parts
               for p in find_log_files([run]))
    events, _ = read_events([run])
    assert len(events) == 202 and "replica-9" not in set(events["replica"].astype(str))


def _manifest(root: Path, acked: dict[str, int], **extra: object) -> None:
    lines = {"replica-1": 100, "replica-2": 112}
    body = {"experiment": "EXP", "lines": sum(lines.values()),
            "replicas": {name: {"lines": n, "lines_dropped": 0} for name, n in lines.items()},
            "simulation": {"episodes": 40, "failed_episodes": 0, "max_failed_fraction": 0.01,
                           "acked_requests": sum(acked.values()), "acked_by_replica": acked},
            "interrupted": False}
    for key, value in extra.items():
        if isinstance(value, dict):
            body[key] = {**body[key], **value}  # type: ignore[dict-item]
        else:
            body[key] = value
    (root / "manifest.json").write_text(json.dumps(body))


def test_the_report_reconciles_acknowledged_and_read(run: Path) -> None:
    _manifest(run, {"replica-1": 100, "replica-2": 102})
    report = build_report([run])
    rec = report.reconciliation
    assert report.valid and report.invalid_reasons == []
    assert (rec.total.acknowledged, rec.total.logged, rec.total.duplicates, rec.total.read) == (
        202, 212, 10, 202)
    two = next(r for r in rec.replicas if r.replica == "replica-2")
    assert (two.acknowledged, two.logged, two.duplicates, two.read) == (102, 112, 10, 102)


@pytest.mark.parametrize(("extra", "reason"), [
    ({"simulation": {"acked_requests": 205}}, "205 requests were acknowledged but 202"),
    ({"simulation": {"failed_episodes": 1}}, "1 of 40 episodes failed"),
    ({"interrupted": True}, "interrupted"),
    ({"replicas": {"replica-1": {"lines": 100, "lines_dropped": 30}}},
     "30 logged line(s) were lost to log rotation"),
])
def test_each_problem_makes_the_verdict_invalid(run: Path, extra: dict, reason: str,
                                               tmp_path: Path) -> None:
    from recctl.analysis.outputs import write_outputs
    from recctl.analysis.render_markdown import render_markdown

    _manifest(run, {"replica-1": 100, "replica-2": 102}, **extra)
    report = build_report([run])
    assert not report.valid
    assert any(reason in r for r in report.invalid_reasons), report.invalid_reasons
    assert "VERDICT INVALID" in render_markdown(report, None)
    written = write_outputs(report, tmp_path / "out", ["json"])
    body = json.loads(written["json"].read_text())
    assert body["valid"] is False and any(reason in r for r in body["invalid_reasons"])
    assert body["interrupted"] is bool(extra.get("interrupted"))


def test_a_failed_fraction_at_the_threshold_is_still_valid(run: Path) -> None:
    _manifest(run, {"replica-1": 100, "replica-2": 102},
              simulation={"episodes": 400, "failed_episodes": 4})  # exactly 1%
    assert build_report([run]).valid


def test_a_simulation_stopped_on_an_error_names_it(run: Path) -> None:
    _manifest(run, {"replica-1": 100, "replica-2": 102}, interrupted=True,
              simulation={"interrupted": True, "error": "a Ray node was lost"})
    report = build_report([run])
    assert not report.valid
    assert report.invalid_reasons[0] == "the simulation did not finish: a Ray node was lost"


def test_an_unreachable_replica_invalidates_unless_every_ack_was_read(run: Path) -> None:
    unreachable = {"replicas": {"replica-2": {"lines": 112, "lines_dropped": 0,
                                              "unreachable": "its node is gone"}}}
    # The acknowledged requests are all read (an earlier fetch got everything): valid.
    _manifest(run, {"replica-1": 100, "replica-2": 102}, **unreachable)
    report = build_report([run])
    assert report.valid, report.invalid_reasons
    assert report.reconciliation.unreachable == {"replica-2": "its node is gone"}
    # Without acknowledgements nothing shows the logs are complete: invalid, and why.
    (run / "manifest.json").write_text(json.dumps(
        {**json.loads((run / "manifest.json").read_text()), "simulation": None}))
    report = build_report([run])
    assert not report.valid
    assert report.invalid_reasons == ["the logs of replica-2 could not be fetched, so events "
                                      "may be missing (its node is gone)"]
