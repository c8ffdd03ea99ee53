"""An experiment's arms A/B-tested in-process, without a stack.

The arms are built from the experiment file exactly as the service builds them (a
user's own "package.module:Class" included) and run on a MemoryStore of the experiment's
artifacts against its world, each arm on the same simulated episodes with its own
fresh user state: a paired, quick look before running the real stack.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from recctl.bootstrap.dayloop import ab_in_process
from recctl.errors import RecctlError
from recctl.recommenders import MemoryStore
from recctl.sim.user_model import load_user_model
from recctl.sim.world_io import load_world
from recctl.spec import load_experiment


def ab_experiment(path: str | Path, *, episodes: int | None = None,
                  seed: int | None = None) -> dict[str, dict[str, Any]]:
    """Mean session time (and its standard error, mean steps) per arm of an experiment.

    Args:
        path: the experiment file; its data folder must hold world/ and artifacts/.
        episodes, seed: default to the file's `simulation.episodes` and `simulation.seed`.
    """
    loaded = load_experiment(path)  # validates the arms against the artifacts
    spec = loaded.spec
    if not spec.world_dir.is_dir():
        raise RecctlError(f"{loaded.path}: world folder {spec.world_dir} does not exist",
                          f"run `recctl bootstrap --out {spec.data}` first")
    user_model = load_user_model(spec.simulation.user_model)
    world = load_world(spec.world_dir, user_model)
    store = MemoryStore.from_artifacts(spec.artifacts_dir)
    return ab_in_process(world, user_model, store, spec.arms,
                         episodes=episodes or spec.simulation.episodes,
                         seed=spec.simulation.seed if seed is None else seed, day=0)
