"""Fixtures for stack tests: small artifacts and an experiment file pointing at them."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from recctl.artifacts import ArtifactWriter

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
