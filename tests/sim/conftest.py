"""Fixtures for the simulator tests: a small world, and stand-in service processes."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from recctl.sim.user_model import UserModel, load_user_model
from recctl.sim.world import World, WorldParams, generate_world

FAKE_BOTIFY = Path(__file__).with_name("fake_botify.py")


@pytest.fixture(scope="session")
def user_model() -> UserModel:
    return load_user_model()


@pytest.fixture(scope="session")
def small_world() -> World:
    """5,000 tracks, 2,000 users: big enough for the calibration checks, fast to build."""
    return generate_world(WorldParams(tracks=5_000, users=2_000), seed=7)


@dataclass
class FakeReplica:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)


@pytest.fixture()
def start_replica(tmp_path: Path) -> Iterator[Callable[..., FakeReplica]]:
    """Start a fake botify process on a free loopback port; all are killed at teardown."""
    started: list[FakeReplica] = []

    def start(tracks: int, mode: str = "random", die_after: int = 0) -> FakeReplica:
        log = tmp_path / f"replica{len(started)}" / "data.json"
        log.parent.mkdir(parents=True)
        process = subprocess.Popen(
            [sys.executable, str(FAKE_BOTIFY), "--tracks", str(tracks), "--log", str(log),
             "--mode", mode, "--die-after", str(die_after)],
            stdout=subprocess.PIPE)
        assert process.stdout is not None
        line = process.stdout.readline().decode()
        if not line.startswith("PORT "):
            process.kill()
            raise RuntimeError(f"fake botify did not start: {line!r}")
        replica = FakeReplica(process, f"http://127.0.0.1:{int(line.split()[1])}", log)
        started.append(replica)
        return replica

    yield start
    for replica in started:
        if replica.process.poll() is None:
            replica.kill()
