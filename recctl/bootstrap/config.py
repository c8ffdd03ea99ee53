"""The bootstrap's settings (config/bootstrap.yml, a user's file, keyword overrides).

The traffic's arms are recommender specs, the experiment file's `arms:` syntax (type,
params, fallback; a user's own class as "package.module:Class"), so the bootstrap's
logs come from the recommenders an experiment serves, built the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from recctl.constants import LIKED_THRESHOLD
from recctl.errors import RecctlError
from recctl.paths import config_file
from recctl.recommenders import chain_nodes, recommender_class
from recctl.sim.user_model import user_model_from_mapping
from recctl.sim.world_io import load_world_params
from recctl.spec import RecommenderSpec
from recctl.train.config import load_train_config


def default_arms(liked_threshold: float) -> dict[str, dict[str, Any]]:
    """The day loop's arms when the file names none (what the shipped experiments serve)."""
    top = {"type": "top_pop"}
    return {
        "random": {"type": "random"},
        "dssm": {"type": "indexed", "params": {"artifact": "dssm"}, "fallback": top},
        "i2i": {"type": "contextual", "params": {"artifact": "i2i"}, "fallback": top},
        "contextual_mod": {"type": "contextual_mod",
                           "params": {"liked_threshold": liked_threshold}, "fallback": top},
    }


def default_ab_arms(liked_threshold: float) -> dict[str, dict[str, Any]]:
    """The final in-process A/B's recommenders when the file names none."""
    arms = default_arms(liked_threshold)
    return {
        "random": arms["random"], "top_pop": {"type": "top_pop"}, "dssm": arms["dssm"],
        "lfm": {"type": "indexed", "params": {"artifact": "lfm"}, "fallback": {"type": "top_pop"}},
        "i2i": arms["i2i"],
        "i2i_diverse": {"type": "contextual", "params": {"artifact": "i2i_diverse"},
                        "fallback": {"type": "top_pop"}},
        "contextual_mod": arms["contextual_mod"],
    }


class LoopParams(BaseModel):
    """The simulated traffic: a cold-start day, then days served by the arms."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    cold_start_episodes: int = Field(50_000, ge=1)
    days: int = Field(3, ge=0)
    episodes_per_day: int = Field(30_000, ge=1)
    arms: dict[str, RecommenderSpec] = Field(default_factory=dict)
    arm_shares: dict[str, float] = Field(default_factory=dict)
    explore: float = Field(0.1, ge=0.0, le=1.0)
    liked_threshold: float = Field(LIKED_THRESHOLD, ge=0.0, le=1.0,
                                   description="contextual_mod's in the default arms")
    daily_dssm_epochs: int = Field(5, ge=1)
    old_positives_sample: float = Field(1.0, ge=0.0, le=1.0)
    ab_episodes: int = Field(10_000, ge=2)
    ab_arms: dict[str, RecommenderSpec] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _defaults(cls, raw: Any) -> Any:
        if isinstance(raw, dict):
            liked = raw.get("liked_threshold", LIKED_THRESHOLD)
            arms = raw.get("arms") or default_arms(liked)
            raw = {**raw, "arms": arms, "ab_arms": raw.get("ab_arms") or default_ab_arms(liked),
                   "arm_shares": raw.get("arm_shares") or dict.fromkeys(arms, 1.0)}
        return raw

    @model_validator(mode="after")
    def _shares_match_arms(self) -> LoopParams:
        shares = self.arm_shares
        if set(shares) != set(self.arms) or any(v < 0 for v in shares.values()) \
                or not sum(shares.values()) > 0:
            raise ValueError(
                f"arm_shares must give a share >= 0 (not all 0) to each arm: "
                f"{', '.join(self.arms)}; e.g. {{random: 0.1, dssm: 0.3, i2i: 0.3, "
                "contextual_mod: 0.3}}")
        return self

    def shares(self) -> list[float]:
        """Arm shares in `arms` order, summing to 1."""
        total = sum(self.arm_shares.values())
        return [self.arm_shares[name] / total for name in self.arms]


class BootstrapConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    loop: LoopParams
    world: dict[str, Any] = Field(default_factory=dict)
    user_model: dict[str, Any] = Field(default_factory=dict)
    train: dict[str, Any] = Field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


def _problems(error: ValidationError) -> list[str]:
    out = []
    for item in error.errors():
        key = ".".join(str(p) for p in item["loc"]) or "(top level)"
        if item["type"] == "extra_forbidden":
            out.append(f"{key}: unknown key; remove it or check its spelling")
        else:
            out.append(f"{key}: {item['msg'].removeprefix('Value error, ')}")
    return out


def _recommender_problems(arms: dict[str, RecommenderSpec], where: str) -> list[str]:
    problems = []
    for arm, spec in arms.items():
        for depth, (type_name, params) in enumerate(chain_nodes(spec)):
            key = f"{where}.{arm}" + ".fallback" * depth
            try:
                cls = recommender_class(type_name)
                cls.Params.model_validate(params)
            except LookupError as exc:
                problems.append(f"{key}.type: {exc}")
            except ValidationError as exc:
                problems += [f"{key}.params.{p}" for p in _problems(exc)]
    return problems


def load_bootstrap_config(path: str | Path | None = None, **overrides: Any) -> BootstrapConfig:
    """config/bootstrap.yml, then `path`'s values, then keyword overrides (top-level keys).

    Raises RecctlError naming the file and the key for any mistake, before anything runs.
    """
    raw: dict[str, Any] = yaml.safe_load(config_file("bootstrap.yml").read_text()) or {}
    source = str(config_file("bootstrap.yml"))
    if path is not None:
        if not Path(path).is_file():
            raise RecctlError(f"bootstrap config {path} does not exist",
                              "pass an existing YAML file")
        given = yaml.safe_load(Path(path).read_text()) or {}
        if not isinstance(given, dict):
            raise RecctlError(f"{path}: expected a mapping of keys", "see config/bootstrap.yml")
        if "arms" in given and "arm_shares" not in given:
            raw.pop("arm_shares", None)  # the shipped shares name the shipped arms
        raw.update(given)
        source = str(path)
    if "arms" in overrides and "arm_shares" not in overrides:
        raw.pop("arm_shares", None)
    raw.update(overrides)
    nested = {k: raw.pop(k, None) or {} for k in ("world", "user_model", "train")}
    hint = "fix the key named above; the keys and their defaults are in config/bootstrap.yml"
    try:
        config = BootstrapConfig(loop=LoopParams.model_validate(raw), **nested)
    except ValidationError as exc:
        lines = _problems(exc)
        raise RecctlError(f"{source}: invalid bootstrap config\n  " + "\n  ".join(lines),
                          hint) from None
    problems = (_recommender_problems(config.loop.arms, "arms")
                + _recommender_problems(config.loop.ab_arms, "ab_arms"))
    if problems:
        raise RecctlError(f"{source}: invalid recommenders\n  " + "\n  ".join(problems),
                          "fix the arms' type/params (the experiment file's syntax)")
    # Validate the nested sections now, before anything runs.
    load_world_params(None, **nested["world"])
    user_model_from_mapping(nested["user_model"], source=f"{source}: user_model")
    load_train_config(overrides=nested["train"])
    return config
