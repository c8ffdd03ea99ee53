"""The replica's Redis clients: a gated pool for requests, one connection for probes.

Three situations must not be confused (issue 11: the first was once taken for the third,
and a busy replica declared itself down):

- every pooled connection is busy: the request waits for one (bounded by `pool_wait`),
  then the replica answers "busy" (PoolExhausted) and stays ready;
- a pooled connection is broken (a Redis restart leaves stale sockets): the command is
  retried once on a fresh connection (every command we send is idempotent);
- Redis is unreachable: the error reaches the caller (REDIS_ERRORS), and only a failed
  probe on the separate probe connection makes the replica not ready.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit

import redis
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

REDIS_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)
SOCKET_TIMEOUT = 2.0
CONNECT_TIMEOUT = 1.0
PROBE_WAIT = 2.0  # concurrent probes share one connection


class PoolExhausted(Exception):
    """No pooled Redis connection became free in time: overloaded, not down."""


class Gate:
    """At most `size` commands at once; more wait up to `timeout` s, then PoolExhausted.

    A semaphore in front of a plain pool of the same size, rather than redis-py's
    BlockingConnectionPool: that one takes a lock and arms a timer for every command
    (about 40% more CPU per command, measured with redis-py 8.1); this costs next to
    nothing until every connection is busy.
    """

    def __init__(self, size: int, timeout: float) -> None:
        self.size = size
        self.timeout = timeout
        self._free = asyncio.Semaphore(size)

    async def __aenter__(self) -> None:
        if not self._free.locked():
            await self._free.acquire()  # returns at once
            return
        try:
            await asyncio.wait_for(self._free.acquire(), self.timeout)
        except asyncio.TimeoutError:
            raise PoolExhausted(f"all {self.size} Redis connections stayed busy "
                                f"for {self.timeout:g} s") from None

    async def __aexit__(self, *exc_info: object) -> None:
        self._free.release()


class GatedRedis(aioredis.Redis):
    """A client whose commands (scripts included) pass the gate first."""

    gate: Gate

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        async with self.gate:
            return await super().execute_command(*args, **options)


def open_client(url: str, connections: int, wait: float) -> aioredis.Redis:
    """A gated client; a broken connection is retried once on a fresh one.

    Only connection errors are retried: a timeout means Redis is slow or stuck, and
    waiting twice as long would not help.
    """
    pool = aioredis.ConnectionPool.from_url(
        url, max_connections=connections, socket_timeout=SOCKET_TIMEOUT,
        socket_connect_timeout=CONNECT_TIMEOUT,
        retry=Retry(NoBackoff(), 1, supported_errors=(redis.exceptions.ConnectionError,)))
    client = cast(GatedRedis, GatedRedis.from_pool(pool))
    client.gate = Gate(connections, wait)
    return client


def open_probe(url: str) -> aioredis.Redis:
    """One connection for readiness checks, so that they never queue behind requests."""
    return open_client(url, connections=1, wait=PROBE_WAIT)


def redacted(url: str) -> str:
    """The URL without its password (it appears in /ready's answer and in the log)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))
