"""The Ray runtime's settings and the parts that need no cluster: `stack.ray` validation,
the error without Ray installed, the shards' split of the users, the artifacts archive."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from recctl.errors import RecctlError
from recctl.sim.http_runner import in_shard
from recctl.sim.session import EpisodeKey, episode_user
from recctl.spec import parse_experiment

BODY = {"name": "exp_ray", "artifacts": "artifacts",
        "arms": {"C": {"type": "top_pop"}, "T1": {"type": "random"}},
        "stack": {"runtime": "ray"}}


def _write(tmp_path: Path, ray: object) -> Path:
    path = tmp_path / "exp.yml"
    path.write_text(yaml.safe_dump({**BODY, "stack": {"runtime": "ray", "ray": ray}}))
    return path


@pytest.mark.parametrize("address", ["auto", "ray://head.example:10001", "10.0.0.5:6379",
                                     "head-node:6380"])
def test_good_addresses(tmp_path: Path, address: str) -> None:
    spec = parse_experiment(_write(tmp_path, {"address": address, "shards": 4})).spec
    assert spec.stack.runtime == "ray"
    assert spec.stack.ray.address == address and spec.stack.ray.shards == 4


@pytest.mark.parametrize(("ray", "key"), [
    ({"address": "http://head:8265"}, "stack.ray.address"),
    ({"address": "head"}, "stack.ray.address"),
    ({"namespace": "../x"}, "stack.ray.namespace"),
    ({"shards": 0}, "stack.ray.shards"),
    ({"replica_cpus": -1}, "stack.ray.replica_cpus"),
    ({"adress": "auto"}, "stack.ray.adress"),
])
def test_bad_settings_name_the_key(tmp_path: Path, ray: dict, key: str) -> None:
    with pytest.raises(RecctlError) as info:
        parse_experiment(_write(tmp_path, ray))
    assert key in str(info.value) and info.value.hint


def test_without_ray_installed_the_error_says_how_to_install(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from recctl.stack.ray_cluster import connect

    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` sees when absent
    with pytest.raises(RecctlError) as info:
        connect("auto", "recctl")
    assert "Ray is not installed" in str(info.value)
    assert "recctl[ray]" in (info.value.hint or "")


def test_shards_split_the_users_and_cover_every_episode() -> None:
    from recctl.sim.world import WorldParams, generate_world

    world = generate_world(WorldParams(tracks=500, users=300), seed=1)
    shards = 3
    owner: dict[int, int] = {}
    for day in range(2):
        for episode in range(400):
            key = EpisodeKey(7, day, episode)
            chosen = [s for s in range(shards) if in_shard(world, key, (s, shards))]
            assert len(chosen) == 1  # each episode runs exactly once
            user = episode_user(world, key)
            assert owner.setdefault(user, chosen[0]) == chosen[0]  # a user stays in one shard
    assert set(owner.values()) == set(range(shards))


def test_the_archive_refuses_links(tmp_path: Path) -> None:
    from recctl.stack.ray_runtime import folder_archive

    folder = tmp_path / "artifacts"
    folder.mkdir()
    (folder / "tracks.json").write_text("{}\n")
    assert folder_archive(folder)
    (folder / "escape").symlink_to("/etc/passwd")
    with pytest.raises(RecctlError, match="is a link"):
        folder_archive(folder)
