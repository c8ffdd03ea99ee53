"""Training parameters: settings models with defaults from config/train.yml, overridable.

`load_train_config` starts from the shipped config/train.yml, then a user's file, then
overrides given as a nested mapping (the bootstrap's `train:` section); unknown keys and
bad values are one RecctlError naming the file, the key and the value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, StrictBool

from recctl.constants import POSITIVE_THRESHOLD
from recctl.paths import config_file
from recctl.settings import Settings, read_yaml, validate
from recctl.train.dssm import DSSMParams

HINT = "fix the value; config/train.yml lists every key with its meaning"


class TopParams(Settings):
    n: int = Field(100, ge=1)


class I2IParams(Settings):
    k: int = Field(100, ge=1)
    window: int = Field(10, ge=1)
    decay: float = Field(0.9, gt=0, le=1)
    weight_anchor: StrictBool = True
    symmetric: StrictBool = True
    min_time: float = Field(0.9, ge=0, le=1)
    repeat_discount: float = Field(1.0, gt=0, le=1)
    per_artist: int = Field(5, ge=1)


class LFMParams(Settings):
    enabled: StrictBool = True
    dim: int = Field(32, ge=1)
    iterations: int = Field(5, ge=1)
    regularization: float = Field(0.1, ge=0)
    alpha: float = Field(10.0, ge=0)
    top_n: int = Field(100, ge=1)


class SoundParams(Settings):
    enabled: StrictBool = True
    k: int = Field(3, ge=1)
    pool: int = Field(200, ge=1)


class EvalParams(Settings):
    holdout_fraction: float = Field(0.15, ge=0, lt=1)  # 0: no offline evaluation
    ks: tuple[int, ...] = Field((10, 100), min_length=1)
    refit: StrictBool = True


class TrainConfig(Settings):
    top: TopParams = TopParams()
    i2i: I2IParams = I2IParams()
    dssm: DSSMParams = DSSMParams()
    lfm: LFMParams = LFMParams()
    sound: SoundParams = SoundParams()
    evaluation: EvalParams = EvalParams()
    positive_time: float = Field(POSITIVE_THRESHOLD, gt=0, le=1)

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump()


def load_train_config(
    path: str | Path | None = None, overrides: dict[str, Any] | None = None, *,
    source: str | None = None, prefix: str = "",
) -> TrainConfig:
    """The shipped defaults, then `path`'s values, then `overrides` (same nesting).

    Errors name `source` (default: `path`, else the shipped file) and keys under `prefix`
    (e.g. "train" when the values come from a bootstrap file's `train:` section).
    """
    merged: dict[str, Any] = {}
    shipped = config_file("train.yml")
    if shipped.is_file():
        _merge(merged, read_yaml(shipped, what="training config", example=str(shipped),
                                 empty_ok=True))
    if path is not None:
        _merge(merged, read_yaml(path, what="training config", example="config/train.yml",
                                 empty_ok=True))
    _merge(merged, overrides or {})
    where = source or str(path if path is not None else shipped)
    return validate(TrainConfig, merged, where, what="training config", hint=HINT,
                    prefix=prefix)


def _merge(into: dict[str, Any], values: dict[str, Any]) -> None:
    for key, value in values.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value
