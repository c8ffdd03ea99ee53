"""The ASGI application: a small router over `Service`, no framework.

A raw ASGI callable keeps the per-request CPU small (Starlette's routing and request
objects cost more than the whole recommendation). Every client mistake answers 4xx with
`{"error": ...}`; Redis trouble answers 503; only a bug in recctl answers 500.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

import orjson

from recctl.botify.service import REDIS_ERRORS, Service, Unavailable
from recctl.botify.types import Receive, Scope, Send
from recctl.botify.validation import MAX_BODY, ClientError, parse_id, parse_listen

log = logging.getLogger("recctl.botify")
JSON_HEADERS = [(b"content-type", b"application/json")]
REQUEST_ID = re.compile(rb"[\x21-\x7e]{1,128}")  # 1-128 visible ASCII characters
ALIVE = orjson.dumps({"status": "alive", "message": "botify (recctl) is running"})


async def respond(send: Send, status: int, body: bytes,
                  extra: list[tuple[bytes, bytes]] | None = None) -> None:
    headers = [*JSON_HEADERS, (b"content-length", str(len(body)).encode()), *(extra or ())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def request_id(scope: Scope) -> str:
    """The client's X-Request-Id when valid, else a fresh random one (uuid4 hex)."""
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            if REQUEST_ID.fullmatch(value):
                return value.decode("ascii")
            break
    return uuid.uuid4().hex


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
        self.replica_header = (b"x-botify-replica", service.replica.encode())

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
        rid = request_id(scope) if scope["method"] == "POST" else None
        try:
            status, body = await self.route(scope, receive, started, rid)
        except ClientError as exc:
            status, body = exc.status, error_body(exc.message)
        except Unavailable as exc:
            status, body = 503, error_body(f"not ready: {exc}")
        except REDIS_ERRORS as exc:
            self.service.mark_unavailable(exc)
            status, body = 503, error_body(f"redis unavailable: {exc}")
        except Exception:  # a bug in recctl, not the client's fault
            log.exception("error handling %s %s", scope["method"], scope["path"])
            status, body = 500, error_body("internal error; see the replica's log")
        extra = [self.replica_header]
        if rid is not None:
            extra.append((b"x-request-id", rid.encode()))
        await respond(send, status, body, extra)

    async def route(self, scope: Scope, receive: Receive, started: float,
                    rid: str | None = None) -> tuple[int, bytes]:
        method, path = scope["method"], scope["path"]
        parts = path.strip("/").split("/")
        head = parts[0]
        service = self.service
        if method == "POST" and len(parts) == 2 and head in ("next", "last"):
            user = parse_id(parts[1], "user")
            listen = parse_listen(await read_body(receive))
            if head == "next":
                return 200, await service.next_track(user, listen, started, rid)
            return 200, await service.last(user, listen, started, rid)
        if method in ("GET", "HEAD"):
            if len(parts) == 2 and head == "track":
                return 200, await service.track_info(parse_id(parts[1], "track"))
            if len(parts) == 1:
                if head in ("", "health"):
                    return 200, ALIVE
                if head == "ready":
                    if service.ready and await service.ping():
                        return 200, orjson.dumps({"ready": True, "replica": service.replica})
                    return 503, orjson.dumps({"ready": False, "error": service.not_ready_reason})
                if head == "arms":
                    return 200, orjson.dumps(service.describe())
        if head in ("next", "last", "track", "", "health", "ready", "arms") and len(parts) <= 2:
            raise ClientError(405, f"method {method} is not allowed on {path}")
        raise ClientError(404, f"no such endpoint: {method} {path}")
