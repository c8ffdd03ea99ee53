"""Validity: random A/A splits of a realistic log reject at the nominal rate.

300 splits of one log by user into random halves (the report's --aa mode); for each, the
share of splits where a metric's test rejects at alpha must fall inside the binomial 95%
interval around alpha. A biased variance or dof (e.g. ddof=0, a z quantile on a small
sample, sessions instead of users as units) pushes the rate out of it.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as ss

from recctl.analysis.compare import compare_arms
from recctl.analysis.metrics import METRICS, user_metrics
from recctl.analysis.report import _random_halves
from recctl.analysis.synthetic import generate_events, write_logs
from recctl.eventlog import read_events
from recctl.stats.settings import ReportSettings

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
    welch, delta, holm_any = [], [], []
    for seed in range(SPLITS):
        table = compare_arms(_random_halves(users, seed), ["C", "T1"], "C", METRICS, settings)
        welch.append(table["p_value"].to_numpy() < ALPHA)
        delta.append(table["delta_p_value"].to_numpy() < ALPHA)
        holm_any.append(bool(table["significant"].any()))
    return {"welch": np.array(welch), "delta": np.array(delta), "holm_any": np.array(holm_any)}


def test_false_positive_rate_is_nominal_per_metric(rejections: dict[str, np.ndarray]) -> None:
    low, high = ss.binom.interval(0.95, SPLITS, ALPHA)
    for name in ("welch", "delta"):
        counts = rejections[name].sum(axis=0)
        for metric, count in zip(METRICS, counts, strict=True):
            assert low <= count <= high, (
                f"{name} {metric}: {count}/{SPLITS} outside [{low}, {high}]")


def test_holm_keeps_the_familywise_rate_at_most_alpha(rejections: dict[str, np.ndarray]) -> None:
    _, high = ss.binom.interval(0.95, SPLITS, ALPHA)
    assert rejections["holm_any"].sum() <= high
