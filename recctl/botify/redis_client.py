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
import ipaddress
import logging
import socket
import time
from collections.abc import Sequence
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
RESOLVE_EVERY = 5.0  # seconds between look-ups of the Redis host's name (see AddressPin)
RESOLVE_WAIT = 1.0

log = logging.getLogger("recctl.botify")


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


class AddressPin:
    """Points the clients' new connections at the address Redis's host name last resolved to.

    redis-py resolves the host for every new connection, so a DNS hiccup cuts a replica
    off a Redis that is fine: on the Docker runtime under Podman, aardvark-dns stopped
    answering for ~40 s after a sibling replica's container was killed (2 runs in ~25
    here), and every new connection timed out. So the name is looked up at start and
    every RESOLVE_EVERY seconds, or at once after a Redis error (`refresh(now=True)`): a
    new address (Redis restarted elsewhere) is taken, a failed look-up keeps the last
    one. A literal address, a socket path or TLS (whose certificate names the host) is
    left alone.
    """

    def __init__(self, url: str, clients: Sequence[aioredis.Redis]) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname if parts.scheme == "redis" else None
        self.port = parts.port or 6379
        if self.host is not None and _is_address(self.host):
            self.host = None
        self.clients = list(clients)
        self.address: str | None = None
        self._looked_up = -float("inf")
        self._lookup: asyncio.Task[Any] | None = None

    async def refresh(self, now: bool = False) -> None:
        if self.host is None:
            return
        clock = time.monotonic()
        if not now and clock - self._looked_up < RESOLVE_EVERY:
            return
        self._looked_up = clock
        if self._lookup is None or self._lookup.done():
            # One look-up at a time: a stuck resolver (tens of seconds) is waited for by
            # the next refresh instead of piling up threads in the default executor.
            self._lookup = asyncio.ensure_future(asyncio.get_running_loop().getaddrinfo(
                self.host, self.port, type=socket.SOCK_STREAM))
            self._lookup.add_done_callback(_retrieve)
        try:
            found = await asyncio.wait_for(asyncio.shield(self._lookup), RESOLVE_WAIT)
        except (OSError, asyncio.TimeoutError):
            return  # keep the last address
        address = str(found[0][4][0])
        if address != self.address:
            if self.address is not None:
                log.warning("redis host %s now resolves to %s (was %s)", self.host, address,
                            self.address)
            self.address = address
            for client in self.clients:
                repoint(client.connection_pool, address)


def repoint(pool: Any, address: str) -> None:
    """New connections of `pool`, and its existing ones when they reconnect, go to
    `address`. redis-py gives each connection its host when it creates it, so the pool's
    `connection_kwargs` alone would leave pooled connections reconnecting to the old
    address forever (a Redis container restarted at a new one, as Podman does)."""
    pool.connection_kwargs["host"] = address
    for connection in [*getattr(pool, "_available_connections", ()),
                       *getattr(pool, "_in_use_connections", ())]:
        connection.host = address


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _retrieve(task: asyncio.Future[Any]) -> None:
    """Read a finished look-up's error, so that asyncio does not report it as lost."""
    if not task.cancelled():
        task.exception()
