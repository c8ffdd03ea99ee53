"""The simulated user's parameters (the course's user model), read from YAML.

The dynamics live in `response.py` (how long a track is listened to) and `session.py` /
`inprocess.py` (budget, termination); this module only holds and validates parameters.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field

from recctl.paths import config_file
from recctl.settings import Settings, read_yaml, validate

DEFAULT_FILE = "user_model.yml"
HINT = "fix the value; config/user_model.yml lists every key with its meaning"


class UserModel(Settings):
    """Parameters of the user model (see config/user_model.yml for their meaning)."""

    interest_neighbours: int = Field(10, ge=1)
    session_budget: int = Field(5, ge=1)
    artist_discount_gamma: float = Field(0.8, gt=0, le=1)
    time_decimals: int = Field(2, ge=0)
    max_steps: int = Field(500, ge=1)
    default_consume_bias: float = 5.0
    default_consume_sharpness: float = 1.0


def user_model_from_mapping(raw: dict[str, Any], source: str = "user model",
                            prefix: str = "") -> UserModel:
    """Build a UserModel from a mapping; unknown keys and bad values raise RecctlError."""
    return validate(UserModel, raw, source, what="user model", hint=HINT, prefix=prefix)


def load_user_model(path: Path | None = None) -> UserModel:
    """Read a user model file; `None` reads the shipped config/user_model.yml."""
    path = Path(path) if path is not None else config_file(DEFAULT_FILE)
    raw = read_yaml(path, what="user model file", example="config/user_model.yml",
                    empty_ok=True)
    return user_model_from_mapping(raw, source=str(path))
