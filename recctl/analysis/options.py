"""What a report is asked for: one frozen object, built by `recctl report`, `recctl run`
and the notebook API, and passed whole to the report's builder."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from recctl.constants import DEFAULT_ALPHA, PRIMARY_METRIC
from recctl.spec import ReportSpec
from recctl.stats.settings import CorrectionName

# True, False or "auto" (on when a pre-period is given). Here, not in adjustment, so that
# options need not import the statistics (see recctl/analysis/__init__.py).
CupedMode = bool | str


def _names(value: Sequence[str] | None) -> tuple[str, ...] | None:
    return None if value is None else tuple(str(v) for v in value)


@dataclass(frozen=True)
class ReportOptions:
    """How to read the logs and compare the arms.

    experiment: the one to analyse (None: the fetch manifest's, or the only one in the
    logs). metrics: None means all of METRICS. guardrails: metrics tested one-sided for
    harm (added to the metrics when missing); None marks the DEFAULT_GUARDRAILS that are
    among the metrics. aa: ignore the arms and split the users into two halves (C, T1) by
    a hash of the user id with `seed`. expected_arms: the experiment file's arms (None:
    the `experiment.yml` fetch copied into the run folder, when there is one); arms in the
    logs outside it are reported untestable. pre_period (paths or a PrePeriod) and cuped
    (auto/True/False): CUPED, see recctl.analysis.adjustment. engine: memory, duckdb (out
    of core) or auto, see recctl.analysis.engine.
    """

    experiment: str | None = None
    control: str = "C"
    metrics: Sequence[str] | None = None
    primary_metric: str = PRIMARY_METRIC
    alpha: float = DEFAULT_ALPHA
    correction: CorrectionName = "holm"
    guardrails: Sequence[str] | None = None
    aa: bool = False
    seed: int = 0
    expected_arms: Sequence[str] | None = None
    pre_period: Any = None
    cuped: CupedMode = "auto"
    engine: str = "auto"

    def __post_init__(self) -> None:
        # Tuples, so that a caller's list changed later cannot change the options.
        for name in ("metrics", "guardrails", "expected_arms"):
            object.__setattr__(self, name, _names(getattr(self, name)))

    @classmethod
    def from_spec(cls, spec: ReportSpec, **changes: Any) -> ReportOptions:
        """The options an experiment file's `report:` block gives, then `changes`."""
        base = cls(control=spec.control, metrics=spec.metrics,
                   primary_metric=spec.primary_metric, alpha=spec.alpha,
                   correction=spec.correction, guardrails=spec.guardrails,
                   pre_period=[spec.pre_period] if spec.pre_period else None,
                   cuped=spec.cuped, engine=spec.engine)
        return base.replace(**changes)

    def replace(self, **changes: Any) -> ReportOptions:
        """These options with some changed (an unknown name is a TypeError)."""
        return dataclasses.replace(self, **changes) if changes else self
