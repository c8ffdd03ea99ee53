"""Fixtures: small synthetic event logs with learnable structure, written as real files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recctl.eventlog import dumps_event, make_event
from recctl.synthetic import write_learnable_logs


@pytest.fixture(scope="session")
def synthetic_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two replica folders with rotated files: 3,000 sessions of 8 listens."""
    root = tmp_path_factory.mktemp("logs")
    write_learnable_logs(root, np.random.default_rng(7), replicas=2, rotate_every=4000)
    return root


def write_lines(path: Path, events: list[dict | bytes]) -> Path:
    """A log file from events (dicts) and raw lines (bytes, e.g. malformed ones)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(e if isinstance(e, bytes) else dumps_event(e) for e in events))
    return path


def event(
    message: str, t: int, user: int, track: int, time: float, rec: int | None = 0, **extra: object
) -> dict:
    return make_event(message, t, user, track, time, 0.001, rec, {}, **extra)
