"""Reading an experiment file: parse and validate it, resolve its paths against its
folder, hash its content, then check its recommenders and their artifacts."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import orjson
import yaml
from pydantic import BaseModel, ConfigDict

from recctl.artifacts import ArtifactSet
from recctl.errors import RecctlError
from recctl.settings import read_yaml, validate
from recctl.spec.arms import arm_problems
from recctl.spec.experiment import Experiment

SERVED_KEYS = ("name", "arms", "split", "data", "artifacts")


class LoadedExperiment(BaseModel):
    """A validated experiment, with where it came from and a hash of its content."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    path: Path
    spec: Experiment
    config_hash: str
    raw: dict[str, Any]

    def served_parts(self) -> dict[str, str]:
        """A hash of each part of the file the replicas serve (the rest only drives the
        simulator and the report): a change to these after `up` makes the stack stale."""
        return {key: _digest(self.raw.get(key)) for key in SERVED_KEYS}


def _digest(value: Any) -> str:
    """A short hash of YAML content, independent of key order."""
    return hashlib.sha256(yaml.safe_dump(value, sort_keys=True).encode("utf-8")).hexdigest()[:16]


def _resolve(base: Path, value: Path | None) -> Path | None:
    if value is None:
        return None
    return value if value.is_absolute() else (base / value).resolve()


def parse_experiment(path: str | Path) -> LoadedExperiment:
    """Read and validate the file's structure (not yet its artifacts)."""
    path = Path(path)
    raw = read_yaml(path, what="experiment file", example="experiments/aa.yml")
    spec = validate(Experiment, raw, path, what="experiment file",
                    hint="fix the keys named; the experiment-file reference is in README.md")
    base = path.resolve().parent
    updates: dict[str, Any] = {
        "data": _resolve(base, spec.data),
        "artifacts": _resolve(base, spec.artifacts),
        "world": _resolve(base, spec.world),
    }
    simulation = spec.simulation.model_copy(
        update={"user_model": _resolve(base, spec.simulation.user_model)}
    )
    report = spec.report.model_copy(update={"pre_period": _resolve(base, spec.report.pre_period)})
    spec = spec.model_copy(update={**updates, "simulation": simulation, "report": report})
    return LoadedExperiment(path=path.resolve(), spec=spec, config_hash=_digest(raw), raw=raw)


def check_recommenders(loaded: LoadedExperiment, artifacts: ArtifactSet | None) -> None:
    """Each arm's recommenders exist, their params are valid, their artifacts are present."""
    problems = arm_problems(loaded.spec.arms, "arms", artifacts)
    if problems:
        hint = "fix the arms' type/params, or build the artifacts they need (`recctl train`)"
        data = loaded.spec.data
        if loaded.spec.artifacts is None and (data / "manifest.json").is_file():
            # A folder from `recctl bootstrap`, perhaps an older recctl's: bootstrap
            # rebuilds it when the settings it was made with are no longer the current ones.
            hint += (f"; {data} was made by `recctl bootstrap`: `recctl bootstrap --out "
                     f"{data}{_seed_option(data / 'manifest.json')}` brings it up to date "
                     "(e.g. one made by an older recctl)")
        raise RecctlError(
            f"{loaded.path}: invalid recommenders\n" + "\n".join(f"  {p}" for p in problems),
            hint)


def _seed_option(manifest: Path) -> str:
    # The seed the folder was built with, so that the rebuild keeps its world.
    try:
        seed = orjson.loads(manifest.read_bytes()).get("seed")
    except (OSError, orjson.JSONDecodeError, AttributeError):
        return ""
    return f" --seed {seed}" if isinstance(seed, int) else ""


def load_experiment(path: str | Path, *, require_artifacts: bool = True) -> LoadedExperiment:
    """Parse, validate and check an experiment file; artifacts too unless told not to."""
    loaded = parse_experiment(path)
    artifacts = None
    if require_artifacts:
        artifacts_dir = loaded.spec.artifacts_dir
        if not artifacts_dir.is_dir():
            raise RecctlError(
                f"{loaded.path}: artifacts folder {artifacts_dir} does not exist "
                f"(key: {'artifacts' if loaded.spec.artifacts else 'data'})",
                f"run `recctl bootstrap --out {loaded.spec.data}` or point `artifacts:` "
                "at a folder made by `recctl train`",
            )
        artifacts = ArtifactSet(artifacts_dir)
    check_recommenders(loaded, artifacts)
    return loaded
