"""The experiment file: one YAML file says everything about one experiment.

`load_experiment(path)` parses it with `yaml.safe_load`, validates it with pydantic
(unknown keys are errors), resolves relative paths against the file's folder and checks
the recommenders and the artifacts they need, before anything starts. Every problem is
raised as one RecctlError naming the file, the key and the fix.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from recctl.artifacts import ArtifactSet
from recctl.assignment import arm_names
from recctl.constants import (
    DEFAULT_ALPHA,
    DEFAULT_GUARDRAILS,
    LOOPBACK,
    METRICS,
    PRIMARY_METRIC,
)
from recctl.errors import RecctlError
from recctl.eventlog import find_log_files
from recctl.failures import DEFAULT_MAX_FAILED_FRACTION
from recctl.recommenders.registry import recommender_class
from recctl.settings import Settings, read_yaml, validate
from recctl.settings import problems as settings_problems

NAME_RULE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


OutputName = Literal["terminal", "markdown", "json", "csv", "png"]
OUTPUTS: tuple[OutputName, ...] = ("terminal", "markdown", "json", "csv", "png")


class RecommenderSpec(Settings):
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


class DockerImages(Settings):
    base: str = "python:3.11-slim"
    redis: str = "redis:7-alpine"
    nginx: str = "nginx:1.27-alpine"


RAY_ADDRESS = re.compile(r"^(auto|ray://[^\s/:]+:\d{1,5}|[^\s/:]+:\d{1,5})$")


class RaySpec(Settings):
    """Where the Ray runtime runs the stack (`stack.runtime: ray`)."""

    address: str = Field("auto", description="auto (the cluster this machine belongs to), "
                         "ray://HOST:PORT (Ray Client) or HOST:PORT (the head's GCS)")
    namespace: str = Field("recctl", description="Ray namespace of the run's named actors")
    shards: int | None = Field(None, ge=1, le=1024,
                               description="simulation shards; one per alive node if unset")
    replica_cpus: float = Field(0.0, ge=0, description="CPUs Ray reserves per replica actor")
    shard_cpus: float = Field(1.0, ge=0, description="CPUs Ray reserves per simulation shard")

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        if not RAY_ADDRESS.match(value):
            raise ValueError("must be auto, ray://HOST:PORT or HOST:PORT (the head node's "
                             "address, as `ray start --head` prints it)")
        return value

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str) -> str:
        if not NAME_RULE.match(value):
            raise ValueError("must be letters, digits, '_', '.' or '-', e.g. recctl")
        return value


class StackSpec(Settings):
    runtime: Literal["local", "docker", "ray"] = "local"
    replicas: int = Field(2, ge=1, le=32)
    balancer: Literal["auto", "nginx", "client"] = "auto"
    host: str = LOOPBACK
    port: int | None = Field(None, ge=1, le=65535, description="balancer port; free one if unset")
    log_max_bytes: int = Field(64 * 1024 * 1024, ge=1024)
    log_backups: int = Field(50, ge=1)
    user_state_ttl: int = Field(86400, ge=1, description="seconds per-user state lives in Redis")
    images: DockerImages = DockerImages()
    docker_host: str | None = None
    ray: RaySpec = RaySpec()

    @field_validator("host")
    @classmethod
    def _resolvable_host(cls, value: str) -> str:
        return check_host(value)


def check_host(value: str) -> str:
    """An IP address, or a host name this machine resolves (what replicas and nginx bind).

    The syntax is checked first, so a malformed value never reaches the resolver.
    """
    try:
        ipaddress.ip_address(value)
        return value
    except ValueError:
        pass
    labels = value.rstrip(".").split(".")
    if labels[-1].lower() == "invalid":  # RFC 6761: never resolves, so do not ask DNS
        raise ValueError("does not resolve to an address on this machine; use an IP "
                         "address such as 127.0.0.1 (or 0.0.0.0 for every interface)")
    if (not value or len(value) > 253 or not all(HOST_LABEL.match(p) for p in labels)
            or labels[-1].isdigit()):
        raise ValueError("is neither an IP address nor a host name; use e.g. 127.0.0.1")
    try:
        socket.getaddrinfo(value, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise ValueError("does not resolve to an address on this machine; use an IP "
                         "address such as 127.0.0.1 (or 0.0.0.0 for every interface)") from None
    return value


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


class LoadedExperiment(BaseModel):
    """A validated experiment, with where it came from and a hash of its content."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    path: Path
    spec: Experiment
    config_hash: str
    raw: dict[str, Any]


def _resolve(base: Path, value: Path | None) -> Path | None:
    if value is None:
        return None
    return value if value.is_absolute() else (base / value).resolve()


def parse_experiment(path: str | Path) -> LoadedExperiment:
    """Read and validate the file's structure (not yet its artifacts)."""
    path = Path(path)
    raw = read_yaml(path, what="experiment file", example="experiments/aa.yml")
    spec = validate(Experiment, raw, path, what="experiment file",
                    hint="fix the keys named; the experiment-file reference is in README.md")
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


def arm_problems(arms: Mapping[str, RecommenderSpec], where: str,
                 artifacts: ArtifactSet | None = None) -> list[str]:
    """One `KEY: what is wrong` line per problem in `arms` (a mapping of arm name to
    recommender spec found under the key `where`): each recommender in each chain exists,
    its params are valid and, given `artifacts`, the artifacts it needs are there."""
    problems: list[str] = []
    for arm, top in arms.items():
        for depth, node in enumerate(top.chain()):
            key = f"{where}.{arm}" + ".fallback" * depth
            try:
                cls = recommender_class(node.type)
            except LookupError as exc:
                problems.append(f"{key}.type: {exc}")
                continue
            try:
                params = cls.Params.model_validate(node.params)
            except ValidationError as exc:
                problems += settings_problems(exc, cls.Params, prefix=f"{key}.params",
                                              unknown="parameter")
                continue
            if artifacts is None:
                continue
            for name, kind in cls.artifacts_needed(params):
                info = artifacts.infos.get(name)
                if info is None:
                    problems.append(
                        f"{key}: needs artifact {name!r} ({kind}) which is not in "
                        f"{artifacts.root}; have: {', '.join(sorted(artifacts.infos)) or 'none'}"
                    )
                elif info.kind != kind:
                    problems.append(f"{key}: artifact {name!r} is a {info.kind}, not a {kind}")
    return problems


def check_recommenders(loaded: LoadedExperiment, artifacts: ArtifactSet | None) -> None:
    """Each arm's recommenders exist, their params are valid, their artifacts are present."""
    problems = arm_problems(loaded.spec.arms, "arms", artifacts)
    if problems:
        raise RecctlError(
            f"{loaded.path}: invalid recommenders\n" + "\n".join(f"  {p}" for p in problems),
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
