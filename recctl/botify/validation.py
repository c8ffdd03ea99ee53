"""Client input checks: every client mistake becomes a 4xx with a JSON error, never a 5xx.

Ids are non-negative integers that fit in 63 bits (Redis and numpy int64 hold them);
JSON booleans and floats are not ids; `time` is a finite number in [0, 1].
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

import orjson

MAX_ID = 2**63 - 1
MAX_BODY = 16 * 1024
MAX_SESSION = 256
REQUEST_ID = re.compile(rb"[!-~]{1,128}")  # 1-128 visible ASCII characters (contract 1)


class ClientError(Exception):
    """A request the client got wrong: `status` (400, 404, 413, ...) and a message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(slots=True)
class Listen:
    """The body of /next and /last."""

    track: int
    time: float
    session: str | None


def parse_id(text: str, what: str) -> int:
    """A path segment as an id: ASCII digits only, at most 19 of them, within MAX_ID."""
    if not text or len(text) > 19 or not (text.isascii() and text.isdigit()):
        raise ClientError(400, f"{what} must be a non-negative integer, got {text[:40]!r}")
    value = int(text)
    if value > MAX_ID:
        raise ClientError(400, f"{what} must be at most {MAX_ID}")
    return value


def _body_id(value: object, what: str) -> int:
    if type(value) is not int:  # excludes bool (a subclass of int) and float
        raise ClientError(400, f"{what!r} must be an integer, got {type(value).__name__}")
    if value < 0 or value > MAX_ID:
        raise ClientError(400, f"{what!r} must be between 0 and {MAX_ID}")
    return value


def parse_listen(body: bytes) -> Listen:
    """`{"track": int, "time": float in [0, 1], "session": str?}`; extra keys are ignored."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ClientError(400, f"body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ClientError(400, 'body must be a JSON object like {"track": 1, "time": 0.5}')
    if "track" not in data:
        raise ClientError(400, "missing field 'track'")
    if "time" not in data:
        raise ClientError(400, "missing field 'time'")
    track = _body_id(data["track"], "track")
    time = data["time"]
    if type(time) is not float and type(time) is not int:
        raise ClientError(400, f"'time' must be a number, got {type(time).__name__}")
    time = float(time)
    if not (0.0 <= time <= 1.0) or math.isnan(time):
        raise ClientError(400, f"'time' must be in [0, 1], got {time}")
    session = data.get("session")
    if session is not None and (type(session) is not str or len(session) > MAX_SESSION):
        raise ClientError(400, f"'session' must be a string of at most {MAX_SESSION} characters")
    return Listen(track=track, time=time, session=session)


def scan_headers(headers: Iterable[tuple[bytes, bytes]]) -> tuple[str, bool]:
    """(the request's id, whether it asks for a protocol upgrade), in one pass.

    The id is the client's `X-Request-Id` when it is 1-128 visible ASCII characters, else
    a fresh uuid4 hex (a client's retry must send the same id to be recognised).
    """
    request_id = None
    upgrade = False
    for name, value in headers:  # names arrive lower-cased
        if name == b"x-request-id":
            if REQUEST_ID.fullmatch(value):
                request_id = value.decode("ascii")
        elif name == b"upgrade":
            upgrade = True
    return request_id or uuid.uuid4().hex, upgrade
