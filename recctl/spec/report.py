"""The experiment file's `report:` block: metrics and their roles, alpha, the correction,
outputs, CUPED and the engine that reads the logs."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from recctl.constants import DEFAULT_ALPHA, DEFAULT_GUARDRAILS, METRICS, PRIMARY_METRIC
from recctl.settings import Settings

OutputName = Literal["terminal", "markdown", "json", "csv", "png"]
OUTPUTS: tuple[OutputName, ...] = ("terminal", "markdown", "json", "csv", "png")


class ReportSpec(Settings):
    """The report's settings. Roles: `primary_metric` (corrected across the treatment arms
    only), `guardrails` (one-sided tests for harm, uncorrected; default: the latency, when
    it is among the metrics) and every other metric in `metrics` (secondary: corrected in
    their own family)."""

    metrics: list[str] = Field(default_factory=lambda: list(METRICS))
    primary_metric: str = PRIMARY_METRIC
    guardrails: list[str] = Field(default_factory=lambda: list(DEFAULT_GUARDRAILS))
    alpha: float = Field(DEFAULT_ALPHA, gt=0, lt=1)
    control: str = "C"
    correction: Literal["holm", "none"] = "holm"
    outputs: list[OutputName] = Field(default_factory=lambda: list(OUTPUTS))
    # CUPED: "auto" adjusts by the pre-period when there is one (`pre_period`, else the
    # data folder's bootstrap logs DATA/logs/); true requires one; false turns it off.
    cuped: bool | Literal["auto"] = "auto"
    pre_period: Path | None = None
    # How the logs are read: memory (pandas), duckdb (out of core, `pip install
    # 'recctl[duckdb]'`), or auto: DuckDB above 1 GiB of logs when installed.
    engine: Literal["auto", "memory", "duckdb"] = "auto"

    @model_validator(mode="before")
    @classmethod
    def _default_guardrails(cls, data: Any) -> Any:
        # Unset guardrails mean "the default ones among the metrics", so that an older file
        # with `metrics: [time]` keeps comparing only what it lists.
        if isinstance(data, dict) and "guardrails" not in data:
            metrics = data.get("metrics", METRICS)
            primary = data.get("primary_metric", PRIMARY_METRIC)
            if isinstance(metrics, list | tuple):
                data = {**data, "guardrails": [g for g in DEFAULT_GUARDRAILS
                                               if g in metrics and g != primary]}
        return data

    @field_validator("metrics", "guardrails")
    @classmethod
    def _known_metrics(cls, value: list[str]) -> list[str]:
        unknown = [m for m in value if m not in METRICS]
        if unknown:
            raise ValueError(f"unknown metric(s) {unknown}; known: {', '.join(METRICS)}")
        repeated = sorted({m for m in value if value.count(m) > 1})
        if repeated:
            raise ValueError(f"{repeated} listed more than once; list each metric once")
        return value

    @model_validator(mode="after")
    def _roles(self) -> ReportSpec:
        if self.primary_metric in self.guardrails:
            raise ValueError(f"report.guardrails: {self.primary_metric!r} is the primary "
                             "metric; a metric has one role, remove it from guardrails")
        missing = [g for g in self.guardrails if g not in self.metrics]
        if missing:
            raise ValueError(f"report.guardrails: {missing} not in report.metrics; add "
                             "them to metrics (a guardrail is one of the compared metrics)")
        return self
