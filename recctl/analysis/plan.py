"""How many users (and episodes) an experiment needs to see a given effect."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from recctl.errors import RecctlError
from recctl.stats.power import users_per_arm
from recctl.stats.statistics import SampleMeanStatistic

PLAN_COLUMNS = ("metric", "control_mean", "control_std", "mde_percent", "mde_absolute",
                "users_per_arm", "users_total", "sessions_per_user", "episodes_total")


def plan_from_users(users: pd.DataFrame, control: str, metrics: Sequence[str],
                    mde_percent: float, alpha: float = 0.05, power: float = 0.8,
                    arms: int = 2) -> pd.DataFrame:
    """Sample sizes from a previous run's control arm (user-level metrics).

    Episodes are estimated as users x the sessions per user seen in that run (one
    simulated episode is one session).
    """
    base = users[users["arm"] == control]
    if len(base) < 2:
        raise RecctlError(f"the control arm {control!r} has fewer than two users",
                          "plan from a run with more traffic, or pass --variance and --mean")
    sessions_per_user = float(base["sessions"].mean())
    rows = []
    for metric in metrics:
        stat = SampleMeanStatistic.from_values(base[metric].to_numpy())
        rows.append(_row(metric, stat.mean, stat.std, mde_percent, alpha, power, arms,
                         sessions_per_user))
    return pd.DataFrame(rows, columns=list(PLAN_COLUMNS))


def plan_from_variance(variance: float, mean: float, mde_percent: float, alpha: float = 0.05,
                       power: float = 0.8, arms: int = 2, metric: str = "metric"
                       ) -> pd.DataFrame:
    """Sample sizes from a known user-level variance and mean (MDE in % of the mean)."""
    if variance <= 0 or mean == 0:
        raise RecctlError("need a positive --variance and a non-zero --mean")
    row = _row(metric, mean, variance**0.5, mde_percent, alpha, power, arms, float("nan"))
    return pd.DataFrame([row], columns=list(PLAN_COLUMNS))


def _row(metric: str, mean: float, std: float, mde_percent: float, alpha: float, power: float,
         arms: int, sessions_per_user: float) -> dict[str, object]:
    if mde_percent <= 0:
        raise RecctlError("the minimum detectable effect must be positive (in %)")
    mde_absolute = abs(mean) * mde_percent / 100
    if std <= 0 or mde_absolute == 0:
        n = 0 if std <= 0 else -1
    else:
        n = users_per_arm(std, mde_absolute, alpha=alpha, power=power)
    total = n * arms if n > 0 else n
    return {"metric": metric, "control_mean": mean, "control_std": std,
            "mde_percent": mde_percent, "mde_absolute": mde_absolute, "users_per_arm": n,
            "users_total": total, "sessions_per_user": sessions_per_user,
            "episodes_total": round(total * sessions_per_user) if total > 0
            and sessions_per_user == sessions_per_user else None}
