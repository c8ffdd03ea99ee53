"""The experiment file: one YAML file says everything about one experiment.

`load_experiment(path)` parses it with `yaml.safe_load`, validates it with pydantic
(unknown keys are errors), resolves relative paths against the file's folder and checks
the recommenders and the artifacts they need, before anything starts. Every problem is
raised as one RecctlError naming the file, the key and the fix.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from recctl.artifacts import ArtifactSet
from recctl.botify.assignment import arm_names
from recctl.errors import RecctlError

METRICS = (
    "mean_time_per_session",
    "time",
    "sessions",
    "mean_tracks_per_session",
    "mean_request_latency",
)
OutputName = Literal["terminal", "markdown", "json", "csv", "png"]
OUTPUTS: tuple[OutputName, ...] = ("terminal", "markdown", "json", "csv", "png")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RecommenderSpec(_Strict):
    """A recommender and what answers when it has nothing to say (`fallback`)."""

    type: str
    params: dict[str, Any] = Field(default_factory=dict)
    fallback: RecommenderSpec | None = None

    def chain(self) -> list[RecommenderSpec]:
        """This recommender followed by its fallbacks, in order."""
        out: list[RecommenderSpec] = []
        node: RecommenderSpec | None = self
        while node is not None:
            out.append(node)
            node = node.fallback
        return out


class DockerImages(_Strict):
    base: str = "python:3.11-slim"
    redis: str = "redis:7-alpine"
    nginx: str = "nginx:1.27-alpine"


class StackSpec(_Strict):
    runtime: Literal["local", "docker"] = "local"
    replicas: int = Field(2, ge=1, le=32)
    balancer: Literal["auto", "nginx", "client"] = "auto"
    host: str = "127.0.0.1"
    port: int | None = Field(None, ge=1, le=65535, description="balancer port; free one if unset")
    log_max_bytes: int = Field(64 * 1024 * 1024, ge=1024)
    log_backups: int = Field(50, ge=1)
    user_state_ttl: int = Field(86400, ge=1, description="seconds per-user state lives in Redis")
    images: DockerImages = DockerImages()
    docker_host: str | None = None


class SimulationSpec(_Strict):
    episodes: int = Field(10_000, ge=1)
    days: int = Field(1, ge=1)
    seed: int = 0
    concurrency: int = Field(64, ge=1, le=4096)
    user_model: Path | None = None
    # Sequential testing (recctl.sim.monitor): the primary metric's running effect and its
    # always-valid interval every `peek_every` episodes; stop when it excludes 0.
    stop_early: bool = False
    peek_every: int = Field(500, ge=1)


class ReportSpec(_Strict):
    metrics: list[str] = Field(default_factory=lambda: list(METRICS))
    primary_metric: str = "mean_time_per_session"
    alpha: float = Field(0.05, gt=0, lt=1)
    control: str = "C"
    correction: Literal["holm", "none"] = "holm"
    outputs: list[OutputName] = Field(default_factory=lambda: list(OUTPUTS))
    # CUPED: "auto" adjusts by the pre-period when there is one (`pre_period`, else the
    # data folder's bootstrap logs DATA/logs/); true requires one; false turns it off.
    cuped: bool | Literal["auto"] = "auto"
    pre_period: Path | None = None

    @field_validator("metrics")
    @classmethod
    def _known_metrics(cls, value: list[str]) -> list[str]:
        unknown = [m for m in value if m not in METRICS]
        if unknown:
            raise ValueError(f"unknown metric(s) {unknown}; known: {', '.join(METRICS)}")
        return value


class Experiment(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", max_length=64)
    description: str = ""
    data: Path = Path("../data/default")
    artifacts: Path | None = None
    world: Path | None = None
    arms: dict[str, RecommenderSpec]
    split: list[float] | None = None
    stack: StackSpec = StackSpec()
    simulation: SimulationSpec = SimulationSpec()
    report: ReportSpec = ReportSpec()

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
        from recctl.analysis.preperiod import default_pre_period

        if self.report.pre_period is not None:
            return [self.report.pre_period]
        found = default_pre_period(self.data)
        return [found] if found is not None else []

    @property
    def arm_list(self) -> list[str]:
        return list(self.arms)


class LoadedExperiment(BaseModel):
    """A validated experiment, with where it came from and a hash of its content."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    path: Path
    spec: Experiment
    config_hash: str
    raw: dict[str, Any]


def _key_path(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("function-after[_consistent()]",)]
    return ".".join(parts) if parts else "(top level)"


