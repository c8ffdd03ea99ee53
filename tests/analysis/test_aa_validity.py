"""Validity: A/A splits of a realistic log reject at the nominal rate.

300 splits of one log by user into two halves by a hash of the user id with a seed (the
report's --aa mode); for each, the share of splits where a metric's test rejects at alpha
must fall inside the binomial 95% interval around alpha. A biased variance or dof (e.g.
ddof=0, a z quantile on a small sample, sessions instead of users as units) pushes the rate
out of it. With families, the primary metric's verdict must reject at alpha (it was 1.8%
when one Holm family spanned every arm x metric), the secondary family at most at alpha,
and the one-sided latency guardrail at alpha.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as ss

from recctl.analysis.build import hash_halves
from recctl.analysis.compare import compare_arms
from recctl.analysis.metrics import user_metrics
from recctl.constants import METRICS
from recctl.eventlog import read_events
from recctl.stats.settings import ReportSettings
from recctl.synthetic import generate_events, write_logs

SPLITS = 300
ALPHA = 0.05


@pytest.fixture(scope="module")
def rejections(tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    folder = tmp_path_factory.mktemp("aa")
    # One arm's worth of heavy-tailed users, logged by two replicas with rotation.
    events = generate_events(4000, seed=2024, experiment="AA", arms=("C", "T1"))
    write_logs(events, folder, experiment="AA", rotate_lines=20_000)
    users, _ = user_metrics(read_events([folder])[0], "exp:AA")
    settings = ReportSettings(alpha=ALPHA, correction="holm")
    out: dict[str, list] = {"welch": [], "delta": [], "primary": [], "secondary_any": [],
                            "guardrail": [], "sizes": []}
    for seed in range(SPLITS):
        halves = hash_halves(users, seed)
        table = compare_arms(halves, ["C", "T1"], "C", METRICS, settings)
        out["welch"].append(table["welch_p_value"].to_numpy() < ALPHA)
        out["delta"].append(table["delta_p_value"].to_numpy() < ALPHA)
        by_role = table.groupby("role")["significant"]
        out["primary"].append(bool(by_role.get_group("primary").any()))
        out["secondary_any"].append(bool(by_role.get_group("secondary").any()))
        out["guardrail"].append(bool(by_role.get_group("guardrail").any()))
        out["sizes"].append(int((halves["arm"] == "C").sum()))
    return {key: np.array(value) for key, value in out.items()}


def test_false_positive_rate_is_nominal_per_metric(rejections: dict[str, np.ndarray]) -> None:
    low, high = ss.binom.interval(0.95, SPLITS, ALPHA)
    for name in ("welch", "delta"):
        counts = rejections[name].sum(axis=0)
        for metric, count in zip(METRICS, counts, strict=True):
            assert low <= count <= high, (
                f"{name} {metric}: {count}/{SPLITS} outside [{low}, {high}]")


def test_primary_verdict_rejects_at_alpha(rejections: dict[str, np.ndarray]) -> None:
    low, high = ss.binom.interval(0.95, SPLITS, ALPHA)
    assert low <= rejections["primary"].sum() <= high
    # The one-sided guardrail rejects (for harm) at alpha too.
    assert low <= rejections["guardrail"].sum() <= high


def test_holm_keeps_the_secondary_familywise_rate_at_most_alpha(
        rejections: dict[str, np.ndarray]) -> None:
    _, high = ss.binom.interval(0.95, SPLITS, ALPHA)
    assert rejections["secondary_any"].sum() <= high


def test_hash_halves_are_not_forced_equal(rejections: dict[str, np.ndarray]) -> None:
    # A hash split varies like a binomial draw; a permutation would give exactly half.
    sizes = rejections["sizes"]
    assert len(set(sizes.tolist())) > 20
    binomial_sd = np.sqrt(4000) / 2  # 4000 users, each in C with probability 1/2
    assert 0.5 * binomial_sd < sizes.std() < 2 * binomial_sd
    assert abs(sizes.mean() - 2000) < 3 * binomial_sd / np.sqrt(SPLITS) + 5
