"""A tiny keep-alive JSON client over http.client (what the tests speak HTTP with)."""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlparse


class Client:
    def __init__(self, url: str) -> None:
        parsed = urlparse(url)
        self.conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=10)

    def request(self, method: str, path: str, body: Any = None, raw: bytes | None = None
                ) -> tuple[int, Any]:
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        headers = {"content-type": "application/json"} if data is not None else {}
        self.conn.request(method, path, body=data, headers=headers)
        response = self.conn.getresponse()
        payload = response.read()
        try:
            parsed = json.loads(payload) if payload else None
        except ValueError:
            parsed = payload
        return response.status, parsed

    def next(self, user: int, track: int, time: float, **extra: Any) -> tuple[int, Any]:
        return self.request("POST", f"/next/{user}", {"track": track, "time": time, **extra})

    def close(self) -> None:
        self.conn.close()