def _format_validation(path: Path, error: ValidationError) -> RecctlError:
    lines = []
    for item in error.errors():
        key = _key_path(item["loc"])
        kind = item["type"]
        if kind == "extra_forbidden":
            lines.append(f"  {key}: unknown key; remove it or check its spelling")
        elif kind == "missing":
            lines.append(f"  {key}: required key is missing; add it")
        else:
            given = item.get("input")
            shown = "" if isinstance(given, (dict, list)) else f" (got {given!r})"
            lines.append(f"  {key}: {item['msg']}{shown}")
    return RecctlError(
        f"{path}: invalid experiment file\n" + "\n".join(lines),
        "fix the keys above; the experiment-file reference is in README.md",
    )


def _resolve(base: Path, value: Path | None) -> Path | None:
    if value is None:
        return None
    return value if value.is_absolute() else (base / value).resolve()


def parse_experiment(path: str | Path) -> LoadedExperiment:
    """Read and validate the file's structure (not yet its artifacts)."""
    path = Path(path)
    if not path.is_file():
        raise RecctlError(f"experiment file {str(path)!r} not found",
                          "pass a file like experiments/contextualmod-vs-dssm.yml")
    text = path.read_text(encoding="utf-8")
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RecctlError(f"{path}: not valid YAML ({exc})", "fix the YAML syntax") from None
    if not isinstance(raw, dict):
        raise RecctlError(f"{path}: the top level must be a mapping of keys",
                          "start from experiments/aa.yml")
    try:
        spec = Experiment.model_validate(raw)
    except ValidationError as exc:
        raise _format_validation(path, exc) from None
    base = path.resolve().parent
    updates: dict[str, Any] = {
        "data": _resolve(base, spec.data),
        "artifacts": _resolve(base, spec.artifacts),
        "world": _resolve(base, spec.world),
    }
    simulation = spec.simulation.model_copy(
        update={"user_model": _resolve(base, spec.simulation.user_model)}
    )
    report = spec.report.model_copy(update={"pre_period": _resolve(base, spec.report.pre_period)})
    spec = spec.model_copy(update={**updates, "simulation": simulation, "report": report})
    config_hash = hashlib.sha256(
        yaml.safe_dump(raw, sort_keys=True).encode("utf-8")
    ).hexdigest()[:16]
    return LoadedExperiment(path=path.resolve(), spec=spec, config_hash=config_hash, raw=raw)


def check_recommenders(loaded: LoadedExperiment, artifacts: ArtifactSet | None) -> None:
    """Each arm's recommenders exist, their params are valid, their artifacts are present."""
    from recctl.botify.recommenders.registry import recommender_class

    problems: list[str] = []
    for arm, top in loaded.spec.arms.items():
        for depth, node in enumerate(top.chain()):
            key = f"arms.{arm}" + ".fallback" * depth
            try:
                cls = recommender_class(node.type)
            except LookupError as exc:
                problems.append(f"  {key}.type: {exc}")
                continue
            try:
                params = cls.Params.model_validate(node.params)
            except ValidationError as exc:
                for item in exc.errors():
                    sub = _key_path(item["loc"])
                    msg = ("unknown parameter; remove it" if item["type"] == "extra_forbidden"
                           else item["msg"])
                    problems.append(f"  {key}.params.{sub}: {msg}")
                continue
            if artifacts is None:
                continue
            for name, kind in cls.artifacts_needed(params):
                info = artifacts.infos.get(name)
                if info is None:
                    problems.append(
                        f"  {key}: needs artifact {name!r} ({kind}) which is not in "
                        f"{artifacts.root}; have: {', '.join(sorted(artifacts.infos)) or 'none'}"
                    )
                elif info.kind != kind:
                    problems.append(f"  {key}: artifact {name!r} is a {info.kind}, not a {kind}")
    if problems:
        raise RecctlError(
            f"{loaded.path}: invalid recommenders\n" + "\n".join(problems),
            "fix the arms' type/params, or build the artifacts they need (`recctl train`)",
        )


def load_experiment(path: str | Path, *, require_artifacts: bool = True) -> LoadedExperiment:
    """Parse, validate and check an experiment file; artifacts too unless told not to."""
    loaded = parse_experiment(path)
    artifacts = None
    if require_artifacts:
        artifacts_dir = loaded.spec.artifacts_dir
        if not artifacts_dir.is_dir():
            raise RecctlError(
                f"{loaded.path}: artifacts folder {artifacts_dir} does not exist "
                f"(key: {'artifacts' if loaded.spec.artifacts else 'data'})",
                f"run `recctl bootstrap --out {loaded.spec.data}` or point `artifacts:` "
                "at a folder made by `recctl train`",
            )
        artifacts = ArtifactSet(artifacts_dir)
    check_recommenders(loaded, artifacts)
    return loaded
