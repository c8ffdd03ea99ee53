"""The simulated user's parameters (the course's user model), read from YAML.

The dynamics live in `response.py` (how long a track is listened to) and `session.py` /
`inprocess.py` (budget, termination); this module only holds and validates parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import yaml

from recctl.errors import RecctlError
from recctl.paths import config_file

DEFAULT_FILE = "user_model.yml"


@dataclass(frozen=True)
class UserModel:
    """Parameters of the user model (see config/user_model.yml for their meaning)."""

    interest_neighbours: int = 10
    session_budget: int = 5
    artist_discount_gamma: float = 0.8
    time_decimals: int = 2
    max_steps: int = 500
    default_consume_bias: float = 5.0
    default_consume_sharpness: float = 1.0

    def __post_init__(self) -> None:
        problems = []
        if self.interest_neighbours < 1:
            problems.append("interest_neighbours must be >= 1")
        if self.session_budget < 1:
            problems.append("session_budget must be >= 1")
        if not 0 < self.artist_discount_gamma <= 1:
            problems.append("artist_discount_gamma must be in (0, 1]")
        if self.time_decimals < 0:
            problems.append("time_decimals must be >= 0")
        if self.max_steps < 1:
            problems.append("max_steps must be >= 1")
        if problems:
            raise ValueError("; ".join(problems))


def user_model_from_mapping(raw: dict[str, Any], source: str = "user model") -> UserModel:
    """Build a UserModel from a mapping; unknown keys and bad values raise RecctlError."""
    known = {f.name: f.type for f in fields(UserModel)}
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise RecctlError(f"{source}: unknown key(s) {', '.join(unknown)}",
                          f"known keys: {', '.join(known)}")
    try:
        values = {name: (int(v) if known[name] == "int" else float(v)) for name, v in raw.items()}
        return UserModel(**values)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise RecctlError(f"{source}: {exc}", "fix the value in the user model file") from None


def load_user_model(path: Path | None = None) -> UserModel:
    """Read a user model file; `None` reads the shipped config/user_model.yml."""
    path = Path(path) if path is not None else config_file(DEFAULT_FILE)
    if not path.is_file():
        raise RecctlError(f"user model file {path} not found",
                          "pass a YAML file like config/user_model.yml")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise RecctlError(f"{path}: not valid YAML ({exc})", "fix the YAML syntax") from None
    if not isinstance(raw, dict):
        raise RecctlError(f"{path}: expected a mapping of keys", "see config/user_model.yml")
    return user_model_from_mapping(raw, source=str(path))
