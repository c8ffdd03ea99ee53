"""Stack lifecycle as library calls: up, status, down, fetch, for an experiment file."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from recctl.errors import RecctlError
from recctl.spec import LoadedExperiment
from recctl.stack.base import ComponentStatus, RunState, new_run_id, private_dir
from recctl.stack.fetch import FetchResult, fetch_run
from recctl.stack.runs import current_run, experiment_dir, mark_current, new_run, runtime_for

UP_LOCK = "up.lock"


def _runtime(state: RunState, loaded: LoadedExperiment | None = None):  # noqa: ANN202
    docker_host = loaded.spec.stack.docker_host if loaded else state.docker.get("host")
    return runtime_for(state.runtime, docker_host)


@contextmanager
def up_lock(loaded: LoadedExperiment, run_id: str, root: Path | None = None) -> Iterator[None]:
    """Hold `.recctl/runs/<experiment>/up.lock` while one `up` checks and starts the stack.

    An flock, not a marker file: the kernel releases it when the holder exits, however it
    exits, so a crashed or failed `up` never blocks the next one. The holder notes its run
    id and pid in the file (emptied again on release) for a refused `up` to name.
    """
    path = private_dir(experiment_dir(loaded.spec.name, root)) / UP_LOCK
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RecctlError(
                f"another `recctl up` of experiment {loaded.spec.name!r} is in progress "
                f"({_holder(fd)})",
                f"wait for it and check `recctl status {loaded.path}`, or stop that run with "
                f"`recctl down {loaded.path}`") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"run {run_id}, pid {os.getpid()}\n".encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # releases the lock


def _holder(fd: int) -> str:
    """The holder's note; it writes it just after locking, so wait a moment for it."""
    deadline = time.monotonic() + 2.0
    while True:
        note = os.pread(fd, 200, 0).decode(errors="replace").strip()
        if note or time.monotonic() > deadline:
            return note or "starting"
        time.sleep(0.02)


def stack_up(loaded: LoadedExperiment, console: Console, root: Path | None = None) -> RunState:
    """Start the experiment's stack; refuses if one is already running or starting for it."""
    run_id = new_run_id()
    with up_lock(loaded, run_id, root):
        try:
            previous = current_run(loaded.spec.name, root)
        except RecctlError:
            previous = None
        if previous is not None and not previous.stopped and _may_be_running(previous):
            alive = [c for c in _runtime(previous, loaded).status(previous) if c.running]
            if alive:
                raise RecctlError(
                    f"a stack for experiment {loaded.spec.name!r} is already running "
                    f"(run {previous.run_id}, endpoint {previous.endpoint})",
                    f"stop it first with `recctl down {loaded.path}`",
                )
        state = new_run(loaded, root, run_id)
        # Current from the start: a start that fails shows in `status` as a stopped run.
        mark_current(state)
        return _runtime(state, loaded).up(loaded, state, console)


def _may_be_running(state: RunState) -> bool:
    """False for a run that provably started nothing (a Docker or Ray `up` that failed
    before it created anything): its engine need not even be reachable any more."""
    if state.runtime == "docker":
        return bool(state.docker)
    if state.runtime == "ray":  # no actor created: no cluster to ask
        return bool(state.ray.get("actors"))
    return True


@dataclass
class StackStatus:
    state: RunState
    components: list[ComponentStatus]

    @property
    def healthy(self) -> bool:
        return all(c.running for c in self.components)

    @property
    def stale(self) -> list[ComponentStatus]:
        """Components the state says were started but that are gone (crashed)."""
        return [] if self.state.stopped else [c for c in self.components if not c.running]


def stack_status(experiment: str, root: Path | None = None,
                 run_id: str | None = None) -> StackStatus:
    state = current_run(experiment, root, run_id)
    if not _may_be_running(state):  # nothing was created: no engine to ask
        return StackStatus(state, [])
    return StackStatus(state, _runtime(state).status(state))


def stack_down(experiment: str, root: Path | None = None, run_id: str | None = None) -> RunState:
    state = current_run(experiment, root, run_id)
    if _may_be_running(state):
        _runtime(state).down(state)
    state.stopped = True
    state.save()
    return state


def stack_fetch(experiment: str, root: Path | None = None, run_id: str | None = None,
                cache: Path | None = None) -> FetchResult:
    state = current_run(experiment, root, run_id)
    return fetch_run(state, _runtime(state), cache)


def simulation_targets(state: RunState) -> list[str]:
    """Where the simulator sends requests: the balancer, or every replica (client-side)."""
    if state.balancer == "nginx" and state.endpoint:
        return [state.endpoint]
    if not state.replica_urls:
        raise RecctlError(f"run {state.run_id} has no endpoint reachable from this machine",
                          "check `recctl status`")
    return list(state.replica_urls)
