"""The replica's Redis clients: a waiting pool for requests, one connection for probes.

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
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import redis
import redis.asyncio as aioredis
from redis.asyncio.connection import BlockingConnectionPool
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

REDIS_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)
SOCKET_TIMEOUT = 2.0
CONNECT_TIMEOUT = 1.0
PROBE_WAIT = 2.0  # concurrent probes share one connection


class PoolExhausted(Exception):
    """No pooled Redis connection became free in time: overloaded, not down."""


class WaitingPool(BlockingConnectionPool):
    """redis-py's blocking pool, whose give-up after `timeout` is told apart from an outage.

    redis-py raises ConnectionError("No connection available.") from a TimeoutError when
    the wait runs out; a refused or reset connection raises ConnectionError too.
    """

    async def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().get_connection()
        except redis.exceptions.ConnectionError as exc:
            timed_out = isinstance(exc.__cause__, (TimeoutError, asyncio.TimeoutError))  # 3.10
            if timed_out and "No connection available" in str(exc):
                raise PoolExhausted(f"all {self.max_connections} Redis connections stayed busy "
                                    f"for {self.timeout:g} s") from None
            raise


def open_client(url: str, connections: int, wait: float) -> aioredis.Redis:
    """A client over a WaitingPool; a broken connection is retried once on a fresh one.

    Only connection errors are retried: a timeout means Redis is slow or stuck, and
    waiting twice as long would not help.
    """
    pool = WaitingPool.from_url(
        url, max_connections=connections, timeout=wait, socket_timeout=SOCKET_TIMEOUT,
        socket_connect_timeout=CONNECT_TIMEOUT,
        retry=Retry(NoBackoff(), 1, supported_errors=(redis.exceptions.ConnectionError,)))
    return aioredis.Redis.from_pool(pool)


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
