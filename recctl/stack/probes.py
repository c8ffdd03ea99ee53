"""Readiness probes (TCP, HTTP, a command, any check) and the one polling helper they share."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

import psutil

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


@dataclass(frozen=True)
class Probe:
    """How to tell that a component is ready: `check()` returns True (an OSError or False
    means "not yet"); `what` names it in messages."""

    what: str
    check: Callable[[], bool]

    def __and__(self, other: Probe) -> Probe:
        """Both probes, in order (a port that listens, then an HTTP answer)."""
        return Probe(f"{self.what} and {other.what}", lambda: self.check() and other.check())


def tcp_probe(host: str, port: int) -> Probe:
    """Ready when a TCP connection to host:port succeeds."""
    target = connect_host(host)
    return Probe(f"TCP {target}:{port}", lambda: port_open(target, port))


def http_probe(url: str, header: tuple[str, str] | None = None) -> Probe:
    """Ready when GET `url` answers 2xx (with `header` = (name, value), when given: that
    the answer comes from the process we started, not another one on the port)."""
    return Probe(f"GET {url}", lambda: http_ok(url, header))


def command_probe(argv: list[str], timeout: float = 5.0) -> Probe:
    """Ready when the command exits 0 (e.g. `redis-cli ping` style checks)."""
    def check() -> bool:
        try:
            done = subprocess.run(argv, capture_output=True, timeout=timeout,  # noqa: S603
                                  check=False)
        except subprocess.TimeoutExpired:
            return False
        return done.returncode == 0

    return Probe(" ".join(argv[:3]), check)


def port_open(host: str, port: int) -> bool:
    with socket.create_connection((host, port), timeout=0.5):
        return True


def http_ok(url: str, header: tuple[str, str] | None = None) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1.0) as response:  # noqa: S310 (loopback)
            if header is not None and response.headers.get(header[0]) != header[1]:
                return False
            return 200 <= response.status < 300
    except urllib.error.HTTPError:
        return False
    except urllib.error.URLError as exc:
        raise OSError(str(exc.reason)) from None


def check_port_free(host: str, port: int, key: str = "stack.port") -> None:
    """Refuse, with the fix, a port this machine will not let us listen on."""
    with socket.socket(_family(host), socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is fine
        try:
            sock.bind((host, port))
        except OSError as exc:
            reason = exc.strerror or str(exc)
            holder = _listener(port)
            raise RecctlError(
                f"{key}: cannot listen on {host}:{port} ({reason}{holder})",
                f"stop the program that holds port {port} (`ss -ltnp 'sport = :{port}'` names "
                f"it), or set {key} to another port, or remove {key} to let recctl pick a "
                "free one") from None


def _listener(port: int) -> str:
    """", held by pid N (name)" when this user may see who listens on `port`, else ""."""
    try:
        for conn in psutil.net_connections("tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr.port == port and conn.pid:
                return f", held by pid {conn.pid} ({psutil.Process(conn.pid).name()})"
    except Exception:  # noqa: BLE001 (naming the holder is a courtesy, never an error)
        pass
    return ""


def connect_host(host: str) -> str:
    """Where a client on this machine reaches a server bound to `host`: loopback for a
    wildcard address, so probes never leave the machine."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "::1"
    return host


def http_url(host: str, port: int) -> str:
    host = connect_host(host)
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def free_port(host: str = "127.0.0.1") -> int:
    """A port the OS says is free now (the caller binds it soon after)."""
    with socket.socket(_family(host), socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
