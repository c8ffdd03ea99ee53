"""How many episodes an experiment needs to see a given effect, in this world.

From a pilot run (session-level data, every arm relative to its own mean) we estimate
each metric's variance components (recctl.stats.power.VarianceComponents); the world
gives the population U; the report's correction gives the level (the primary metric's
family is the treatment arms: Bonferroni's alpha / (arms - 1), which Holm's first step
equals). Then for E episodes: users per arm = U (1 - (1 - 1/U)^E) / arms, each user's
variance from the sessions they get, and the power of the report's delta-method test.
The plan is the smallest E reaching the power, or the statement that no E does (the
limit E -> infinity: every user in, with many sessions each).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import orjson
import pandas as pd

from recctl.analysis.sessions import sessionize
from recctl.errors import RecctlError
from recctl.stats.cuped import RegressionStatistic, covariate_matrix, cuped_adjust
from recctl.stats.power import (
    VarianceComponents,
    expected_distinct_users,
    relative_power,
    session_moments,
    users_per_arm,
)
from recctl.stats.statistics import SampleMeanStatistic

PLAN_COLUMNS = ("metric", "control_mean", "control_std", "mde_percent", "mde_absolute",
                "alpha_per_arm", "cuped", "variance_reduction", "episodes_total",
                "users_per_arm", "users_total", "sessions_per_user", "power",
                "power_at_episodes", "max_power", "detectable", "note")
# What kind of per-user value each metric is (see VarianceComponents).
KINDS = {"mean_time_per_session": ("mean", "time"), "mean_tracks_per_session": ("mean", "tracks"),
         "time": ("sum", "time")}
NOT_PLANNED = {
    "sessions": "not planned: the simulator draws each episode's user uniformly, so no "
                "recommender can change how many sessions a user has",
    "mean_request_latency": "not planned: a guardrail (tested for harm), not an outcome",
}
MAX_EPISODES_PER_USER = 1_000  # "any number of episodes" is taken as this many per user


def variance_components(events: pd.DataFrame, users: pd.DataFrame, control: str,
                        metric: str, pre: pd.DataFrame | None = None,
                        pool_arms: bool = True) -> VarianceComponents:
    """The control's per-session mean, and the between/within-user variances of `metric`.

    One-way random effects by moments, per arm: within = pooled variance of a user's
    sessions around their own mean; between = variance of user means - within x
    mean(1/k). With `pool_arms` every arm of the pilot contributes, each relative to its
    own mean (so a multiplicative treatment effect does not inflate them) and rescaled to
    the control's mean: a heavy-tailed metric's variance from one arm of a pilot is
    noisy (+-10% at ~5,000 users), and the plan's power is sensitive to it. With a
    pre-period, `explained` is the variance CUPED removes, pooled the same way.
    """
    kind, column = KINDS[metric]
    arm_of = users["arm"].astype(str)
    if (arm_of == control).sum() < 3:
        raise RecctlError(f"the control arm {control!r} has fewer than three users",
                          "plan from a pilot run with more traffic")
    arms = sorted(set(arm_of)) if pool_arms else [control]
    sessions, _ = sessionize(events[events["user"].isin(users.index)])
    parts = {arm: _arm_components(sessions, users[arm_of == arm], column, metric, pre)
             for arm in arms if (arm_of == arm).sum() >= 3}
    weights = {arm: p[4] for arm, p in parts.items()}
    total = sum(weights.values())
    control_mean = parts[control][0]

    def pooled(index: int) -> float:  # relative to each arm's mean, back on the control's
        return control_mean**2 * sum(weights[a] * p[index] / p[0] ** 2
                                     for a, p in parts.items() if p[0]) / total

    return VarianceComponents(kind=kind, mean=control_mean, between=pooled(1),
                              within=pooled(2), explained=pooled(3),
                              explained_at_sessions=parts[control][5])


def _arm_components(sessions: pd.DataFrame, users: pd.DataFrame, column: str, metric: str,
                    pre: pd.DataFrame | None
                    ) -> tuple[float, float, float, float, int, float]:
    """(mean per session, between, within, explained, users, mean sessions) of one arm."""
    mine = sessions[sessions["user"].isin(users.index)]
    values = mine[column].to_numpy(dtype=np.float64)
    grouped = pd.Series(values).groupby(mine["user"].to_numpy())
    k = grouped.size().to_numpy(dtype=np.float64)
    user_means = grouped.mean().to_numpy()
    squares = grouped.var(ddof=0).to_numpy() * k  # sum of squares around the user's mean
    within = float(squares[k > 1].sum() / (k[k > 1] - 1).sum()) if (k > 1).any() else 0.0
    between = max(float(user_means.var(ddof=1)) - within * float((1 / k).mean()), 0.0)
    explained = 0.0
    if pre is not None and metric in pre.columns:
        y = users[metric].to_numpy(dtype=np.float64)
        z = covariate_matrix(pre[metric].reindex(users.index).to_numpy(dtype=np.float64))
        result = cuped_adjust([RegressionStatistic.from_arrays(y, z)])
        explained = (1 - result.variance_ratio) * float(y.var(ddof=1))
    return float(values.mean()), between, within, explained, len(users), float(k.mean())


def power_at(components: VarianceComponents, population: int, episodes: float, arms: int,
             mde: float, alpha: float) -> tuple[float, float]:
    """(power, users per arm) of the report's primary test after `episodes` episodes."""
    n_per_arm = expected_distinct_users(population, episodes) / arms
    mean, variance = components.user_mean_and_variance(session_moments(population, episodes))
    return relative_power(mde, mean, variance, n_per_arm, alpha), n_per_arm


