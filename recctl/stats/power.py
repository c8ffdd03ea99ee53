"""Sample size for a minimum detectable effect (statsmodels' two-sample t-test power)."""

from __future__ import annotations

import math

from statsmodels.stats.power import TTestIndPower


def users_per_arm(std: float, mde_absolute: float, alpha: float = 0.05, power: float = 0.8,
                  ratio: float = 1.0) -> int:
    """Users needed in the control arm to detect `mde_absolute` with a two-sided t-test.

    `ratio` is treatment size / control size, as statsmodels takes it.
    """
    if std <= 0 or mde_absolute == 0:
        raise ValueError("need a positive standard deviation and a non-zero effect")
    effect_size = abs(mde_absolute) / std  # Cohen's d
    n = TTestIndPower().solve_power(effect_size=effect_size, alpha=alpha, power=power,
                                    ratio=ratio, alternative="two-sided")
    return int(math.ceil(n))


def expected_distinct_users(population: int, episodes: float) -> float:
    """Distinct users after `episodes` uniform draws from `population`: U (1 - (1 - 1/U)^E)."""
    if population <= 0:
        return 0.0
    return population * -math.expm1(episodes * math.log1p(-1.0 / population)) \
        if population > 1 else float(episodes > 0)
