"""The HTTP client side of the simulator: round robin over replicas with failover.

Each request goes to the next replica in round-robin order, with an `X-Request-Id` that
every retry of it reuses (so the reader can drop a line logged twice). If it cannot be
delivered (connection refused or reset, timeout, or a 5xx answer) the same request is
retried on the next replica after a backoff, and the failed replica is skipped for a
cooldown (unless every replica is cooling down). A request fails with `RequestFailed`
after `max_attempts` attempts, unless it is still inside its `retry_window` and some
request succeeded recently (a short outage, e.g. a Redis or nginx restart, is
waited out; a service that stays down fails fast). A 4xx answer is not retried: it is the
simulator's fault.

A 503 with `Retry-After` means "busy, come back later" (the replica sheds load and stays
ready): the request waits at least that long (capped, with jitter) and is retried with the
same id, without marking the replica down or using up an attempt, until `busy_deadline`.

`acked` counts requests answered with 2xx, `acked_by_replica` the same per replica (from
the `x-botify-replica` answer header): what the replicas' logs should contain.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from typing import Any

import aiohttp
import orjson

_JSON = {"Content-Type": "application/json"}
REPLICA_HEADER = "x-botify-replica"
MAX_BUSY_WAIT = 5.0  # seconds: the longest single wait a Retry-After can ask for


class RequestFailed(Exception):
    """A request that no replica answered, or that a replica rejected (4xx)."""


def _retry_after(response: aiohttp.ClientResponse) -> float | None:
    """The seconds of a 503's Retry-After (an integer >= 1), or None when it is not busy."""
    value = response.headers.get("Retry-After")
    if response.status != 503 or value is None:
        return None
    try:
        return max(1.0, float(int(value.strip())))
    except ValueError:
        return 1.0  # an HTTP date or junk: still "busy", wait the minimum


class ReplicaClient:
    """Posts `/next` and `/last` requests to a set of base URLs over keep-alive connections."""

    def __init__(self, session: aiohttp.ClientSession, targets: list[str], *,
                 max_attempts: int | None = None, backoff: float = 0.05,
                 cooldown: float = 1.0, retry_window: float = 20.0,
                 busy_deadline: float = 120.0) -> None:
        if not targets:
            raise ValueError("at least one target URL is needed")
        self._session = session
        self.targets = [t.rstrip("/") for t in targets]
        self.max_attempts = max_attempts or max(3, 2 * len(self.targets))
        self._backoff, self._cooldown = backoff, cooldown
        self.retry_window, self.busy_deadline = retry_window, busy_deadline
        self._down_until = [0.0] * len(self.targets)
        self._cursor = 0
        self._last_answer = time.monotonic()  # when a request last succeeded
        self._jitter = random.Random()  # timing only: never feeds the simulated users
        self.acked = 0
        self.acked_by_replica: Counter[str] = Counter()
        self.retried = 0
        self.busy = 0  # 503 + Retry-After answers waited out

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

    def _keep_trying(self, failures: int, started: float) -> bool:
        if failures < self.max_attempts:
            return True
        now = time.monotonic()
        return now - started < self.retry_window and now - self._last_answer < self.retry_window

    async def post(self, path: str, body: dict[str, Any],
                   request_id: str | None = None) -> dict[str, Any]:
        """POST `body` as JSON to `path` on some replica; the parsed 2xx JSON answer.

        `request_id` goes out as `X-Request-Id` on every attempt of this request.
        """
        headers = {**_JSON, "X-Request-Id": request_id} if request_id else _JSON
        data = orjson.dumps(body)  # bytes in, bytes out: aiohttp's json= costs more
        last_error = "no attempt made"
        started = time.monotonic()
        failures = 0
        while failures == 0 or self._keep_trying(failures, started):
            if failures:
                self.retried += 1
                await asyncio.sleep(min(self._backoff * 2 ** (failures - 1), 1.0))
            index = self._pick()
            url = self.targets[index] + path
            try:
                async with self._session.post(url, data=data, headers=headers) as response:
                    wait = _retry_after(response)
                    if wait is not None:
                        await self._wait_busy(url, wait, started)
                        continue
                    if response.status >= 500:
                        last_error = f"{url}: HTTP {response.status}"
                        self._down_until[index] = time.monotonic() + self._cooldown
                        failures += 1
                        continue
                    if response.status >= 400:
                        text = (await response.text())[:200]
                        raise RequestFailed(f"{url}: HTTP {response.status} {text}")
                    try:
                        payload = orjson.loads(await response.read())
                    except orjson.JSONDecodeError:
                        raise RequestFailed(f"{url}: the answer is not JSON") from None
                    self.acked += 1
                    self._last_answer = time.monotonic()
                    self.acked_by_replica[response.headers.get(REPLICA_HEADER)
                                          or self.targets[index]] += 1
                    return payload if isinstance(payload, dict) else {"value": payload}
            except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError,
                    asyncio.TimeoutError) as exc:
                last_error = f"{url}: {type(exc).__name__}: {exc}"
                self._down_until[index] = time.monotonic() + self._cooldown
                failures += 1
        raise RequestFailed(f"{path} failed on every replica after {failures} attempts in "
                            f"{time.monotonic() - started:.1f} s; last error: {last_error}")

    async def _wait_busy(self, url: str, seconds: float, started: float) -> None:
        if time.monotonic() - started > self.busy_deadline:
            raise RequestFailed(f"{url}: still busy (503 Retry-After) after "
                                f"{self.busy_deadline:.0f} s")
        self.busy += 1
        await asyncio.sleep(min(seconds, MAX_BUSY_WAIT) * (1 + 0.2 * self._jitter.random()))
