"""Fixtures for the simulator tests: a small world, and stand-in service processes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fake_botify import FakeReplica, start_fake_replica

from recctl.sim.user_model import UserModel, load_user_model
from recctl.sim.world import World, WorldParams, generate_world


@pytest.fixture(scope="session")
def user_model() -> UserModel:
    return load_user_model()


@pytest.fixture(scope="session")
def small_world() -> World:
    """5,000 tracks, 2,000 users: big enough for the calibration checks, fast to build."""
    return generate_world(WorldParams(tracks=5_000, users=2_000), seed=7)


@pytest.fixture()
def start_replica(tmp_path: Path) -> Iterator[Callable[..., FakeReplica]]:
    """Start fake botify processes on free loopback ports; all are killed at teardown."""
    started: list[FakeReplica] = []

    def start(tracks: int, mode: str = "random", die_after: int = 0, **options: object
              ) -> FakeReplica:
        name = f"replica{len(started)}"
        log = tmp_path / name / "data.json"
        started.append(start_fake_replica(log, tracks, mode, die_after, name=name,
                                          **options))  # type: ignore[arg-type]
        return started[-1]

    yield start
    for replica in started:
        replica.kill()
