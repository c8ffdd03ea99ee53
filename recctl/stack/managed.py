"""One lifecycle for every process a stack runs (Redis, botify replicas, nginx).

    start()  spawn the argv in its own session (it outlives the CLI that started it),
             output to a log file, then wait until its readiness probe passes;
             if it exits first, or the probe times out, stop it and raise a RecctlError
             whose hint holds the end of its log(s)
    stop()   SIGTERM to its process group, wait, then SIGKILL what is left
    attach() the same object again from its stored record (pid, start time, log), so
             `recctl status` / `down` from another shell find what `up` started

A pid alone can be reused by the OS after a crash, so a record keeps the pid with the
process's start time; a process counts as ours only when both match. Usable as a context
manager (`with ManagedProcess(...) as p:`), which is how the tests use it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

import psutil

from recctl.errors import RecctlError
from recctl.stack.probes import Probe, poll

TAIL_LINES = 15
P = TypeVar("P", bound="ManagedProcess")


def tail_text(text: str, lines: int = TAIL_LINES) -> str:
    """The last `lines` lines of `text`, indented for a RecctlError hint."""
    kept = text.splitlines()[-lines:]
    return "\n    ".join(kept) if kept else "(empty log)"


def log_tail(path: str | Path, lines: int = TAIL_LINES) -> str:
    """The last lines of a log file (the one tail helper for files)."""
    try:
        with open(path, "rb") as handle:  # only the end: a log may be large
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 64 * 1024))
            text = handle.read().decode(errors="replace")
    except OSError:
        return "(no log)"
    return tail_text(text, lines)


class ManagedProcess:
    """A process with a readiness probe: start -> wait until ready -> stop."""

    def __init__(self, argv: Sequence[str], *, name: str, log_file: Path,
                 probe: Probe | None = None, logs: Sequence[Path] = (),
                 cwd: Path | None = None, env: dict[str, str] | None = None,
                 ready_timeout: float = 30.0, stop_timeout: float = 10.0) -> None:
        """Args:
            argv: the command (built by recctl, never a shell string).
            name: names it in messages ("redis", "replica-1", "nginx").
            log_file: where stdout and stderr go (appended).
            probe: what "ready" means; None: ready once spawned.
            logs: more log files worth showing when start fails (nginx's error.log ...).
        """
        self.argv = [str(a) for a in argv]
        self.name = name
        self.log_file = Path(log_file)
        self.probe = probe
        self.logs = [Path(p) for p in logs]
        self.cwd, self.env = cwd, env
        self.ready_timeout, self.stop_timeout = ready_timeout, stop_timeout
        self.pid: int | None = None
        self.started: float | None = None  # the process's start time (pid reuse check)
        # A session (and process group) of its own, so that stop() reaches its children.
        # A Ray actor's process sets this False instead: it must stay in the actor's group,
        # which ray.kill ends, so that nothing outlives a killed actor.
        self.own_session = True
        self._popen: subprocess.Popen[bytes] | None = None

    # -- the record kept in state.json -------------------------------------------------
    @property
    def record(self) -> dict[str, Any]:
        return {"pid": self.pid, "started": self.started, "log": str(self.log_file)}

    @classmethod
    def attach(cls, record: dict[str, Any] | None, *, name: str,
               probe: Probe | None = None) -> ManagedProcess:
        """The process a record describes (possibly gone), to inspect or stop it."""
        record = record or {}
        process = ManagedProcess(record.get("argv") or [], name=name,
                                 log_file=Path(record.get("log") or os.devnull), probe=probe)
        process.pid = int(record["pid"]) if record.get("pid") else None
        process.started = float(record.get("started") or 0.0)
        return process

    # -- lifecycle ---------------------------------------------------------------------
    def prepare(self) -> None:
        """Files the process needs before it starts (config, folders); subclasses add."""
        self.log_file.parent.mkdir(parents=True, exist_ok=True)

    def start(self: P) -> P:
        """Spawn and wait until ready; on any failure the process is stopped again."""
        self.spawn()
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def spawn(self) -> None:
        """Start the process without waiting (to start several at once, then
        `wait_ready()` each; the caller stops them when one fails)."""
        if self.running:
            raise RuntimeError(f"{self.name} is already running (pid {self.pid})")
        self.prepare()
        with open(self.log_file, "ab") as out:
            try:
                self._popen = subprocess.Popen(  # noqa: S603 (argv built by recctl)
                    self.argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                    cwd=self.cwd, env=self.env, start_new_session=self.own_session)
            except OSError as exc:
                raise RecctlError(f"{self.name}: cannot run {self.argv[0]} ({exc.strerror})",
                                  "check that it is installed and executable") from None
        self.pid = self._popen.pid
        try:
            self.started = psutil.Process(self.pid).create_time()
        except psutil.Error:  # already gone: wait_ready says why
            self.started = 0.0

    def wait_ready(self, timeout: float | None = None) -> None:
        """Poll the probe; RecctlError (with the log's end) on timeout or early exit."""
        if self.probe is None:
            return
        poll(self.probe.check, timeout=self.ready_timeout if timeout is None else timeout,
             interval=0.05, what=f"{self.name} ({self.probe.what})",
             abort=self.exit_reason, on_timeout_hint=self.recent_log)

    def recent_log(self) -> str:
        """The end of each non-empty log, for an error message."""
        parts = []
        for path in [self.log_file, *self.logs]:
            text = log_tail(path)
            if text not in ("(no log)", "(empty log)"):
                parts.append(f"{self.name} log {path}:\n    {text}")
        return "\n".join(parts) or f"{self.name} wrote no log ({self.log_file})"

    @property
    def running(self) -> bool:
        """True while the process we started (same pid and start time) is alive."""
        if self.pid is None:
            return False
        if self._popen is not None and self._popen.poll() is not None:
            return False
        try:
            process = psutil.Process(self.pid)
            if process.status() == psutil.STATUS_ZOMBIE:
                return False
            return abs(process.create_time() - float(self.started or 0)) < 1.0
        except psutil.Error:
            return False

    @property
    def returncode(self) -> int | None:
        """The exit code, when this object started the process and it has exited."""
        return None if self._popen is None else self._popen.poll()

    def exit_reason(self) -> str | None:
        """Why the process is gone (None while it runs)."""
        # Liveness first, then the code: read the other way round, a process that exits
        # between the two reads shows as "is not running", without its exit code.
        if self.running:
            return None
        code = self.returncode
        if code is None and self._popen is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                code = self._popen.wait(1)  # gone, but not reaped yet
        return "is not running" if code is None else f"exited with code {code}"

    def send_signal(self, sig: int) -> None:
        """Send `sig` to the process group (nginx's workers too); a fault in tests."""
        if self.running:
            with contextlib.suppress(ProcessLookupError):
                if self.own_session:
                    os.killpg(self.pid or 0, sig)
                else:  # in its parent's group: that group is not ours to signal
                    os.kill(self.pid or 0, sig)

    def stop(self, timeout: float | None = None, sig: int = signal.SIGTERM) -> int | None:
        """Ask the group to stop (`sig`), wait up to `timeout`, then SIGKILL it.

        Returns the exit code when this object started the process, else None.
        """
        if self.running:
            self.send_signal(sig)
            self._wait_gone(self.stop_timeout if timeout is None else timeout)
            if self.running:
                self.send_signal(signal.SIGKILL)
                self._wait_gone(5.0)
        if self._popen is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._popen.wait(10)  # reap it: no zombie left in this process
        return self.returncode

    def _wait_gone(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.running and time.monotonic() < deadline:
            time.sleep(0.02)

    def kill(self) -> int | None:
        """SIGKILL at once (a crash, in tests)."""
        return self.stop(timeout=0, sig=signal.SIGKILL)

    def __enter__(self: P) -> P:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} pid={self.pid}>"
