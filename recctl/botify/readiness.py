"""Whether a replica may answer: Redis reachable and the artifacts loaded there.

`start()` loads the artifacts into Redis once for all replicas (a lock in Redis keeps
the others waiting) and starts a watchdog. Readiness is a flag that only the watchdog
clears, when its own probe connection cannot reach Redis (a request's Redis error makes
it probe at once, `redis_failed`), and sets again once Redis answers and the artifacts
are there (reloading them if Redis came back empty).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import redis

from recctl.artifacts import ArtifactKind, ArtifactSet
from recctl.botify.keys import Keys
from recctl.botify.loader import ArtifactLoader
from recctl.botify.redis_client import (
    REDIS_ERRORS,
    AddressPin,
    PoolExhausted,
    open_probe,
    redacted,
    repoint,
)
from recctl.botify.store import RedisStore

log = logging.getLogger("recctl.botify")
WATCH_INTERVAL = 0.5


class Unavailable(Exception):
    """Redis is unreachable or the artifacts are not loaded: answer 503."""


class Readiness:
    """The ready flag, the reason when not ready, and the watchdog that keeps them true.

    Args:
        redis_url: the Redis the replica uses (the probe opens its own connection).
        artifacts, keys, units: what to load (the artifacts the arms read) and where.
        store: the request path's store, whose top lists are read once loaded.
    """

    def __init__(self, redis_url: str, artifacts: ArtifactSet, keys: Keys,
                 units: dict[str, ArtifactKind], store: RedisStore) -> None:
        self.redis_url = redis_url
        self.artifacts = artifacts
        self.keys = keys
        self.units = units
        self.store = store
        self.ready = False
        self.reason = "starting"
        self.probe = open_probe(redis_url)
        self.address = AddressPin(redis_url, [store.client, self.probe])
        self._redis_error = False  # a request met a Redis error since the last check
        self._probe_now = asyncio.Event()
        self._watchdog: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.address.refresh(now=True)
        await self._become_ready()
        self._watchdog = asyncio.create_task(self._watch())

    async def stop(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
        await self.probe.aclose()

    def check(self) -> None:
        """Raise Unavailable (a 503) unless ready."""
        if not self.ready:
            raise Unavailable(self.reason)

    async def ping(self) -> bool:
        """/ready's live check: does Redis answer the probe connection?"""
        try:
            return bool(await self.probe.ping())
        except PoolExhausted:  # probes queued behind each other: Redis is slow, not gone
            return True
        except REDIS_ERRORS as exc:
            self.mark_unavailable(exc)
            return False

    def redis_failed(self, exc: BaseException) -> None:
        """A request's Redis command failed even on a fresh connection: probe now."""
        if self.ready and not self._probe_now.is_set():  # one line per probe, not per request
            log.warning("redis error on a request: %s; probing redis", exc)
        self._redis_error = True
        self._probe_now.set()

    def mark_unavailable(self, exc: BaseException) -> None:
        if self.ready:
            log.warning("redis unreachable: %s; answering 503 until it is back", exc)
        self.ready = False
        self.reason = f"redis unavailable: {exc}"

    def _load_artifacts(self) -> list[str]:
        client = redis.Redis.from_url(self.redis_url, socket_timeout=30.0,
                                      socket_connect_timeout=1.0)
        if self.address.address is not None:  # no DNS needed (AddressPin)
            repoint(client.connection_pool, self.address.address)
        try:
            return ArtifactLoader(client, self.artifacts, self.keys, self.units).ensure()
        finally:
            client.close()

    async def _become_ready(self) -> None:
        try:
            loaded = await asyncio.to_thread(self._load_artifacts)
            await self.store.warm([n for n, kind in self.units.items() if kind == "top"])
        except REDIS_ERRORS as exc:
            self.reason = f"redis unavailable at {redacted(self.redis_url)}: {exc}"
            log.warning("%s; retrying", self.reason)
            return
        if loaded:
            log.info("loaded artifacts %s into redis under %s", ", ".join(loaded), self.keys.base)
        self.ready, self.reason = True, ""

    async def _watch(self) -> None:
        done_keys = [self.keys.done(unit) for unit in ["tracks", *self.units]]
        while True:
            # Every WATCH_INTERVAL, or at once when a request met a Redis error.
            with contextlib.suppress(asyncio.TimeoutError):  # not TimeoutError on 3.10
                await asyncio.wait_for(self._probe_now.wait(), WATCH_INTERVAL)
            self._probe_now.clear()
            try:
                await self._check(done_keys)
            except PoolExhausted:  # Redis answers slowly: busy, not down
                pass
            except Exception:  # the watchdog must outlive any surprise
                log.exception("readiness check failed")

    async def _check(self, done_keys: list[str]) -> None:
        error, self._redis_error = self._redis_error, False
        await self.address.refresh(now=error or not self.ready)
        if not self.ready:
            await self._become_ready()
            return
        try:
            flags = await self.probe.mget(done_keys)
        except REDIS_ERRORS as exc:
            self.mark_unavailable(exc)
            return
        if any(flag is None for flag in flags):
            self.ready, self.reason = False, "artifacts missing from redis"
            log.warning("artifacts missing from redis (was it restarted?); reloading")