def episodes_needed(components: VarianceComponents, population: int, arms: int, mde: float,
                    alpha: float, power: float) -> int | None:
    """The fewest episodes reaching `power` (bisection: power grows with episodes), or
    None when even MAX_EPISODES_PER_USER x population episodes do not reach it."""
    high = MAX_EPISODES_PER_USER * population
    if power_at(components, population, high, arms, mde, alpha)[0] < power:
        return None
    low = 1
    while high - low > max(1, low // 500):  # 0.2% is precise enough for a plan
        middle = (low + high) // 2
        if power_at(components, population, middle, arms, mde, alpha)[0] >= power:
            high = middle
        else:
            low = middle
    return high


def plan_experiment(events: pd.DataFrame, users: pd.DataFrame, control: str,
                    metrics: Sequence[str], mde_percent: float, population: int,
                    arms: int = 2, alpha: float = 0.05, power: float = 0.8,
                    pre: pd.DataFrame | None = None, episodes: int | None = None
                    ) -> pd.DataFrame:
    """One row per metric: episodes needed for `power` at `mde_percent`, in this world.

    alpha is the family's level; the primary metric's family is the treatment arms, so
    each comparison is tested at alpha / (arms - 1). `episodes` adds the power at that
    many episodes. `pre` (pre-period user metrics) makes the plan CUPED-aware.
    """
    if mde_percent <= 0:
        raise RecctlError("the minimum detectable effect must be positive (in %)")
    if population < 2:
        raise RecctlError(f"the world has {population} user(s); an A/B needs more")
    if arms < 2:
        raise RecctlError("an A/B needs at least two arms", "pass --arms 2 or more")
    mde = mde_percent / 100
    alpha_arm = alpha / (arms - 1)
    base = users[users["arm"].astype(str) == control]
    rows: list[dict[str, object]] = []
    for metric in metrics:
        if metric not in KINDS:
            rows.append({"metric": metric, "note": NOT_PLANNED.get(metric, "not planned")})
            continue
        parts = variance_components(events, users, control, metric, pre)
        stat = SampleMeanStatistic.from_values(base[metric].to_numpy())
        needed = episodes_needed(parts, population, arms, mde, alpha_arm, power)
        limit_power, _ = power_at(parts, population, MAX_EPISODES_PER_USER * population,
                                  arms, mde, alpha_arm)
        row: dict[str, object] = {
            "metric": metric, "control_mean": stat.mean, "control_std": stat.std,
            "mde_percent": mde_percent, "mde_absolute": abs(stat.mean) * mde,
            "alpha_per_arm": alpha_arm, "cuped": parts.explained > 0,
            "variance_reduction": (parts.explained / stat.variance if stat.variance else 0.0),
            "max_power": limit_power, "detectable": needed is not None}
        if needed is not None:
            reached, n_arm = power_at(parts, population, needed, arms, mde, alpha_arm)
            row.update(episodes_total=needed, users_per_arm=round(n_arm),
                       users_total=round(n_arm * arms),
                       sessions_per_user=session_moments(population, needed).mean,
                       power=reached, note="")
        else:
            row.update(note=(f"not detectable in this world: with all {population:,} users "
                             f"and unlimited episodes the power is at most "
                             f"{limit_power:.0%}"))
        if episodes is not None:
            row["power_at_episodes"] = power_at(parts, population, episodes, arms, mde,
                                                alpha_arm)[0]
        rows.append(row)
    return pd.DataFrame(rows, columns=list(PLAN_COLUMNS))


def plan_without_world(users: pd.DataFrame, control: str, metrics: Sequence[str],
                       mde_percent: float, alpha: float = 0.05, power: float = 0.8,
                       arms: int = 2) -> pd.DataFrame:
    """The textbook users per arm from the pilot's control arm, when no world is given.

    Said loudly in each row's note: without the population and the simulator's draw this
    cannot tell episodes, nor whether the world even has that many users.
    """
    base = users[users["arm"].astype(str) == control]
    if len(base) < 2:
        raise RecctlError(f"the control arm {control!r} has fewer than two users",
                          "plan from a pilot run with more traffic")
    frames = []
    for metric in metrics:
        stat = SampleMeanStatistic.from_values(base[metric].to_numpy())
        if stat.variance <= 0 or stat.mean == 0:
            frames.append(pd.DataFrame([{"metric": metric, "note": "no variance: not planned"}],
                                       columns=list(PLAN_COLUMNS)))
            continue
        row = plan_from_variance(stat.variance, stat.mean, mde_percent, alpha, power, arms,
                                 metric)
        row["note"] = ("no world given (--world or --file): textbook users per arm only; "
                       "the world's population and sessions per user are not accounted for")
        frames.append(row)
    return pd.concat(frames, ignore_index=True)


def plan_from_variance(variance: float, mean: float, mde_percent: float, alpha: float = 0.05,
                       power: float = 0.8, arms: int = 2, metric: str = "metric"
                       ) -> pd.DataFrame:
    """Users per arm from a known user-level variance and mean (MDE in % of the mean).

    The textbook t-test size at the report's per-comparison level; it knows nothing of
    the world (population, sessions per user), so it gives no episodes.
    """
    if variance <= 0 or mean == 0:
        raise RecctlError("need a positive --variance and a non-zero --mean")
    if mde_percent <= 0:
        raise RecctlError("the minimum detectable effect must be positive (in %)")
    alpha_arm = alpha / max(arms - 1, 1)
    n = users_per_arm(math.sqrt(variance), abs(mean) * mde_percent / 100, alpha=alpha_arm,
                      power=power)
    row = {"metric": metric, "control_mean": mean, "control_std": math.sqrt(variance),
           "mde_percent": mde_percent, "mde_absolute": abs(mean) * mde_percent / 100,
           "alpha_per_arm": alpha_arm, "cuped": False, "variance_reduction": 0.0,
           "users_per_arm": n, "users_total": n * arms, "power": power,
           "note": "textbook t-test size: no world given, so no episodes"}
    return pd.DataFrame([row], columns=list(PLAN_COLUMNS))


def world_population(world_dir: str | Path) -> int:
    """The number of users in a world folder (its manifest, else users.json's lines)."""
    folder = Path(world_dir)
    manifest = folder / "manifest.json"
    if manifest.is_file():
        try:
            users = orjson.loads(manifest.read_bytes()).get("users")
        except orjson.JSONDecodeError:
            users = None
        if isinstance(users, int) and users > 0:
            return users
    listing = folder / "users.json"
    if not listing.is_file():
        raise RecctlError(f"{folder} is not a world folder (no manifest.json or users.json)",
                          "pass --world DATA/world, or --file with an experiment file whose "
                          "data folder holds the world")
    with listing.open("rb") as lines:
        return sum(1 for line in lines if line.strip())
