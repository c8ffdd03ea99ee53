"""Fixtures for the service: small real artifacts, experiment files, real replicas."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from recctl.artifacts import ArtifactWriter
from recctl.stack.replica_process import ReplicaProcess

N_TRACKS = 60
N_ARTISTS = 6
N_USERS = 20


def i2i_of(track: int) -> list[int]:
    """Each track's item-to-item list: the next five tracks (mod the catalog)."""
    return [(track + k) % N_TRACKS for k in range(1, 6)]


def dssm_of(user: int) -> list[int]:
    return [(user * 3 + k) % N_TRACKS for k in range(10)]


@pytest.fixture(scope="session")
def artifacts_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("artifacts") / "set"
    with ArtifactWriter(root) as writer:
        writer.tracks({"track": t, "artist": f"artist-{t % N_ARTISTS}", "title": f"song {t}"}
                      for t in range(N_TRACKS))
        writer.top_tracks([5, 7, 9, 11])
        writer.user_lists("dssm", ((u, dssm_of(u)) for u in range(N_USERS)))
        writer.item_lists("i2i", ((t, i2i_of(t)) for t in range(N_TRACKS) if t != 13))
        writer.finish(producer="tests")
    return root


def write_experiment(folder: Path, arms: dict, name: str = "svc_test", **stack: object) -> Path:
    path = folder / f"{name}.yml"
    body = {"name": name, "arms": arms, "stack": {"user_state_ttl": 600, **stack}}
    path.write_text(yaml.safe_dump(body))
    return path


HEADLINE_ARMS = {
    "C": {"type": "indexed", "params": {"artifact": "dssm"}, "fallback": {"type": "top_pop"}},
    "T1": {"type": "contextual_mod",
           "params": {"i2i": "i2i", "user_list": "dssm", "liked_threshold": 0.7},
           "fallback": {"type": "top_pop", "fallback": {"type": "random"}}},
}


Replica = ReplicaProcess  # what the fixtures hand out: the runtime's own replica type


def start_replica(tmp: Path, experiment: Path, artifacts: Path, redis_url: str,
                  name: str = "r1", wait_ready: bool = True, extra: tuple[str, ...] = (),
                  env: dict[str, str] | None = None) -> ReplicaProcess:
    """A replica process, ready (or only up, without `wait_ready`); `env` adds variables
    (the RECCTL_* limits, for instance). A failed start stops it and says why."""
    replica = ReplicaProcess(
        name=name, experiment=experiment, artifacts=artifacts, redis_url=redis_url,
        log_dir=tmp / name / "logs", service_log=tmp / name / "service.log", seed=1,
        ready_path="/ready" if wait_ready else "/health", extra_args=extra, env=env,
        ready_timeout=20)
    return replica.start()


ReplicaFactory = Callable[..., Replica]


@pytest.fixture()
def replica_factory(tmp_path: Path, artifacts_dir: Path, redis_url: str
                    ) -> Iterator[ReplicaFactory]:
    started: list[Replica] = []

    def make(arms: dict | None = None, name: str = "r1", experiment: Path | None = None,
             **kwargs: object) -> Replica:
        exp = experiment or write_experiment(tmp_path, arms or HEADLINE_ARMS)
        replica = start_replica(tmp_path, exp, artifacts_dir, redis_url, name=name,
                                **kwargs)  # type: ignore[arg-type]
        started.append(replica)
        return replica

    yield make
    for replica in started:
        replica.kill()


@pytest.fixture()
def replica(replica_factory: ReplicaFactory) -> Replica:
    return replica_factory()


def wait_for(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)
