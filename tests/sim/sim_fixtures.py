"""Fixtures for the simulator tests: a small world, and real botify replicas serving it.

The replicas are the real service (`ReplicaProcess`, as `recctl up` starts them) on the
test session's Redis, with small artifacts over the world's catalog. Two experiments:
`random` (one arm, a uniformly random track) and `chain` (one arm, `contextual` over an
item-to-item list of ONE track each, so the answer is a fixed function of the track just
played: `next_track`, which the in-process simulator can replay exactly).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from recctl.artifacts import ArtifactWriter
from recctl.sim.user_model import UserModel, load_user_model
from recctl.sim.world import World, WorldParams, generate_world
from recctl.stack.replica_process import ReplicaProcess


def hash_recommendation(user: int, track: int, tracks: int) -> int:
    """A fixed pseudo-random track for (user, track)."""
    x = (user * 1_000_003 + track * 7919 + 12345) & 0xFFFFFFFF
    x = (x ^ (x >> 16)) * 0x45D9F3B & 0xFFFFFFFF
    x = (x ^ (x >> 16)) * 0x45D9F3B & 0xFFFFFFFF
    return (x ^ (x >> 16)) % tracks


def next_track(track: int, tracks: int) -> int:
    """The `chain` experiment's answer after `track` (never the track itself, which the
    service's recommenders exclude)."""
    chosen = hash_recommendation(0, track, tracks)
    return chosen if chosen != track else (track + 1) % tracks


ARMS = {
    "random": {"C": {"type": "random"}},
    "chain": {"C": {"type": "contextual", "params": {"artifact": "i2i"}}},
}


@pytest.fixture(scope="session")
def user_model() -> UserModel:
    return load_user_model()


@pytest.fixture(scope="session")
def small_world() -> World:
    """5,000 tracks, 2,000 users: big enough for the calibration checks, fast to build."""
    return generate_world(WorldParams(tracks=5_000, users=2_000), seed=7)


@pytest.fixture(scope="session")
def sim_experiments(small_world: World, tmp_path_factory: pytest.TempPathFactory
                    ) -> dict[str, Path]:
    """Artifacts over the world's catalog, and an experiment file per kind of replica."""
    root = tmp_path_factory.mktemp("sim-service")
    n = small_world.n_tracks
    with ArtifactWriter(root / "artifacts") as writer:
        writer.tracks({"track": t, "artist": small_world.artist_names[a],
                       "title": small_world.titles[t]}
                      for t, a in enumerate(small_world.track_artist.tolist()))
        writer.top_tracks(range(100))
        writer.item_lists("i2i", ((t, [next_track(t, n)]) for t in range(n)))
        writer.finish(producer="tests")
    files = {}
    for kind, arms in ARMS.items():
        files[kind] = root / f"{kind}.yml"
        files[kind].write_text(yaml.safe_dump({
            "name": f"sim_{kind}", "artifacts": str(root / "artifacts"), "arms": arms}))
    return files


class ReplicaStarter:
    """Starts real replicas ("replica0", "replica1", ...) of one test on its empty Redis."""

    def __init__(self, folder: Path, experiments: dict[str, Path], redis_url: str) -> None:
        self.folder, self.experiments, self.redis_url = folder, experiments, redis_url
        self.started: list[ReplicaProcess] = []

    def _new(self, kind: str, name: str | None, port: int | None,
             env: dict[str, str] | None) -> ReplicaProcess:
        name = name or f"replica{len(self.started)}"
        replica = ReplicaProcess(
            name=name, experiment=self.experiments[kind], redis_url=self.redis_url,
            log_dir=self.folder / name / "logs", service_log=self.folder / name / "service.log",
            port=port, seed=1, env=env, ready_timeout=30)
        self.started.append(replica)
        return replica

    def __call__(self, kind: str = "random", *, name: str | None = None,
                 port: int | None = None, env: dict[str, str] | None = None) -> ReplicaProcess:
        """One replica, ready; `env` adds RECCTL_* limits; `name` and `port` restart one."""
        return self._new(kind, name, port, env).start()

    def many(self, count: int, kind: str = "random") -> list[ReplicaProcess]:
        """`count` replicas started side by side (they load the artifacts once), ready."""
        replicas = [self._new(kind, None, None, None) for _ in range(count)]
        for replica in replicas:
            replica.spawn()
        for replica in replicas:
            replica.wait_ready()
        return replicas

    def stop_all(self) -> None:
        for replica in self.started:
            replica.kill()


@pytest.fixture()
def start_replica(tmp_path: Path, sim_experiments: dict[str, Path], redis_url: str
                  ) -> Iterator[ReplicaStarter]:
    """Real replicas for one test; all are stopped at teardown."""
    starter = ReplicaStarter(tmp_path, sim_experiments, redis_url)
    yield starter
    starter.stop_all()
