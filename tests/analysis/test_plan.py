"""`recctl plan`: the world's population, sessions per user, the report's correction."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as ss
from typer.testing import CliRunner

from recctl.analysis import api
from recctl.analysis.plan import (
    episodes_needed,
    plan_experiment,
    power_at,
    variance_components,
    world_population,
)
from recctl.cli.main import app
from recctl.errors import RecctlError
from recctl.stats.power import VarianceComponents, expected_distinct_users, session_moments

PARTS = VarianceComponents(kind="mean", mean=3.7, between=13.0, within=10.5)


def test_distinct_users_and_sessions_match_the_simulators_draw() -> None:
    rng = np.random.default_rng(0)
    population, episodes = 2_000, 3_000
    draws = rng.integers(0, population, size=(200, episodes))
    counts = [np.bincount(d, minlength=population) for d in draws]
    distinct = np.mean([(c > 0).sum() for c in counts])
    assert expected_distinct_users(population, episodes) == pytest.approx(distinct, rel=0.01)
    seen = np.concatenate([c[c > 0] for c in counts]).astype(np.float64)
    moments = session_moments(population, episodes)
    assert moments.mean == pytest.approx(seen.mean(), rel=0.01)
    assert moments.mean_inverse == pytest.approx((1 / seen).mean(), rel=0.01)
    assert moments.mean_square == pytest.approx((seen**2).mean(), rel=0.02)


def test_power_is_the_delta_test_by_hand() -> None:
    population, episodes, mde, alpha = 10_000, 30_000, 0.05, 0.05 / 2  # 3 arms
    power, n_arm = power_at(PARTS, population, episodes, 3, mde, alpha)
    users = population * (1 - (1 - 1 / population) ** episodes)
    assert n_arm == pytest.approx(users / 3, rel=1e-9)
    k = np.arange(1, 200)
    pmf = ss.binom.pmf(k, episodes, 1 / population)
    variance = 13.0 + 10.5 * (pmf / pmf.sum()) @ (1 / k)
    se = math.sqrt(2 * 1.05**2 * variance / (n_arm * 3.7**2))
    z = ss.norm.ppf(1 - alpha / 2)
    assert power == pytest.approx(ss.norm.cdf(0.05 / se - z) + ss.norm.cdf(-0.05 / se - z),
                                  rel=1e-6)


def test_episodes_needed_is_the_first_to_reach_the_power() -> None:
    needed = episodes_needed(PARTS, 10_000, 2, 0.10, 0.05, 0.8)
    assert needed is not None
    assert power_at(PARTS, 10_000, needed, 2, 0.10, 0.05)[0] >= 0.8
    assert power_at(PARTS, 10_000, needed * 0.99, 2, 0.10, 0.05)[0] < 0.8
    # More arms: a smaller share of the users each and a stricter level: more episodes.
    more = episodes_needed(PARTS, 10_000, 3, 0.10, 0.025, 0.8)
    assert more is not None and more > needed


def test_not_detectable_at_any_number_of_episodes() -> None:
    # Limit: 5,000 users per arm, variance 13 (between users only): the 5% power is ~69%.
    assert episodes_needed(PARTS, 10_000, 2, 0.05, 0.05, 0.8) is None
    cuped = VarianceComponents(kind="mean", mean=3.7, between=13.0, within=10.5,
                               explained=5.0)
    assert episodes_needed(cuped, 10_000, 2, 0.05, 0.05, 0.8) is not None


@pytest.fixture(scope="module")
def pilot(ab_logs: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    events = api.load(ab_logs)
    return events, api.user_level(events)


def test_plan_on_a_pilot(pilot: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    events, users = pilot
    parts = variance_components(events, users, "C", "mean_time_per_session", pool_arms=False)
    control = users[users["arm"] == "C"]["mean_time_per_session"]
    assert parts.mean > 0 and parts.between > 0 and parts.within > 0
    # The components rebuild the pilot's variance of user values, at its own sessions.
    k = users[users["arm"] == "C"]["sessions"].to_numpy()
    rebuilt = parts.between + parts.within * (1 / k).mean()
    assert rebuilt == pytest.approx(control.var(), rel=1e-6)
    # Pooled over arms, each relative to its own mean: the arms' planted +-25% effects
    # on session length do not make the pooled figures those of a mixture.
    pooled = variance_components(events, users, "C", "mean_time_per_session")
    assert pooled.mean == parts.mean
    assert 0.5 < pooled.between / parts.between < 2 and 0.5 < pooled.within / parts.within < 2
    table = plan_experiment(events, users, "C", ["mean_time_per_session", "time", "sessions",
                            "mean_request_latency"], 10, population=1_000_000, arms=3,
                            episodes=50_000).set_index("metric")
    primary = table.loc["mean_time_per_session"]
    assert primary["alpha_per_arm"] == pytest.approx(0.025)
    assert primary["detectable"] and primary["power"] >= 0.8
    assert primary["users_per_arm"] == pytest.approx(
        expected_distinct_users(1_000_000, primary["episodes_total"]) / 3, abs=1)
    assert 0 < primary["power_at_episodes"] < 1
    assert "no recommender" in table.loc["sessions", "note"]
    assert "guardrail" in table.loc["mean_request_latency", "note"]
    small = plan_experiment(events, users, "C", ["mean_time_per_session"], 1, population=500)
    assert not small.loc[0, "detectable"]
    assert "not detectable in this world" in small.loc[0, "note"]


def test_plan_command(ab_logs: Path, tmp_path: Path) -> None:
    world = tmp_path / "world"
    world.mkdir()
    (world / "users.json").write_text("".join(f'{{"user": {i}}}\n' for i in range(800)))
    assert world_population(world) == 800
    result = CliRunner().invoke(app, ["plan", str(ab_logs), "--world", str(world), "--mde",
                                      "2", "--episodes", "1000"])
    assert result.exit_code == 0, result.output
    assert "not detectable in this world" in result.output and "800 users" in result.output
    textbook = CliRunner().invoke(app, ["plan", str(ab_logs), "--arms", "3"], terminal_width=200)
    assert textbook.exit_code == 0, textbook.output
    assert "no world given" in textbook.output and "0.025 each" in textbook.output
    nothing = CliRunner().invoke(app, ["plan"])
    assert isinstance(nothing.exception, RecctlError)


def test_plan_is_cuped_aware(pilot: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    events, users = pilot
    rng = np.random.default_rng(2)
    pre = users[["mean_time_per_session", "time"]] * rng.lognormal(0, 0.3, (len(users), 1))
    pre = pre.iloc[: int(0.9 * len(pre))]  # some users have no pre-period
    plain = plan_experiment(events, users, "C", ["mean_time_per_session"], 10,
                            population=1_000_000).iloc[0]
    cuped = plan_experiment(events, users, "C", ["mean_time_per_session"], 10,
                            population=1_000_000, pre=pre).iloc[0]
    assert not plain["cuped"] and cuped["cuped"]
    assert 0.2 < cuped["variance_reduction"] < 1
    assert cuped["episodes_total"] < plain["episodes_total"]
    assert cuped["power"] >= 0.8


def test_plan_on_an_experiment_file_and_bad_probabilities(
        ab_logs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    monkeypatch.setenv("RECCTL_HOME", str(tmp_path))
    world = tmp_path / "world"
    world.mkdir()
    (world / "users.json").write_text("".join(f'{{"user": {i}}}\n' for i in range(800)))
    experiment = tmp_path / "exp.yml"
    experiment.write_text(f"name: EXP\nworld: {world}\narms:\n"
                          "  C: {type: random}\n  T1: {type: random}\n  T2: {type: random}\n")
    runner = CliRunner()
    unfetched = runner.invoke(app, ["plan", str(experiment)])
    assert isinstance(unfetched.exception, RecctlError)
    assert "recctl plan" in unfetched.exception.hint  # not `recctl report`
    shutil.copytree(ab_logs, tmp_path / "cache" / "EXP" / "20260101T000000Z-aaaaaa")
    (tmp_path / "cache" / "EXP" / "20260101T000000Z-aaaaaa" / "manifest.json").write_text("{}")
    # The file's three arms and its world: the same as passing them by hand.
    by_file = runner.invoke(app, ["plan", str(experiment), "--cuped", "off"],
                            terminal_width=200)
    by_hand = runner.invoke(app, ["plan", str(tmp_path / "cache" / "EXP"), "--arms", "3",
                                  "--world", str(world), "--cuped", "off"], terminal_width=200)
    assert by_file.exit_code == 0, by_file.output
    assert "800 users" in by_file.output and "0.025 each" in by_file.output
    assert by_file.output == by_hand.output
    for flag, value in (("--power", "1.5"), ("--power", "0"), ("--alpha", "1")):
        bad = runner.invoke(app, ["plan", str(experiment), flag, value])
        assert isinstance(bad.exception, RecctlError), bad.output
        assert flag in bad.exception.message
