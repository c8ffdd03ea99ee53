"""The bootstrap's settings (config/bootstrap.yml, a user's file, keyword overrides).

The traffic's arms are recommender specs, the experiment file's `arms:` syntax (type,
params, fallback; a user's own class as "package.module:Class"), so the bootstrap's
logs come from the recommenders an experiment serves, built the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, ValidationInfo, field_validator, model_validator

from recctl.constants import LIKED_THRESHOLD
from recctl.errors import RecctlError
from recctl.paths import config_file
from recctl.settings import Settings, read_yaml, validate
from recctl.sim.user_model import user_model_from_mapping
from recctl.sim.world_io import load_world_params
from recctl.spec import RecommenderSpec, arm_problems
from recctl.train.config import load_train_config

EXAMPLE = "config/bootstrap.yml"


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


class LoopParams(Settings):
    """The simulated traffic: a cold-start day, then days served by the arms."""

    cold_start_episodes: int = Field(50_000, ge=1)
    days: int = Field(3, ge=0)
    episodes_per_day: int = Field(30_000, ge=1)
    arms: dict[str, RecommenderSpec] = Field(default_factory=dict)
    arm_shares: dict[str, float] = Field(default_factory=dict)
    explore: float = Field(0.1, ge=0.0, le=1.0)
    liked_threshold: float = Field(LIKED_THRESHOLD, ge=0.0, le=1.0,
                                   description="contextual_mod's in the default arms")
    cold_start_dssm_epochs: int | None = Field(
        None, ge=1, description="DSSM's epochs on the cold-start day (train.yml's by default)")
    daily_dssm_epochs: int = Field(5, ge=1)
    last_day_dssm_epochs: int | None = Field(
        None, ge=1, description="the shipped model's last day (daily_dssm_epochs by default)")
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

    @field_validator("arm_shares")
    @classmethod
    def _shares_match_arms(cls, shares: dict[str, float],
                           info: ValidationInfo) -> dict[str, float]:
        if "arms" not in info.data:  # arms is validated first; its own error says why
            return shares
        arms = info.data["arms"]
        if set(shares) != set(arms) or any(v < 0 for v in shares.values()) \
                or not sum(shares.values()) > 0:
            raise ValueError(
                f"must give a share >= 0 (not all 0) to each arm: {', '.join(arms)}; "
                "e.g. {random: 0.1, dssm: 0.3, i2i: 0.3, contextual_mod: 0.3}")
        return shares

    def shares(self) -> list[float]:
        """Arm shares in `arms` order, summing to 1."""
        total = sum(self.arm_shares.values())
        return [self.arm_shares[name] / total for name in self.arms]


class BootstrapConfig(Settings):
    loop: LoopParams
    world: dict[str, Any] = Field(default_factory=dict)
    user_model: dict[str, Any] = Field(default_factory=dict)
    train: dict[str, Any] = Field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


def load_bootstrap_config(path: str | Path | None = None, **overrides: Any) -> BootstrapConfig:
    """config/bootstrap.yml, then `path`'s values, then keyword overrides (top-level keys).

    Raises RecctlError naming the file and the key for any mistake, before anything runs.
    """
    shipped = config_file("bootstrap.yml")
    raw = read_yaml(shipped, what="bootstrap config", example=EXAMPLE, empty_ok=True)
    source = str(shipped)
    if path is not None:
        given = read_yaml(path, what="bootstrap config", example=EXAMPLE, empty_ok=True)
        if "arms" in given and "arm_shares" not in given:
            raw.pop("arm_shares", None)  # the shipped shares name the shipped arms
        raw.update(given)
        source = str(path)
    if "arms" in overrides and "arm_shares" not in overrides:
        raw.pop("arm_shares", None)
    raw.update(overrides)
    nested = {k: raw.pop(k, None) or {} for k in ("world", "user_model", "train")}
    hint = f"fix the key named above; the keys and their defaults are in {EXAMPLE}"
    loop = validate(LoopParams, raw, source, what="bootstrap config", hint=hint)
    config = validate(BootstrapConfig, {"loop": loop, **nested}, source,
                      what="bootstrap config", hint=hint)
    problems = (arm_problems(config.loop.arms, "arms")
                + arm_problems(config.loop.ab_arms, "ab_arms"))
    if problems:
        raise RecctlError(f"{source}: invalid recommenders\n  " + "\n  ".join(problems),
                          "fix the arms' type/params (the experiment file's syntax)")
    # Validate the nested sections now, before anything runs.
    load_world_params(None, **nested["world"])
    user_model_from_mapping(nested["user_model"], source=f"{source}: user_model")
    load_train_config(overrides=nested["train"])
    return config
