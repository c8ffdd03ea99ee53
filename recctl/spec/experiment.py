"""The experiment: its name, data, arms, split and the `stack:`, `simulation:` and
`report:` blocks, validated together."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator, model_validator

from recctl.assignment import arm_names
from recctl.eventlog import find_log_files
from recctl.failures import DEFAULT_MAX_FAILED_FRACTION
from recctl.settings import Settings
from recctl.spec.arms import RecommenderSpec
from recctl.spec.report import ReportSpec
from recctl.spec.stack import NAME_RULE, StackSpec


class SimulationSpec(Settings):
    episodes: int = Field(10_000, ge=1)
    days: int = Field(1, ge=1)
    seed: int = 0
    concurrency: int = Field(64, ge=1, le=4096)
    user_model: Path | None = None
    # More failed episodes than this fraction and the run's answer is invalid (exit 1).
    max_failed_fraction: float = Field(DEFAULT_MAX_FAILED_FRACTION, ge=0, le=1)
    # Sequential testing (recctl.sim.monitor): the primary metric's running effect and its
    # always-valid interval every `peek_every` episodes; stop when it excludes 0.
    stop_early: bool = False
    peek_every: int = Field(500, ge=1)


class Experiment(Settings):
    name: str = Field(max_length=64)
    description: str = ""
    data: Path = Path("../data/default")
    artifacts: Path | None = None
    world: Path | None = None
    arms: dict[str, RecommenderSpec]
    split: list[float] | None = None
    stack: StackSpec = StackSpec()
    simulation: SimulationSpec = SimulationSpec()
    report: ReportSpec = ReportSpec()

    @field_validator("name")
    @classmethod
    def _safe_name(cls, value: str) -> str:
        # The name becomes a folder (.recctl/runs/<name>, cache/<name>) and a container
        # name: `.`, `..`, a slash or a leading dot/dash would escape or hide them.
        if not NAME_RULE.match(value):
            raise ValueError(
                "must start with a letter or digit and use only letters, digits, '_', '.' "
                "and '-' (it names folders under .recctl/runs/ and cache/)")
        return value

    @field_validator("arms")
    @classmethod
    def _arm_names(cls, value: dict[str, RecommenderSpec]) -> dict[str, RecommenderSpec]:
        if not value:
            raise ValueError("at least one arm is needed (C)")
        expected = arm_names(len(value))
        if list(value) != expected:
            raise ValueError(
                f"arms must be named {', '.join(expected)} in that order "
                f"(the hash assigns arm 0 to C, then T1, T2...), got {', '.join(value)}"
            )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Experiment:
        if self.split is not None:
            if len(self.split) != len(self.arms):
                raise ValueError(
                    f"split has {len(self.split)} entries but there are {len(self.arms)} arms"
                )
            if len(set(self.split)) != 1:
                raise ValueError(
                    "split must be equal across arms: the assignment hash gives each arm "
                    "1/N of users; remove `split` or make its entries equal"
                )
        if self.report.control not in self.arms:
            raise ValueError(f"report.control {self.report.control!r} is not an arm")
        if self.report.primary_metric not in self.report.metrics:
            raise ValueError(f"report.primary_metric {self.report.primary_metric!r} "
                             "is not in report.metrics")
        return self

    # Resolved locations (relative paths in the file are relative to the file's folder).
    @property
    def artifacts_dir(self) -> Path:
        return self.artifacts if self.artifacts is not None else self.data / "artifacts"

    @property
    def world_dir(self) -> Path:
        return self.world if self.world is not None else self.data / "world"

    @property
    def pre_period_paths(self) -> list[Path]:
        """Where CUPED's pre-period comes from: report.pre_period, else DATA/logs if it
        holds logs, else nothing (CUPED then stays off unless report.cuped is true)."""
        if self.report.pre_period is not None:
            return [self.report.pre_period]
        found = default_pre_period(self.data)
        return [found] if found is not None else []

    @property
    def arm_list(self) -> list[str]:
        return list(self.arms)


def default_pre_period(data_dir: str | Path | None) -> Path | None:
    """DATA/logs when the data folder has bootstrap logs there, else None."""
    if data_dir is None:
        return None
    logs = Path(data_dir) / "logs"
    return logs if logs.is_dir() and find_log_files([logs]) else None
