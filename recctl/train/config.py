"""Training parameters: dataclasses with defaults from config/train.yml, overridable by a file."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from recctl.errors import RecctlError
from recctl.paths import config_file
from recctl.train.dssm import DSSMParams


@dataclass(frozen=True)
class TopParams:
    n: int = 100


@dataclass(frozen=True)
class I2IParams:
    k: int = 100
    window: int = 10
    decay: float = 0.9
    weight_anchor: bool = True
    symmetric: bool = True
    min_time: float = 0.9
    per_artist: int = 5


@dataclass(frozen=True)
class LFMParams:
    enabled: bool = False
    dim: int = 32
    iterations: int = 8
    regularization: float = 0.1
    alpha: float = 10.0
    top_n: int = 100


@dataclass(frozen=True)
class EvalParams:
    holdout_fraction: float = 0.15
    ks: tuple[int, ...] = (10, 100)
    refit: bool = True


@dataclass(frozen=True)
class TrainConfig:
    top: TopParams = field(default_factory=TopParams)
    i2i: I2IParams = field(default_factory=I2IParams)
    dssm: DSSMParams = field(default_factory=DSSMParams)
    lfm: LFMParams = field(default_factory=LFMParams)
    evaluation: EvalParams = field(default_factory=EvalParams)
    positive_time: float = 0.8

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _build(cls: type, values: Any, where: str, source: str) -> Any:
    if not isinstance(values, dict):
        raise RecctlError(f"{source}: `{where}` must be a mapping", "see config/train.yml")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise RecctlError(
            f"{source}: unknown key(s) {', '.join(unknown)} under `{where}`",
            f"known keys: {', '.join(fields)}",
        )
    kwargs: dict[str, Any] = {}
    for name, value in values.items():
        default = getattr(cls(), name)
        key = f"{where}.{name}" if where else name
        if dataclasses.is_dataclass(default):
            kwargs[name] = _build(type(default), value, key, source)
        elif isinstance(default, tuple):
            kwargs[name] = tuple(int(v) for v in value)
        elif (
            isinstance(default, bool)
            or not isinstance(value, (int, float))
            or isinstance(value, bool)
        ):
            if type(value) is not type(default):
                raise RecctlError(
                    f"{source}: `{key}` must be {type(default).__name__}, got {value!r}",
                    "fix the value in the config file",
                )
            kwargs[name] = value
        else:
            kwargs[name] = type(default)(value)
    return cls(**kwargs)


def load_train_config(
    path: str | Path | None = None, overrides: dict[str, Any] | None = None
) -> TrainConfig:
    """The shipped defaults, then `path`'s values, then `overrides` (same nesting)."""
    merged: dict[str, Any] = {}
    sources = [config_file("train.yml")] + ([Path(path)] if path else [])
    for source in sources:
        if not source.is_file():
            if source == sources[0]:
                continue
            raise RecctlError(
                f"training config {source} does not exist", "pass an existing YAML file"
            )
        _merge(merged, yaml.safe_load(source.read_text()) or {})
    _merge(merged, overrides or {})
    return _build(TrainConfig, merged, "", str(sources[-1]))


def _merge(into: dict[str, Any], values: dict[str, Any]) -> None:
    for key, value in values.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value
