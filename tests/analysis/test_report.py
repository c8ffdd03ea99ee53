"""The report end to end on real files: table, checks, errors, outputs, terminal, CLI."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from rich.console import Console
from typer.testing import CliRunner

from recctl.analysis import ReportOptions, build_report, render_terminal, write_outputs
from recctl.cli.main import app
from recctl.errors import RecctlError
from recctl.spec import ReportSpec
from recctl.synthetic import generate_events, write_logs


@pytest.fixture(scope="module")
def report(ab_logs: Path):  # noqa: ANN201
    return build_report([ab_logs])


def test_table_finds_the_planted_effects(report) -> None:  # noqa: ANN001
    assert report.experiment == "EXP" and report.arms == ["C", "T1", "T2"]
    primary = report.primary.set_index("arm")
    assert primary.loc["T1", "direction"] == "better" and primary.loc["T1", "effect"] > 10
    assert primary.loc["T2", "direction"] == "worse" and primary.loc["T2", "effect"] < -10
    assert len(report.table) == 2 * 5
    # Holm: adjusted p-values are at least the raw ones; significance follows them.
    table = report.table
    assert (table["p_value_adjusted"] >= table["p_value"] - 1e-15).all()
    assert (table["significant"] == (table["p_value_adjusted"] < 0.05)).all()
    assert not report.srm.mismatch
    assert report.user_summary.sessions.unclosed > 0
    assert any("never closed" in w for w in report.warnings)
    assert set(report.arm_summary.columns) >= {"users", "latency_p99_ms"}


def test_course_logs_give_the_same_table(report, course_logs: Path) -> None:  # noqa: ANN001
    course = build_report([course_logs])
    pd.testing.assert_frame_equal(report.table, course.table)


def test_correction_none_is_the_course_rule(ab_logs: Path) -> None:
    raw = build_report([ab_logs], correction="none", metrics=["time"])
    rows = raw.table
    same_sign = (rows["lower"] > 0) == (rows["upper"] > 0)
    assert (rows["significant"] == same_sign).all()
    assert raw.metrics == ["mean_time_per_session", "time"]  # the primary is always in


def test_options_are_passed_whole(ab_logs: Path) -> None:
    # An experiment file's report block, then a change: the same report as the keywords.
    spec = ReportSpec(metrics=["time", "sessions"], primary_metric="time", alpha=0.01,
                      correction="none")
    options = ReportOptions.from_spec(spec, control="T1")
    assert (options.metrics, options.alpha, options.correction, options.control) == (
        ("time", "sessions"), 0.01, "none", "T1")
    by_options = build_report([ab_logs], options)
    by_keywords = build_report([ab_logs], metrics=["time", "sessions"], primary_metric="time",
                               alpha=0.01, correction="none", control="T1", guardrails=[])
    pd.testing.assert_frame_equal(by_options.table, by_keywords.table)
    assert by_options.control == "T1" and by_options.settings.alpha == 0.01
    # A keyword changes the options given; a misspelt one is refused, not ignored.
    assert build_report([ab_logs], options, alpha=0.05).settings.alpha == 0.05
    with pytest.raises(TypeError, match="alhpa"):
        build_report([ab_logs], options, alhpa=0.05)


def test_srm_flags_a_constructed_imbalance(ab_events: pd.DataFrame, tmp_path: Path) -> None:
    # Drop a quarter of T1's users, as a crashing replica might.
    t1_users = ab_events.loc[ab_events["arm"] == "T1", "user"].unique()
    dropped = set(t1_users[: len(t1_users) // 4])
    write_logs(ab_events[~ab_events["user"].isin(dropped)], tmp_path, experiment="EXP")
    result = build_report([tmp_path])
    assert result.srm.mismatch and result.srm.p_value < 1e-6
    assert any("MISMATCH" in line for line in result.summary_lines())
    # Not a quiet table: the verdict is invalid, and says why.
    assert not result.valid
    assert result.invalid_reasons[0].startswith("sample ratio mismatch: users per arm C ")


def test_aa_mode_splits_users_by_a_hash(ab_logs: Path) -> None:
    aa = build_report([ab_logs], aa=True, seed=3)
    assert aa.mode == "aa" and aa.arms == ["C", "T1"]
    counts = aa.users["arm"].value_counts()
    # Not forced equal (SRM would be vacuous), but close: a binomial draw over ~3000 users.
    assert counts["C"] != counts["T1"] and abs(counts["C"] - counts["T1"]) < 200
    assert aa.srm.observed == (counts["C"], counts["T1"]) and 0 < aa.srm.p_value < 1
    assert build_report([ab_logs], aa=True, seed=3).table.equals(aa.table)
    # The split is a hash of the user id with the seed: another seed, another split.
    other = build_report([ab_logs], aa=True, seed=4)
    assert not (other.users["arm"] == aa.users["arm"]).all()
    # A user's half does not depend on who else is in the logs.
    some = aa.users.iloc[::7]
    from recctl.analysis.build import hash_halves
    assert (hash_halves(some, 3)["arm"] == some["arm"]).all()


def test_user_mistakes_raise_recctl_errors(ab_logs: Path, tmp_path: Path) -> None:
    with pytest.raises(RecctlError, match="no event logs"):
        build_report([tmp_path])
    with pytest.raises(RecctlError, match="not in the logs"):
        build_report([ab_logs], experiment="OTHER")
    with pytest.raises(RecctlError, match="control arm 'X'"):
        build_report([ab_logs], control="X")
    with pytest.raises(RecctlError, match="unknown metric"):
        build_report([ab_logs], metrics=["clicks"])
    two = tmp_path / "two"
    events = generate_events(200, seed=1)
    write_logs(events, two / "a", experiment="A")
    write_logs(events, two / "b", experiment="B")
    with pytest.raises(RecctlError, match="several experiments: A, B") as info:
        build_report([two])
    assert "--experiment" in (info.value.hint or "")
    one_arm = tmp_path / "one"
    write_logs(events[events["arm"] == "C"], one_arm, experiment="A")
    with pytest.raises(RecctlError, match="only one arm"):
        build_report([one_arm])


def test_outputs_and_manifest(report, ab_logs: Path, tmp_path: Path) -> None:  # noqa: ANN001
    run = tmp_path / "run"
    shutil.copytree(ab_logs, run)
    (run / "manifest.json").write_text(json.dumps(
        {"experiment": "EXP", "config_hash": "abc123", "seed": 7, "replicas": 2}))
    result = build_report([run])
    written = write_outputs(result, tmp_path / "out")
    assert {p.name for p in (tmp_path / "out").iterdir()} == {
        "report.md", "report.json", "comparisons.csv", "arms.csv", "effects.png",
        "manifest.json"}
    manifest = json.loads(written["manifest"].read_text())
    assert manifest["fetch"] == {"experiment": "EXP", "config_hash": "abc123", "seed": 7,
                                 "replicas": 2}
    assert sum(i["lines"] for i in manifest["inputs"]) == manifest["lines"] > 0
    assert manifest["alpha"] == 0.05 and "statsmodels" in manifest["versions"]
    data = json.loads(written["json"].read_text())
    assert len(data["comparisons"]) == 10 and data["srm"]["mismatch"] is False
    csv = pd.read_csv(written["csv"])
    assert list(csv["metric"][:5]) == result.metrics
    page = written["markdown"].read_text()
    assert page.startswith("# A/B report: EXP") and "![effects with intervals](effects.png)" in page
    assert "| T1 | **mean_time_per_session** |" in page
    assert written["png"].read_bytes()[:4] == b"\x89PNG"
    only_json = write_outputs(result, tmp_path / "json-only", ["json"])
    assert set(only_json) == {"json", "manifest"}


def test_terminal_rendering(report) -> None:  # noqa: ANN001
    buffer = io.StringIO()
    render_terminal(report, Console(file=buffer, width=120, color_system=None))
    text = buffer.getvalue()
    assert "EXP: arms vs C" in text and "time/session*" in text
    assert "lat. p99 ms" in text and "Sample ratio" in text
    # The table fits a default 80-column console (CI logs) without truncation.
    narrow = io.StringIO()
    render_terminal(report, Console(file=narrow, width=80, color_system=None))
    assert "…" not in narrow.getvalue() and "tracks/session" in narrow.getvalue()
    coloured = io.StringIO()
    render_terminal(report, Console(file=coloured, width=120, force_terminal=True,
                                    color_system="standard"))
    assert "\x1b[32m" in coloured.getvalue() and "\x1b[31m" in coloured.getvalue()


def test_cli_report_and_plan(ab_logs: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["report", str(ab_logs), "--out", str(tmp_path / "r"),
                                 "--metric", "time", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert "significantly" in result.output
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == ["manifest.json", "report.json"]
    planned = runner.invoke(app, ["plan", str(ab_logs), "--mde", "5", "--metric", "time"])
    assert planned.exit_code == 0, planned.output
    assert "users/arm" in planned.output
    bad = runner.invoke(app, ["report", str(ab_logs), "--control", "Z"])
    assert bad.exit_code != 0 and isinstance(bad.exception, RecctlError)


def test_cli_report_on_an_experiment_file_reads_its_latest_fetched_run(
        ab_logs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECCTL_HOME", str(tmp_path))
    experiment = tmp_path / "exp.yml"
    experiment.write_text("name: EXP\narms:\n  C: {type: random}\n  T1: {type: random}\n")
    runner = CliRunner()
    missing = runner.invoke(app, ["report", str(experiment)])
    assert missing.exit_code != 0 and isinstance(missing.exception, RecctlError)
    assert "no run of 'EXP' has been fetched" in missing.exception.message
    assert f"recctl fetch {experiment}" in missing.exception.hint

    older, newer = (tmp_path / "cache" / "EXP" / run for run in
                    ("20260101T000000Z-aaaaaa", "20260102T000000Z-bbbbbb"))
    older.mkdir(parents=True)
    (older / "manifest.json").write_text('{"experiment": "EXP"}')
    shutil.copytree(ab_logs, newer)
    (newer / "manifest.json").write_text('{"experiment": "EXP"}')
    result = runner.invoke(app, ["report", str(experiment), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert (newer / "report" / "report.json").is_file()  # the newest run, not the older
    assert not (older / "report").exists()
