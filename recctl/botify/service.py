"""The replica's state and request logic: experiment, arms, Redis, readiness, event log.

`Service.open()` validates the experiment against the artifacts (user mistakes raise
RecctlError before anything listens). `start()` connects Redis, loads the artifacts
once for all replicas and starts a watchdog; `stop()` drains the event log. Readiness
is a flag that only the watchdog clears, when its own probe connection cannot reach
Redis (a request's Redis error makes it probe at once), and sets again once Redis
answers and the artifacts are there (reloading them if Redis came back empty).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from typing import Any

import redis

from recctl.artifacts import ArtifactSet
from recctl.assignment import arm_index
from recctl.botify.keys import Keys
from recctl.botify.loader import ArtifactLoader
from recctl.botify.redis_client import (
    REDIS_ERRORS,
    PoolExhausted,
    open_client,
    open_probe,
    redacted,
)
from recctl.botify.settings import ServiceSettings
from recctl.botify.store import RedisStore
from recctl.botify.validation import ClientError, Listen
from recctl.eventlog import RotatingLogWriter, dumps_event, make_event
from recctl.recommenders import Chain, build_chain, needed_artifacts
from recctl.recommenders.draws import request_key
from recctl.spec import LoadedExperiment, check_recommenders, load_experiment

log = logging.getLogger("recctl.botify")
WATCH_INTERVAL = 0.5


class Unavailable(Exception):
    """Redis is unreachable or the artifacts are not loaded: answer 503."""


class Service:
    def __init__(self, settings: ServiceSettings, loaded: LoadedExperiment,
                 artifacts: ArtifactSet) -> None:
        self.settings = settings
        self.loaded = loaded
        self.experiment = loaded.spec.name
        self.arm_names = list(loaded.spec.arms)
        self.artifacts = artifacts
        self.replica = settings.replica_name
        self.keys = Keys(artifacts.content_hash())
        self.units = needed_artifacts(loaded.spec.arms)
        # Requests without a session (other clients than recctl's simulator) draw their
        # key from one generator seeded by the OS: identical requests differ.
        self.fresh_rng = random.Random()
        self.ready = False
        self.not_ready_reason = "starting"
        limits = settings.limits
        self.client = open_client(settings.redis_url, limits.redis_pool, limits.pool_wait)
        self.probe = open_probe(settings.redis_url)
        self._probe_now = asyncio.Event()
        stack = loaded.spec.stack
        self.store = RedisStore(self.client, self.keys, self.experiment, stack.user_state_ttl,
                           cache_bytes=settings.cache_mb << 20)
        self.chains: dict[str, Chain] = {
            arm: build_chain(spec, self.store) for arm, spec in loaded.spec.arms.items()}
        self.writer: RotatingLogWriter | None = None
        self._watchdog: asyncio.Task[None] | None = None

    @classmethod
    def open(cls, settings: ServiceSettings) -> Service:
        """Validate the experiment file and the artifacts folder; raises RecctlError."""
        loaded = load_experiment(settings.experiment, require_artifacts=False)
        artifacts = ArtifactSet(settings.artifacts or loaded.spec.artifacts_dir)
        check_recommenders(loaded, artifacts)
        return cls(settings, loaded, artifacts)

    # Lifecycle.
    async def start(self) -> None:
        stack = self.loaded.spec.stack
        self.writer = RotatingLogWriter(self.settings.log_dir, max_bytes=stack.log_max_bytes,
                                        backups=stack.log_backups)
        await self._become_ready()
        self._watchdog = asyncio.create_task(self._watch())

    async def stop(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
        if self.writer is not None:
            self.writer.close()
        await self.client.aclose()
        await self.probe.aclose()

    def _load_artifacts(self) -> list[str]:
        client = redis.Redis.from_url(self.settings.redis_url, socket_timeout=30.0,
                                      socket_connect_timeout=1.0)
        try:
            return ArtifactLoader(client, self.artifacts, self.keys, self.units).ensure()
        finally:
            client.close()

    async def _become_ready(self) -> None:
        try:
            loaded = await asyncio.to_thread(self._load_artifacts)
            await self.store.warm([n for n, kind in self.units.items() if kind == "top"])
        except REDIS_ERRORS as exc:
            where = redacted(self.settings.redis_url)
            self.not_ready_reason = f"redis unavailable at {where}: {exc}"
            log.warning("%s; retrying", self.not_ready_reason)
            return
        if loaded:
            log.info("loaded artifacts %s into redis under %s", ", ".join(loaded), self.keys.base)
        self.ready, self.not_ready_reason = True, ""

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
        if not self.ready:
            await self._become_ready()
            return
        try:
            flags = await self.probe.mget(done_keys)
        except REDIS_ERRORS as exc:
            self.mark_unavailable(exc)
            return
        if any(flag is None for flag in flags):
            self.ready, self.not_ready_reason = False, "artifacts missing from redis"
            log.warning("artifacts missing from redis (was it restarted?); reloading")

    def redis_failed(self, exc: BaseException) -> None:
        """A request's Redis command failed even on a fresh connection: probe now."""
        if self.ready and not self._probe_now.is_set():  # one line per probe, not per request
            log.warning("redis error on a request: %s; probing redis", exc)
        self._probe_now.set()

    def mark_unavailable(self, exc: BaseException) -> None:
        if self.ready:
            log.warning("redis unreachable: %s; answering 503 until it is back", exc)
        self.ready = False
        self.not_ready_reason = f"redis unavailable: {exc}"

    def check_ready(self) -> None:
        if not self.ready:
            raise Unavailable(self.not_ready_reason)

    async def ping(self) -> bool:
        try:
            return bool(await self.probe.ping())
        except PoolExhausted:  # probes queued behind each other: Redis is slow, not gone
            return True
        except REDIS_ERRORS as exc:
            self.mark_unavailable(exc)
            return False

    # Requests.
    def _known_track(self, track: int) -> None:
        if track not in self.store.catalog:
            raise ClientError(404, f"track {track} is not in the catalog")

    async def next_track(self, user: int, listen: Listen, started: float,
                         request_id: str) -> bytes:
        self.check_ready()
        self._known_track(listen.track)
        arm = self.arm_names[arm_index(user, self.experiment, len(self.arm_names))]
        chain = self.chains[arm]
        track, answered_by = await chain.answer(user, listen.track, listen.time,
                                                self._key_for(user, listen))
        self._log("next", user, listen, track, arm, answered_by, started, request_id)
        return b'{"user":%d,"track":%d}' % (user, track)

    def _key_for(self, user: int, listen: Listen) -> int:
        """The request's random key (recctl.recommenders.draws). With a seed and a session
        it is a hash of what the request asks (session, user, track, time): the same
        simulated run gets the same answers whatever the order in which concurrent
        requests arrive. Without a session (a client that is not recctl's simulator)
        identical requests are not the same question, so the key is fresh randomness."""
        if self.settings.seed is None or listen.session is None:
            return self.fresh_rng.getrandbits(64)
        return request_key(self.settings.seed, listen.session, user, listen.track, listen.time)

    async def last(self, user: int, listen: Listen, started: float, request_id: str) -> bytes:
        self.check_ready()
        self._known_track(listen.track)
        arm = self.arm_names[arm_index(user, self.experiment, len(self.arm_names))]
        chain = self.chains[arm]
        await chain.last(user, listen.track, listen.time)  # the last track was heard too
        self._log("last", user, listen, None, arm, None, started, request_id)
        return b'{"user":%d}' % user

    def _log(self, message: str, user: int, listen: Listen, recommendation: int | None,
             arm: str, answered_by: str | None, started: float, request_id: str) -> None:
        assert self.writer is not None
        event = make_event(
            message, time.time_ns() // 1000, user, listen.track, listen.time,
            time.perf_counter() - started, recommendation, {self.experiment: arm},
            replica=self.replica, session=listen.session, recommender=answered_by,
            request_id=request_id)
        self.writer.write(dumps_event(event))

    async def track_info(self, track: int) -> bytes:
        self.check_ready()
        info = await self.store.track_info(track)
        if info is None:
            raise ClientError(404, f"track {track} is not in the catalog")
        return info

    def describe(self) -> dict[str, Any]:
        """What /arms shows."""
        return {
            "experiment": self.experiment,
            "config_hash": self.loaded.config_hash,
            "artifact_hash": self.keys.artifact_hash,
            "artifacts": str(self.artifacts.root),
            "replica": self.replica,
            "arms": {arm: chain.describe() for arm, chain in self.chains.items()},
        }
