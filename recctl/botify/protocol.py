"""uvicorn's httptools protocol plus the limits it lacks, so slow clients cannot hold a replica.

uvicorn closes a connection idle between requests (timeout_keep_alive) but sets no
deadline on receiving a request: a connection that sends nothing, half its headers or
half its body is held until the client leaves (issue 11: 2,000 half-sent requests held
for 40 s), and nothing caps open connections (20,000 idle ones exhausted descriptors).
This subclass adds, per connection:

- a deadline for a request's headers (also for a new connection's first request): a
  client that sent part of its request gets 408, one that sent nothing is closed;
- a deadline for its body once the headers arrived (the app then sees a disconnect);
- a cap on header bytes (httptools has none): 431;
- a cap on open connections, so descriptors stay free for Redis and the event log: one
  over it is answered 503 with Retry-After once its request arrives (answering before
  reading risks a reset that loses the answer) and closed; a few dozen wait for their
  request at once, any more are closed at once. Probes (GET /health, /ready) are served
  all the same: a busy replica is not a dead one.

A timer is armed only when a read ends inside a request: a request that arrives whole
(the usual case) costs no timer at all.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from recctl.botify.settings import Limits

log = logging.getLogger("recctl.botify")
MAX_HEADER_BYTES = 64 * 1024
IDLE, HEADERS, BODY = 0, 1, 2  # where a connection is in reading its current request
WARN_EVERY = 10.0  # seconds between two warnings about refused connections
REFUSED_WAIT = 1.0  # seconds a refused connection may take to send its request
REFUSED_WAITING = 64  # refused connections waiting for their request at once, at most
PROBES = (b"GET /health ", b"GET /ready ", b"HEAD /health ", b"HEAD /ready ")


def raw_response(status: bytes, defaults: list[tuple[bytes, bytes]], body: bytes,
                 *extra: bytes) -> bytes:
    """A whole JSON response that closes the connection, for answers the app never sees."""
    lines = [b"HTTP/1.1 " + status]
    lines += [name + b": " + value for name, value in defaults]
    lines += [b"content-type: application/json", b"content-length: %d" % len(body),
              b"connection: close", *extra]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    limits: ClassVar[Limits]
    _last_warning: ClassVar[float] = 0.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._phase = HEADERS  # a new connection owes us its first request
        self._started = False  # bytes of the current request have arrived
        self._deadline: asyncio.TimerHandle | None = None
        self._deadline_phase = IDLE
        self._header_bytes = 0
        self._refused = False

    @classmethod
    def with_limits(cls, limits: Limits) -> type[GuardedHttpToolsProtocol]:
        """The protocol class to give uvicorn.Config(http=...)."""
        return type(cls.__name__, (cls,), {"limits": limits})

    # Connection events.
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        excess = len(self.connections) - self.limits.max_connections
        if excess > 0:
            self._warn_refusing()
            if excess > REFUSED_WAITING:  # each waiting one holds a descriptor
                transport.close()
                return
            self._refused = True
            self._deadline = self.loop.call_later(REFUSED_WAIT, transport.close)
            return
        self._arm(HEADERS)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            if not data.startswith(PROBES):
                self._answer_and_close(
                    b"503 Service Unavailable",
                    f"busy: more than {self.limits.max_connections} open connections; "
                    "retry later", b"retry-after: 1")
                return
            self._refused = False
            self._disarm()
            self._arm(HEADERS)
        super().data_received(data)
        if self.transport.is_closing():  # uvicorn answered a malformed request 400
            return
        if self._phase == HEADERS:  # the read ended inside a request's headers
            self._header_bytes += len(data)
            if self._header_bytes > MAX_HEADER_BYTES:
                self._answer_and_close(b"431 Request Header Fields Too Large",
                                       f"request headers exceed {MAX_HEADER_BYTES} bytes")
                return
        if self._phase != self._deadline_phase:  # the read ended inside a request, or not
            self._disarm()
            if self._phase != IDLE:
                self._arm(self._phase)

    # Parser callbacks: track where the current request is.
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._phase, self._started = HEADERS, True

    def on_headers_complete(self) -> None:
        self._phase, self._header_bytes = BODY, 0
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._phase, self._started = IDLE, False
        super().on_message_complete()

    def _unsupported_upgrade_warning(self) -> None:
        pass  # the app answers upgrade requests 400 itself; no warning per attempt

    # Deadlines.
    def _arm(self, phase: int) -> None:
        timeout = self.limits.header_timeout if phase == HEADERS else self.limits.body_timeout
        self._deadline = self.loop.call_later(timeout, self._expired, phase)
        self._deadline_phase = phase

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self._deadline_phase = IDLE

    def _expired(self, phase: int) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        answering = self.cycle is not None and not self.cycle.response_complete
        if phase == HEADERS and self._started and not answering:
            self._answer_and_close(
                b"408 Request Timeout",
                f"request headers not received within {self.limits.header_timeout:g} s")
        else:  # nothing sent yet, or a body cut short: the app sees a disconnect
            self.transport.close()

    # Answers the app never sees.
    def _answer_and_close(self, status: bytes, message: str, *extra: bytes) -> None:
        body = b'{"error": "%s"}' % message.encode()
        self.transport.write(raw_response(status, self.server_state.default_headers, body,
                                          *extra))
        self._phase = IDLE
        self._disarm()
        self.transport.close()

    def _warn_refusing(self) -> None:
        now = time.monotonic()
        if now - GuardedHttpToolsProtocol._last_warning > WARN_EVERY:
            GuardedHttpToolsProtocol._last_warning = now
            log.warning("more than %d open connections: refusing new ones (503)",
                        self.limits.max_connections)
