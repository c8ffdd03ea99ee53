"""Realistic logs on disk, made once per session (heavy-tailed users, 2 replicas, rotation)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from recctl.synthetic import generate_events, write_logs


@pytest.fixture(scope="session")
def ab_events() -> pd.DataFrame:
    return generate_events(3000, seed=11, experiment="EXP", arms=("C", "T1", "T2"),
                           effects={"T1": 0.25, "T2": -0.25})


@pytest.fixture(scope="session")
def ab_logs(ab_events: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("run")
    write_logs(ab_events, folder, experiment="EXP", replicas=2, rotate_lines=5000)
    return folder


@pytest.fixture(scope="session")
def course_logs(ab_events: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("course")
    write_logs(ab_events, folder, experiment="EXP", replicas=2, style="course")
    return folder
