"""Finding runs: `.recctl/runs/<experiment>/<run-id>/`, the `current` pointer, the runtime."""

from __future__ import annotations

from pathlib import Path

from recctl.errors import RecctlError
from recctl.paths import state_root
from recctl.spec import LoadedExperiment
from recctl.stack.base import PRIVATE_DIR, RunState, Runtime, new_run_id, private_dir

EXPERIMENT_SNAPSHOT = "experiment.yml"  # the experiment file as `up` read it


def experiment_dir(experiment: str, root: Path | None = None) -> Path:
    return (root or state_root()) / experiment


def new_run(loaded: LoadedExperiment, root: Path | None = None,
            run_id: str | None = None) -> RunState:
    """A fresh run folder for the experiment (not yet marked current)."""
    run_id = run_id or new_run_id()
    parent = private_dir(experiment_dir(loaded.spec.name, root))
    run_dir = parent / run_id
    run_dir.mkdir(mode=PRIVATE_DIR)  # a new run: fails if the id were ever reused
    run_dir.chmod(PRIVATE_DIR)  # whatever the umask
    state = RunState(
        experiment=loaded.spec.name, run_id=run_id, runtime=loaded.spec.stack.runtime,
        experiment_file=str(loaded.path), config_hash=loaded.config_hash,
        seed=loaded.spec.simulation.seed, run_dir=str(run_dir),
        served=loaded.served_parts(),
    )
    state.save()
    # The file as served: fetch files this copy with the logs, whatever is edited later.
    (run_dir / EXPERIMENT_SNAPSHOT).write_bytes(loaded.path.read_bytes())
    return state


def check_still_served(loaded: LoadedExperiment, state: RunState) -> None:
    """Refuse to drive a stack whose experiment file was edited where it matters since `up`
    (the replicas would serve the old arms under the new file's name for them)."""
    if state.served is None:  # a run from before this check
        return
    now = loaded.served_parts()
    changed = [key for key in now if now[key] != state.served.get(key)]
    if changed:
        raise RecctlError(
            f"{loaded.path}: {', '.join(changed)} changed since `recctl up` started run "
            f"{state.run_id}; its replicas still serve the file as it was then",
            f"undo the change, or `recctl down {loaded.path.name}` and `recctl up` again")


def mark_current(state: RunState) -> None:
    (Path(state.run_dir).parent / "current").write_text(state.run_id + "\n")


def current_run(experiment: str, root: Path | None = None, run_id: str | None = None) -> RunState:
    """The run `up` started last for this experiment (or the one named)."""
    base = experiment_dir(experiment, root)
    if run_id is None:
        pointer = base / "current"
        if not pointer.is_file():
            raise RecctlError(f"no stack has been started for experiment {experiment!r}",
                              "start one with `recctl up EXPERIMENT.yml`")
        run_id = pointer.read_text().strip()
    return RunState.load(base / run_id)


def runtime_for(name: str, docker_host: str | None = None) -> Runtime:
    if name == "local":
        from recctl.stack.local_runtime import LocalRuntime

        return LocalRuntime()
    if name == "docker":
        try:
            from recctl.stack.docker_runtime import DockerRuntime
        except ImportError as exc:
            raise RecctlError(f"the Docker runtime is not available ({exc})",
                              "set stack.runtime: local") from None
        return DockerRuntime(docker_host=docker_host)
    if name == "ray":
        from recctl.stack.ray_runtime import RayRuntime

        return RayRuntime()
    raise RecctlError(f"unknown runtime {name!r}", "use stack.runtime: local, docker or ray")
