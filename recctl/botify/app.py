"""The ASGI application: a small router over `Service`, no framework.

A raw ASGI callable keeps the per-request CPU small (Starlette's routing and request
objects cost more than the whole recommendation). Every client mistake answers 4xx with
`{"error": ...}`; Redis trouble answers 503; only a bug in recctl answers 500.

Load is shed, never collapsed under (contract 2): beyond `max_inflight` requests at once,
or when no Redis connection frees up in time, the answer is a fast 503 with Retry-After
and `{"error": "busy: ..."}`, and the replica stays ready. Every answer carries the
request's id in `x-request-id` (the client's X-Request-Id, or a fresh one; contract 1).
"""

from __future__ import annotations

import logging
import time

import orjson

from recctl.botify.readiness import Unavailable
from recctl.botify.redis_client import REDIS_ERRORS, PoolExhausted
from recctl.botify.service import Service
from recctl.botify.types import Receive, Scope, Send
from recctl.botify.validation import (
    MAX_BODY,
    ClientError,
    parse_id,
    parse_listen,
    scan_headers,
)

log = logging.getLogger("recctl.botify")
JSON = (b"content-type", b"application/json")
RETRY_AFTER = (b"retry-after", b"1")  # seconds: a busy replica frees up quickly
CLOSE = (b"connection", b"close")
ALIVE = orjson.dumps({"status": "alive", "message": "botify (recctl) is running"})
PROBES = ("/health", "/ready")  # answered even when busy: a busy replica is not a dead one
UPGRADE_REFUSED = orjson.dumps({"error": "this service speaks plain HTTP/1.1; protocol "
                                         "upgrades (WebSocket, h2c) are not supported"})


async def respond(send: Send, status: int, body: bytes,
                  headers: list[tuple[bytes, bytes]]) -> None:
    headers.append((b"content-length", b"%d" % len(body)))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def error_body(message: str) -> bytes:
    return orjson.dumps({"error": message})


async def read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientError(400, "client disconnected")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise ClientError(413, f"body is larger than {MAX_BODY} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


class BotifyApp:
    """Routes: GET / /health /ready /arms /track/{id}; POST /next/{user} /last/{user}."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.max_inflight = service.settings.limits.max_inflight
        self.inflight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self.http(scope, receive, send)
        elif kind == "lifespan":
            await self.lifespan(receive, send)

    async def lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.service.start()
                except Exception as exc:  # reported to the server, which exits
                    log.exception("start-up failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.service.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        request_id, upgrade = scan_headers(scope["headers"])
        headers = [JSON, (b"x-request-id", request_id.encode())]
        if upgrade:  # never half-handled: the connection is closed after the answer
            headers.append(CLOSE)
            await respond(send, 400, UPGRADE_REFUSED, headers)
            return
        if self.inflight >= self.max_inflight and scope["path"] not in PROBES:
            headers.append(RETRY_AFTER)
            await respond(send, 503, error_body(
                f"busy: {self.inflight} requests in flight; retry later"), headers)
            return
        self.inflight += 1
        try:
            status, body = await self.route(scope, receive, started, request_id)
        except ClientError as exc:
            status, body = exc.status, error_body(exc.message)
        except PoolExhausted as exc:
            headers.append(RETRY_AFTER)
            status, body = 503, error_body(f"busy: {exc}")
        except Unavailable as exc:
            status, body = 503, error_body(f"not ready: {exc}")
        except REDIS_ERRORS as exc:
            self.service.readiness.redis_failed(exc)
            status, body = 503, error_body(f"redis unavailable: {exc}")
        except Exception:  # a bug in recctl, not the client's fault
            log.exception("error handling %s %s (request %s)", scope["method"], scope["path"],
                          request_id)
            status, body = 500, error_body("internal error; see the replica's log")
        finally:
            self.inflight -= 1
        await respond(send, status, body, headers)

    async def route(self, scope: Scope, receive: Receive, started: float,
                    request_id: str) -> tuple[int, bytes]:
        method, path = scope["method"], scope["path"]
        parts = path.strip("/").split("/")
        head = parts[0]
        service = self.service
        if method == "POST" and len(parts) == 2 and head in ("next", "last"):
            user = parse_id(parts[1], "user")
            listen = parse_listen(await read_body(receive))
            if head == "next":
                return 200, await service.next_track(user, listen, started, request_id)
            return 200, await service.last(user, listen, started, request_id)
        if method in ("GET", "HEAD"):
            if len(parts) == 2 and head == "track":
                return 200, await service.track_info(parse_id(parts[1], "track"))
            if len(parts) == 1:
                if head in ("", "health"):
                    return 200, ALIVE
                if head == "ready":
                    readiness = service.readiness
                    if readiness.ready and await readiness.ping():
                        return 200, orjson.dumps({"ready": True, "replica": service.replica})
                    return 503, orjson.dumps({"ready": False, "error": readiness.reason})
                if head == "arms":
                    return 200, orjson.dumps(service.describe())
        if head in ("next", "last", "track", "", "health", "ready", "arms") and len(parts) <= 2:
            raise ClientError(405, f"method {method} is not allowed on {path}")
        raise ClientError(404, f"no such endpoint: {method} {path}")
