"""The report never loses its answer: untestable metrics, bad values, odd arms, stored
settings. Real files, the real CLI; logs from the synthetic generator."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rich.console import Console
from typer.testing import CliRunner

from recctl.analysis import build_report, render_terminal, write_outputs
from recctl.analysis.compare import harm_alternative
from recctl.analysis.render_markdown import render_markdown
from recctl.cli.main import app
from recctl.errors import RecctlError
from recctl.stats import messages
from recctl.stats.messages import error_code
from recctl.synthetic import generate_events, write_logs

ALL_FILES = {"report.md", "report.json", "comparisons.csv", "arms.csv", "effects.png",
             "manifest.json"}


@pytest.fixture(scope="module")
def three_arms() -> pd.DataFrame:
    return generate_events(1500, seed=5, experiment="EXP", arms=("C", "T1", "T2"),
                           effects={"T1": 0.3})


def _experiment_file(folder: Path, arms: int = 3, report: str = "") -> None:
    names = ["C"] + [f"T{i}" for i in range(1, arms)]
    lines = ["name: EXP", "arms:"] + [f"  {a}: {{type: random}}" for a in names]
    (folder / "experiment.yml").write_text("\n".join(lines) + "\n" + report)


def test_zero_variance_metric_keeps_every_other_verdict(three_arms: pd.DataFrame,
                                                        tmp_path: Path) -> None:
    # In-process logs have latency 0 everywhere: the latency guardrail cannot be tested.
    events = three_arms.assign(latency=0.0)
    write_logs(events, tmp_path / "run", experiment="EXP")
    result = CliRunner().invoke(app, ["report", str(tmp_path / "run"), "--out",
                                      str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert {p.name for p in (tmp_path / "out").iterdir()} == ALL_FILES
    assert "T1 vs C: mean_time_per_session" in result.output
    assert "significantly better" in result.output and "nan" not in result.output
    assert "Not tested: mean_request_latency for T1, T2 (ZERO_CONTROL_MEAN" in result.output
    data = json.loads((tmp_path / "out" / "report.json").read_text())
    rows = {(r["arm"], r["metric"]): r for r in data["comparisons"]}
    assert rows[("T1", "mean_request_latency")]["error"] == messages.ZERO_CONTROL_MEAN
    tested = [r for r in data["comparisons"] if r["metric"] != "mean_request_latency"]
    assert len(tested) == 8 and all(r["error"] is None for r in tested)
    assert all(r["lower"] is not None and r["p_value_adjusted"] is not None for r in tested)
    assert rows[("T1", "mean_time_per_session")]["significant"] is True
    assert data["checks"]["untestable"] == [
        {"arm": "T1", "metric": "mean_request_latency", "error": "ZERO_CONTROL_MEAN"},
        {"arm": "T2", "metric": "mean_request_latency", "error": "ZERO_CONTROL_MEAN"}]
    page = (tmp_path / "out" / "report.md").read_text()
    assert "| T1 | **mean_time_per_session** | primary |" in page
    assert "**better** |" in page and "ZERO_CONTROL_MEAN |" in page
    assert "- Not tested: T1 mean_request_latency (ZERO_CONTROL_MEAN), T2 " in page
    csv = pd.read_csv(tmp_path / "out" / "comparisons.csv")
    assert csv["error"].isna().sum() == 8


def test_error_column_reads_the_same_on_every_pandas() -> None:
    # pandas 3 turns a column of None/str into a string column holding NaN (truthy).
    column = pd.Series([None, "ZERO_VARIANCE", np.nan, pd.NA], dtype=object)
    assert [error_code(v) for v in column] == [None, "ZERO_VARIANCE", None, None]
    assert [error_code(v) for v in column.astype("string")] == [None, "ZERO_VARIANCE",
                                                                None, None]


def test_bad_values_are_counted_not_crashes(three_arms: pd.DataFrame, tmp_path: Path) -> None:
    run = tmp_path / "run"
    write_logs(three_arms, run, experiment="EXP", replicas=1)
    good = ('{"message":"next","timestamp":1700000000000,"user":7,"track":3,"time":0.5,'
            '"latency":0.01,"recommendation":4,"experiments":{"EXP":"C"}}')
    bad = [good.replace('"time":0.5', '"time":1.5'), good.replace('"time":0.5', '"time":-0.1'),
           good.replace('"latency":0.01', '"latency":-0.2'),
           good.replace('"user":7', f'"user":{2**63}'),
           good.replace('"track":3', f'"track":{2**70}'),
           good.replace('"recommendation":4', f'"recommendation":{-(2**63) - 1}'),
           good.replace('"latency":0.01', '"latency":1e400'), "{broken"]
    with open(run / "replica-0" / "data.json", "a") as handle:
        handle.write("\n".join(bad) + "\n")
    result = build_report([run])
    assert result.read.out_of_range == {"time": 2, "latency": 2, "user": 1, "track": 1,
                                        "recommendation": 1}
    assert result.read.malformed == 1
    assert result.checks["out_of_range_lines"] == 7
    assert any("7 line(s) with out-of-range values left out" in w for w in result.warnings)
    assert len(result.table) == 10 and result.table["error"].map(error_code).isna().all()
    # The same lines read one at a time (the simple reader) are judged the same way.
    from recctl.eventlog import ReadSummary, find_log_files, iter_events
    summary = ReadSummary()
    read = sum(1 for _ in iter_events(find_log_files([run]), summary))
    assert read == len(three_arms) and summary.out_of_range == result.read.out_of_range


def test_unknown_arm_is_reported_without_aborting(three_arms: pd.DataFrame,
                                                  tmp_path: Path) -> None:
    events = three_arms.copy()
    stray = events.loc[events["arm"] == "T2", "user"].iloc[0]
    events.loc[events["user"] == stray, "arm"] = "T9"  # one user in an arm nobody defined
    run = tmp_path / "run"
    write_logs(events, run, experiment="EXP")
    _experiment_file(run, arms=3)
    result = build_report([run])
    assert result.arms == ["C", "T1", "T2", "T9"] and result.unknown_arms == {"T9": 1}
    rows = result.table.set_index(["arm", "metric"])
    assert (rows.loc["T9", "error"] == messages.UNKNOWN_ARM).all()
    assert rows.loc[("T1", "mean_time_per_session"), "significant"]
    assert rows.loc["T2", "error"].map(error_code).isna().all()
    # The stray user is not an SRM problem of the planned arms, but is said.
    assert len(result.srm.observed) == 3 and not result.srm.mismatch
    assert any("Arm T9 (1 user(s)) is not in the experiment file" in w
               for w in result.warnings)
    text = io.StringIO()
    render_terminal(result, Console(file=text, width=80, color_system=None))
    assert "unknown arm" in text.getvalue() and "…" not in text.getvalue()
    assert "UNKNOWN_ARM" in render_markdown(result, None)


def test_tiny_arm_leaves_the_other_arms(three_arms: pd.DataFrame, tmp_path: Path) -> None:
    t2 = three_arms.loc[three_arms["arm"] == "T2", "user"].unique()
    events = three_arms[~three_arms["user"].isin(t2[1:])]  # T2 keeps one user
    write_logs(events, tmp_path / "run", experiment="EXP")
    result = build_report([tmp_path / "run"])
    rows = result.table.set_index(["arm", "metric"])
    assert (rows.loc["T2", "error"] == messages.NOT_ENOUGH_DATA).all()
    assert rows.loc[("T1", "mean_time_per_session"), "significant"]
    assert result.srm.mismatch  # losing an arm's users is what SRM is for
    assert result.checks["small_arms"] == {"T2": 1}
    write_outputs(result, tmp_path / "out")
    assert {p.name for p in (tmp_path / "out").iterdir()} == ALL_FILES
    # An arm of the experiment file with no user at all: its rows say so too.
    (tmp_path / "run" / "experiment.yml").unlink(missing_ok=True)
    _experiment_file(tmp_path / "run", arms=4)
    four = build_report([tmp_path / "run"])
    assert four.arms == ["C", "T1", "T2", "T3"]
    assert four.arm_summary.loc["T3", "users"] == 0
    assert (four.table.set_index("arm").loc["T3", "error"] == messages.NOT_ENOUGH_DATA).all()


def test_families_primary_across_arms_guardrail_one_sided(tmp_path: Path) -> None:
    events = generate_events(2400, seed=9, experiment="EXP", arms=("C", "T1", "T2", "T3"),
                             effects={"T1": 0.08})
    # T2 is slower: its latency guardrail must say harm; T3 is faster: no harm.
    slow, fast = events["arm"] == "T2", events["arm"] == "T3"
    events.loc[slow, "latency"] *= 1.5
    events.loc[fast, "latency"] *= 0.6
    write_logs(events, tmp_path, experiment="EXP")
    result = build_report([tmp_path])
    table = result.table
    primary = table[table["role"] == "primary"]
    assert len(primary) == 3
    # Holm over the three arms' primary p-values only (not arms x metrics).
    p = primary["p_value"].to_numpy()
    order = np.argsort(p)
    stepped = np.maximum.accumulate(p[order] * np.array([3, 2, 1]))
    expected = np.empty(3)
    expected[order] = np.minimum(stepped, 1)
    np.testing.assert_allclose(primary["p_value_adjusted"], expected, rtol=1e-12)
    secondary = table[table["role"] == "secondary"]
    assert len(secondary) == 9 and (secondary["p_value_adjusted"] >= secondary["p_value"]).all()
    guard = table[table["role"] == "guardrail"].set_index("arm")
    assert (guard["alternative"] == "greater").all()
    assert harm_alternative("sessions") == "less"  # harm is a fall for higher-is-better
    assert (guard["p_value_adjusted"] == guard["p_value"]).all()  # uncorrected
    assert guard.loc["T2", "significant"] and guard.loc["T2", "direction"] == "worse"
    assert not guard.loc["T3", "significant"] and guard.loc["T3", "p_value"] > 0.5
    # Intervals agree with the verdicts everywhere: they exclude 0 exactly when significant.
    two = table[table["alternative"] == "two-sided"]
    excludes = (two["lower"] > 0) | (two["upper"] < 0)
    assert (excludes == two["significant"]).all()
    assert ((guard["lower"] > 0) == guard["significant"]).all()
    assert guard["ci_level"].tolist() == pytest.approx([0.90] * 3)
    # Between the unadjusted level and Bonferroni's over the three arms.
    assert primary["ci_level"].between(0.95 - 1e-9, 1 - 0.05 / 3 + 1e-9).all()
    assert any("Guardrail: T2 vs C: mean_request_latency" in s for s in result.summary_lines())
    # The course's interval is still there, unadjusted.
    assert {"welch_lower", "welch_upper", "welch_p_value", "delta_lower"} <= set(table.columns)


def test_latency_outlier_is_warned_and_the_guardrail_stays_sane(three_arms: pd.DataFrame,
                                                                tmp_path: Path) -> None:
    write_logs(three_arms, tmp_path / "clean", experiment="EXP")
    clean = build_report([tmp_path / "clean"])
    events = three_arms.copy()
    events.loc[events.index[events["arm"] == "T1"][5], "latency"] = 1e4
    write_logs(events, tmp_path / "outlier", experiment="EXP")
    result = build_report([tmp_path / "outlier"])

    def guardrail(report):  # noqa: ANN001, ANN202
        return report.table[report.table["metric"] == "mean_request_latency"].set_index("arm")

    guard, before = guardrail(result), guardrail(clean)
    # One 1e4-second request no longer swings the comparison (it made it [-297%, +97%]).
    assert (guard["upper"] - guard["lower"]).max() < 20
    assert (guard["effect"] - before["effect"]).abs().max() < 2
    assert (guard["significant"] == before["significant"]).all()
    assert result.latency_outliers["requests"] == 1
    assert result.latency_outliers["per_arm"] == {"T1": 1}
    assert not clean.latency_outliers
    assert any("latency outliers" in w for w in result.warnings)
    assert (guard["capped_users"] > 0).all() and (guard["cap"] < 1).all()


def test_standalone_report_uses_the_stored_report_settings(three_arms: pd.DataFrame,
                                                          tmp_path: Path) -> None:
    run = tmp_path / "run"
    write_logs(three_arms, run, experiment="EXP")
    _experiment_file(run, report="report:\n  metrics: [mean_time_per_session, time]\n"
                                 "  alpha: 0.01\n  outputs: [terminal, json]\n")
    runner = CliRunner()
    first = runner.invoke(app, ["report", str(run), "--out", str(tmp_path / "a")])
    assert first.exit_code == 0, first.output
    data = json.loads((tmp_path / "a" / "report.json").read_text())
    assert data["metrics"] == ["mean_time_per_session", "time"]
    assert data["settings"]["alpha"] == 0.01 and data["settings"]["guardrails"] == []
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["manifest.json",
                                                                  "report.json"]
    assert "experiment.yml" in first.output.replace("\n", "")
    # The fetch manifest's `report` block wins over the file copy; flags win over both.
    (run / "manifest.json").write_text(json.dumps(
        {"experiment": "EXP", "report": {"metrics": ["time", "mean_time_per_session",
                                                     "mean_request_latency"],
                                         "primary_metric": "time", "alpha": 0.1,
                                         "guardrails": ["mean_request_latency"],
                                         "outputs": ["json"]}}))
    second = runner.invoke(app, ["report", str(run), "--out", str(tmp_path / "b"),
                                 "--alpha", "0.05"])
    assert second.exit_code == 0, second.output
    data = json.loads((tmp_path / "b" / "report.json").read_text())
    assert data["settings"]["primary_metric"] == "time" and data["settings"]["alpha"] == 0.05
    assert data["roles"] == {"time": "primary", "mean_time_per_session": "secondary",
                             "mean_request_latency": "guardrail"}
    # A bad stored block is a clear error naming the source and the key, not a traceback.
    (run / "manifest.json").write_text(json.dumps({"report": {"alpha": 3}}))
    bad = runner.invoke(app, ["report", str(run), "--out", str(tmp_path / "c")])
    assert bad.exit_code != 0 and isinstance(bad.exception, RecctlError)
    assert "report.alpha" in str(bad.exception) and "manifest.json" in str(bad.exception)


@pytest.mark.parametrize(("moved", "valid"), [(10, True), (150, False)])
def test_users_moved_between_arms_invalidate_beyond_a_few(
        three_arms: pd.DataFrame, tmp_path: Path, moved: int, valid: bool) -> None:
    """A split that changed mid-run (or a fork assigning by session) puts users in two arms.
    A few (<= 1%) are left out with a warning; more make the verdict invalid."""
    events = three_arms.copy()
    users = np.sort(events["user"].unique())[:moved]
    sessions = events[events["user"].isin(users)].groupby("user")["session"].first()
    # each moved user's first session is logged under another arm than the rest
    shifted = events["session"].isin(sessions.to_numpy())
    events.loc[shifted, "arm"] = events.loc[shifted, "arm"].map(
        {"C": "T1", "T1": "T2", "T2": "C"})
    write_logs(events, tmp_path, experiment="EXP")
    report = build_report([tmp_path])
    several = report.user_summary.users_in_several_arms
    assert several > 0 and several <= moved
    assert report.valid is valid, report.invalid_reasons
    assert any("appeared in more than one arm" in w for w in report.warnings)
    if not valid:
        assert "the assignment is not a fixed function of the user" in report.invalid_reasons[0]


def test_an_output_folder_that_cannot_be_written_is_a_named_error(
        three_arms: pd.DataFrame, tmp_path: Path) -> None:
    write_logs(three_arms, tmp_path / "run", experiment="EXP")
    taken = tmp_path / "taken"
    taken.write_text("a file where the folder should go")
    result = CliRunner().invoke(app, ["report", str(tmp_path / "run"), "--out", str(taken)])
    assert isinstance(result.exception, RecctlError), result.output  # was a FileExistsError
    assert result.exception.message == f"cannot write the report to {taken}: File exists"
    assert taken.read_text() == "a file where the folder should go"  # nothing overwritten
