"""Fixtures for stack tests: small artifacts and an experiment file pointing at them."""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from recctl.artifacts import ArtifactWriter, read_jsonl
from recctl.eventlog import find_log_files, iter_events
from recctl.stack.base import RunState
from recctl.stack.managed import ManagedProcess
from recctl.workflow import RunOutcome

TRACKS = 200


def write_small_artifacts(root: Path) -> Path:
    with ArtifactWriter(root) as writer:
        writer.tracks({"track": t, "artist": f"Artist {t % 20}", "title": f"Song {t}"}
                      for t in range(TRACKS))
        writer.top_tracks(range(50))
        writer.user_lists("dssm", [(u, [(u * 7 + k) % TRACKS for k in range(30)])
                                   for u in range(100)])
        writer.item_lists("i2i", [(t, [(t + k) % TRACKS for k in range(1, 21)])
                                  for t in range(TRACKS)])
        writer.finish(producer="tests")
    return root


def build_small_world(root: Path, missing_tracks: int = 0) -> tuple[Path, Path]:
    """A 2,000-track world and artifacts over its catalog (plumbing, not quality).

    `missing_tracks` leaves that many tracks out of the artifacts' catalog: the service
    then answers 404 to a session that starts on one (a run with failed episodes).
    """
    from recctl.sim.world import WorldParams
    from recctl.sim.world_io import build_world

    world_dir = root / "world"
    build_world(world_dir, WorldParams(tracks=2000, users=300), seed=1)
    rng = np.random.default_rng(0)
    known = (np.sort(rng.permutation(2000)[missing_tracks:]) if missing_tracks
             else np.arange(2000))
    with ArtifactWriter(root / "artifacts") as writer:
        writer.tracks(t for t in read_jsonl(world_dir / "tracks.json")
                      if not missing_tracks or t["track"] in set(known.tolist()))
        writer.top_tracks(rng.choice(known, 100, replace=False))
        writer.user_lists("dssm", [(u, rng.choice(known, 50, replace=False))
                                   for u in range(300)])
        writer.item_lists("i2i", [(t, rng.choice(known, 20, replace=False)) for t in known])
        writer.finish(producer="tests")
    return world_dir, root / "artifacts"


def write_experiment(folder: Path, name: str, artifacts: Path, **overrides: object) -> Path:
    body: dict = {
        "name": name,
        "artifacts": str(artifacts),
        "arms": {
            "C": {"type": "indexed", "params": {"artifact": "dssm"},
                  "fallback": {"type": "top_pop"}},
            "T1": {"type": "contextual_mod",
                   "params": {"i2i": "i2i", "user_list": "dssm", "liked_threshold": 0.7},
                   "fallback": {"type": "top_pop"}},
        },
        "stack": {"replicas": 2},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(body.get(key), dict):
            body[key] = {**body[key], **value}
        else:
            body[key] = value
    path = folder / f"{name}.yml"
    path.write_text(yaml.safe_dump(body))
    return path


@pytest.fixture()
def small_artifacts(tmp_path: Path) -> Path:
    return write_small_artifacts(tmp_path / "artifacts")


@pytest.fixture()
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """RECCTL_HOME in a temporary folder: run state and cache stay inside the test."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("RECCTL_HOME", str(home))
    return home


@contextlib.contextmanager
def two_ray_nodes() -> Iterator[tuple[Any, Any]]:
    """A Ray head and one more node on this machine, one CPU each (~950 MB): (the
    cluster, the second node)."""
    from ray.cluster_utils import Cluster

    nodes = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 1, "include_dashboard": False})
    try:
        second = nodes.add_node(num_cpus=1)
        nodes.wait_for_nodes()
        yield nodes, second
    finally:
        nodes.shutdown()


def assert_exactly_once(outcome: RunOutcome, seed: int = 4) -> None:
    """A run through faults: no episode failed, the verdict is valid, and every
    acknowledged request was read once (duplicates dropped and counted)."""
    simulation = outcome.simulation
    assert simulation is not None
    assert simulation["failed_episodes"] == 0, simulation["errors"]
    report = outcome.report
    rec = report.reconciliation
    assert report.invalid_reasons == []
    assert rec.total.acknowledged == simulation["acked_requests"] == rec.total.read
    # What was fetched is what was read plus the duplicates dropped (counted).
    assert rec.total.logged == rec.total.read + rec.total.duplicates
    assert sum(r.duplicates for r in rec.replicas) == rec.total.duplicates
    written = json.loads((outcome.report_dir / "report.json").read_text())
    assert written["valid"] is True
    assert written["reconciliation"]["total"]["duplicates"] == rec.total.duplicates
    # Every line carries the simulator's own id (through nginx too): "<seed>-<day>-<ep>:...".
    assert outcome.fetched is not None
    ids = [e.get("request_id") for e in iter_events(find_log_files([outcome.fetched.dest]))]
    assert all(re.fullmatch(rf"{seed}-0-\d+:\d+:(next|last)", str(i)) for i in ids)


def local_logged_bytes(state: RunState) -> int:
    """What the local runtime's replicas have logged so far, in bytes."""
    logs = [Path(r.log_dir or "") / "data.json" for r in state.replicas]
    return sum(p.stat().st_size for p in logs if p.exists())


class Fault:
    """Runs `inject(state, fault)` in a thread once the users are listening: the replicas'
    logs hold `after_bytes` by `logged_bytes(state)` (by default: the local runtime's log
    files). On exit, stops whatever the fault started (`started`)."""

    def __init__(self, workspace: Path, experiment: str,
                 inject: Callable[[RunState, Fault], None], after_bytes: int = 40_000,
                 logged_bytes: Callable[[RunState], int] | None = None) -> None:
        self.runs = workspace / ".recctl" / "runs" / experiment
        self.inject, self.after_bytes = inject, after_bytes
        self.logged_bytes = logged_bytes or local_logged_bytes
        self.injected_at: float | None = None
        self.started: list[ManagedProcess] = []  # processes the fault started
        self.done = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _state(self) -> RunState | None:
        for path in self.runs.glob("*/state.json"):
            try:
                state = RunState.load(path.parent)
            except (ValueError, OSError):
                continue  # being written
            if state.endpoint and state.replicas and not state.stopped:
                return state
        return None

    def _run(self) -> None:
        try:
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                state = self._state()
                if state is not None and self.logged_bytes(state) > self.after_bytes:
                    self.inject(state, self)
                    self.injected_at = time.monotonic()
                    return
                time.sleep(0.02)
            raise AssertionError("the simulation never started")
        except BaseException as exc:  # reported by the test
            self.error = exc
        finally:
            self.done.set()

    def __enter__(self) -> Fault:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.thread.join(timeout=60)
        for process in self.started:
            process.stop()
