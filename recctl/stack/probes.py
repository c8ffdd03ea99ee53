"""Readiness probes and the one polling helper they share."""

from __future__ import annotations

import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable

from recctl.errors import RecctlError


def poll(
    check: Callable[[], bool],
    *,
    timeout: float,
    interval: float = 0.05,
    what: str,
    on_timeout_hint: Callable[[], str] | None = None,
    abort: Callable[[], str | None] | None = None,
) -> None:
    """Call `check` until it returns True; transient OSErrors count as "not yet".

    `abort` is asked between tries and returns a reason to stop early (a child died).
    On timeout raises RecctlError naming `what`; the hint may carry recent logs.
    """
    deadline = time.monotonic() + timeout
    last_error: str | None = None
    while True:
        if abort is not None:
            reason = abort()
            if reason:
                raise RecctlError(f"{what} failed: {reason}",
                                  on_timeout_hint() if on_timeout_hint else None)
        try:
            if check():
                return
        except OSError as exc:
            last_error = f"{type(exc).__name__}: {exc}"
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_error})" if last_error else ""
            raise RecctlError(
                f"{what} was not ready after {timeout:.0f} s{detail}",
                on_timeout_hint() if on_timeout_hint else None,
            )
        time.sleep(interval)


def port_open(host: str, port: int) -> bool:
    with socket.create_connection((host, port), timeout=0.5):
        return True


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1.0) as response:  # noqa: S310 (loopback)
            return 200 <= response.status < 300
    except urllib.error.HTTPError:
        return False
    except urllib.error.URLError as exc:
        raise OSError(str(exc.reason)) from None


def free_port(host: str = "127.0.0.1") -> int:
    """A port the OS says is free now (the caller binds it soon after)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
