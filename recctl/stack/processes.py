"""Processes started by a runtime: spawned in their own session, found again by pid.

A pid alone can be reused by the OS after a crash, so the state file keeps the pid with
its start time; a process counts as ours only when both match.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import psutil


def spawn(argv: list[str], *, log_file: Path, cwd: Path | None = None,
          env: dict[str, str] | None = None) -> dict[str, Any]:
    """Start `argv` detached from this terminal (it outlives the CLI); returns its record."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "ab") as log:
        process = subprocess.Popen(  # noqa: S603 (argv built by recctl)
            argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            cwd=cwd, env=env, start_new_session=True,
        )
    try:
        started = psutil.Process(process.pid).create_time()
    except psutil.NoSuchProcess:
        started = 0.0
    # Keep a handle so a child that dies at once can be reaped (no zombie) in this process.
    _children[process.pid] = process
    return {"pid": process.pid, "started": started, "log": str(log_file)}


_children: dict[int, subprocess.Popen[bytes]] = {}


def is_running(record: dict[str, Any] | None) -> bool:
    """True when the recorded process is alive and is the one we started."""
    if not record or not record.get("pid"):
        return False
    pid = int(record["pid"])
    child = _children.get(pid)
    if child is not None and child.poll() is not None:
        return False
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        return abs(process.create_time() - float(record.get("started", 0))) < 1.0
    except psutil.Error:
        return False


def exit_reason(record: dict[str, Any]) -> str | None:
    """Why a process we spawned in this CLI is gone (None while it runs)."""
    child = _children.get(int(record["pid"]))
    if child is not None and child.poll() is not None:
        return f"exited with code {child.returncode}"
    if not is_running(record):
        return "is not running"
    return None


def stop(record: dict[str, Any] | None, *, timeout: float = 10.0) -> bool:
    """SIGTERM the process's group, wait, then SIGKILL what is left. True if it was running."""
    if not is_running(record):
        return False
    assert record is not None
    pid = int(record["pid"])
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        child = _children.get(pid)
        if child is not None:
            if child.poll() is not None:
                return True
        elif not is_running(record):
            return True
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    child = _children.get(pid)
    if child is not None:
        child.wait(5)
    return True


def log_tail(path: str | Path, lines: int = 15) -> str:
    try:
        text = Path(path).read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return "(no log)"
    return "\n    ".join(text) if text else "(empty log)"
