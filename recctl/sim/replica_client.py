"""The HTTP client side of the simulator: round robin over replicas with failover.

Each request goes to the next replica in round-robin order. If it cannot be delivered
(connection refused or reset, timeout, or a 5xx answer) the same request is retried on
the next replica after a short backoff, and the failed replica is skipped for a cooldown
(unless every replica is cooling down). After `max_attempts` the request fails with
`RequestFailed`. A 4xx answer is not retried: it is the simulator's fault.

`acked` counts requests answered with 2xx: what the replicas' logs should contain.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import orjson

_JSON = {"Content-Type": "application/json"}


class RequestFailed(Exception):
    """A request that no replica answered, or that a replica rejected (4xx)."""


class ReplicaClient:
    """Posts `/next` and `/last` requests to a set of base URLs over keep-alive connections."""

    def __init__(self, session: aiohttp.ClientSession, targets: list[str], *,
                 max_attempts: int | None = None, backoff: float = 0.05,
                 cooldown: float = 1.0) -> None:
        if not targets:
            raise ValueError("at least one target URL is needed")
        self._session = session
        self.targets = [t.rstrip("/") for t in targets]
        self.max_attempts = max_attempts or max(3, 2 * len(self.targets))
        self._backoff, self._cooldown = backoff, cooldown
        self._down_until = [0.0] * len(self.targets)
        self._cursor = 0
        self.acked = 0
        self.retried = 0

    def _pick(self) -> int:
        """The next replica in round-robin order that is not cooling down (if any)."""
        now = time.monotonic()
        n = len(self.targets)
        for _ in range(n):
            index = self._cursor % n
            self._cursor += 1
            if self._down_until[index] <= now:
                return index
        index = self._cursor % n
        self._cursor += 1
        return index

    async def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST `body` as JSON to `path` on some replica; the parsed 2xx JSON answer."""
        last_error = "no attempt made"
        for attempt in range(self.max_attempts):
            if attempt:
                self.retried += 1
                await asyncio.sleep(min(self._backoff * 2 ** (attempt - 1), 1.0))
            index = self._pick()
            url = self.targets[index] + path
            try:
                # Bytes in, bytes out with orjson: aiohttp's json= and .json() cost more.
                async with self._session.post(url, data=orjson.dumps(body),
                                              headers=_JSON) as response:
                    if response.status >= 500:
                        last_error = f"{url}: HTTP {response.status}"
                        self._down_until[index] = time.monotonic() + self._cooldown
                        continue
                    if response.status >= 400:
                        text = (await response.text())[:200]
                        raise RequestFailed(f"{url}: HTTP {response.status} {text}")
                    try:
                        payload = orjson.loads(await response.read())
                    except orjson.JSONDecodeError:
                        raise RequestFailed(f"{url}: the answer is not JSON") from None
                    self.acked += 1
                    return payload if isinstance(payload, dict) else {"value": payload}
            except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError,
                    asyncio.TimeoutError) as exc:
                last_error = f"{url}: {type(exc).__name__}: {exc}"
                self._down_until[index] = time.monotonic() + self._cooldown
        raise RequestFailed(f"{path} failed on every replica after {self.max_attempts} "
                            f"attempts; last error: {last_error}")
