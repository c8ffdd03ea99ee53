"""CUPED in the report: pre-period logs on disk, the adjusted headline and the raw figures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
import pandas as pd
import pytest

from recctl.analysis import build_report, write_outputs
from recctl.analysis.preperiod import load_pre_period
from recctl.errors import RecctlError
from recctl.spec import default_pre_period
from recctl.synthetic import generate_events, write_logs

PRIMARY = "mean_time_per_session"


@pytest.fixture(autouse=True)
def _workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The pre-period cache goes to a temporary workspace, not the checkout."""
    monkeypatch.setenv("RECCTL_HOME", str(tmp_path))


@pytest.fixture(scope="module")
def pre_logs(ab_events: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A pre-period for 80% of the experiment's users: the same users' tastes before the
    treatments (the generator's seed, no effects), listen times jittered, so the covariate
    correlates with the metric without equalling it and carries no treatment effect."""
    rng = np.random.default_rng(4)
    before = generate_events(3000, seed=11, experiment="EXP", arms=("C", "T1", "T2"))
    users = before["user"].unique()
    assert len(set(users) & set(ab_events["user"])) > 0.99 * len(users)  # the same users
    kept = before[before["user"].isin(rng.choice(users, int(0.8 * len(users)),
                                                 replace=False))]
    jitter = rng.uniform(0.5, 1.0, len(kept))
    kept = kept.assign(time=np.round(np.clip(kept["time"] * jitter, 0, 1), 4))
    folder = tmp_path_factory.mktemp("data") / "logs" / "day-000"
    write_logs(kept, folder, experiment="BOOT", replicas=1)
    return folder.parent


def test_pre_period_is_read_per_user(pre_logs: Path, ab_events: pd.DataFrame) -> None:
    pre = load_pre_period([pre_logs])
    assert 0.75 < len(pre.users) / ab_events["user"].nunique() < 0.85
    assert PRIMARY in pre.users.columns and pre.users.index.name == "user"
    assert default_pre_period(pre_logs.parent) == pre_logs
    assert default_pre_period(pre_logs) is None  # no logs/ under the logs folder itself
    with pytest.raises(RecctlError, match="does not exist"):
        load_pre_period([pre_logs / "nope"])


def test_adjusted_headline_with_raw_beside(ab_logs: Path, pre_logs: Path,
                                           tmp_path: Path) -> None:
    plain = build_report([ab_logs], cuped=False, pre_period=[pre_logs])
    adjusted = build_report([ab_logs], pre_period=[pre_logs])  # auto: on with a pre-period
    assert plain.cuped is None and "raw_effect" not in plain.table.columns
    assert adjusted.cuped is not None
    assert adjusted.cuped.users_with_pre_period / adjusted.cuped.users == pytest.approx(0.8,
                                                                                       abs=0.02)
    p, a = plain.primary.set_index("arm"), adjusted.primary.set_index("arm")
    # The raw columns are exactly what the report shows without CUPED.
    for raw, headline in (("raw_effect", "effect"), ("raw_lower", "lower"),
                          ("raw_upper", "upper"), ("raw_p_value_adjusted", "p_value_adjusted"),
                          ("raw_delta_lower", "delta_lower"), ("raw_delta_upper", "delta_upper"),
                          ("raw_welch_lower", "welch_lower"), ("raw_welch_upper", "welch_upper")):
        assert np.allclose(a[raw], p[headline], rtol=1e-12)
    reduction = adjusted.cuped.variance_reduction[PRIMARY]
    assert reduction > 0.2
    assert (a["variance_reduction"] == reduction).all() and a["cuped"].all()
    narrower = (a["upper"] - a["lower"]) / (p["upper"] - p["lower"])
    assert (narrower < 0.9).all()
    # The planted +-25% effects: same side, stronger evidence.
    assert (np.sign(a["effect"]) == np.sign(p["effect"])).all()
    assert (a["p_value"] < p["p_value"]).all()
    cuped_line = next(line for line in adjusted.summary_lines() if line.startswith("CUPED"))
    assert f"{p.loc['T1', 'effect']:+.2f}%" in cuped_line  # the raw estimate, shown too
    latency = adjusted.table[adjusted.table["metric"] == "mean_request_latency"]
    plain_latency = plain.table[plain.table["metric"] == "mean_request_latency"]
    assert not latency["cuped"].any()  # a guardrail of the service: never adjusted
    assert np.allclose(latency["effect"], plain_latency["effect"])
    write_outputs(adjusted, tmp_path, ["json", "csv"])
    saved = orjson.loads((tmp_path / "report.json").read_bytes())
    assert saved["cuped"]["variance_reduction"][PRIMARY] == pytest.approx(reduction)
    assert "raw_effect" in saved["comparisons"][0]
    assert "raw_effect" in (tmp_path / "comparisons.csv").read_text().splitlines()[0]


def test_cuped_modes(ab_logs: Path) -> None:
    assert build_report([ab_logs]).cuped is None  # auto without a pre-period: off
    with pytest.raises(RecctlError, match="no pre-period"):
        build_report([ab_logs], cuped=True)
    with pytest.raises(RecctlError, match="true, false or auto"):
        build_report([ab_logs], cuped="yes", pre_period=[ab_logs])


def _experiment_file(folder: Path, extra: str) -> Path:
    path = folder / "exp.yml"
    path.write_text("name: e\ndata: data\narms:\n  C: {type: top_pop}\n  T1: {type: top_pop}\n"
                    + extra)
    return path


def test_experiment_file_cuped_keys(tmp_path: Path, pre_logs: Path) -> None:
    from recctl.spec import parse_experiment

    spec = parse_experiment(_experiment_file(tmp_path, "")).spec
    assert spec.report.cuped == "auto" and spec.pre_period_paths == []  # no DATA/logs
    assert spec.simulation.stop_early is False and spec.simulation.peek_every == 500
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "logs").symlink_to(pre_logs, target_is_directory=True)
    assert parse_experiment(_experiment_file(tmp_path, "")).spec.pre_period_paths == [
        tmp_path.resolve() / "data" / "logs"]
    spec = parse_experiment(_experiment_file(
        tmp_path, "report: {cuped: true, pre_period: old/run}\n"
                  "simulation: {stop_early: true, peek_every: 100}\n")).spec
    assert spec.report.cuped is True and spec.simulation.peek_every == 100
    assert spec.pre_period_paths == [tmp_path.resolve() / "old" / "run"]
    for bad in ("report: {cuped: maybe}\n", "simulation: {peek_every: 0}\n"):
        with pytest.raises(RecctlError, match="cuped|peek_every"):
            parse_experiment(_experiment_file(tmp_path, bad))


def test_pre_period_cache(pre_logs: Path, tmp_path: Path) -> None:
    fresh = load_pre_period([pre_logs])
    stored = list((tmp_path / "cache" / "pre-period").glob("*.npz"))
    assert len(stored) == 1
    again = load_pre_period([pre_logs])
    pd.testing.assert_frame_equal(again.users, fresh.users, check_dtype=False)
    assert again.lines == fresh.lines
    stored[0].write_bytes(b"damaged")  # rebuilt, not trusted
    pd.testing.assert_frame_equal(load_pre_period([pre_logs]).users, fresh.users,
                                  check_dtype=False)
