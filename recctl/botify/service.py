"""The replica's request logic: the experiment's arms answering /next and /last, logged.

`Service.open()` validates the experiment against the artifacts (user mistakes raise
RecctlError before anything listens). `start()` opens the event log and makes the
replica ready (`readiness`, recctl.botify.readiness: the artifacts loaded into Redis, a
watchdog); `stop()` drains the event log. Each request is assigned its arm by the
experiment's hash, answered by that arm's fallback chain and logged before the answer.
"""

from __future__ import annotations

import logging
import random
import time
from typing import Any

from recctl.artifacts import ArtifactSet
from recctl.assignment import arm_index
from recctl.botify.keys import Keys
from recctl.botify.readiness import Readiness, Unavailable
from recctl.botify.redis_client import open_client
from recctl.botify.settings import ServiceSettings
from recctl.botify.store import RedisStore
from recctl.botify.validation import ClientError, Listen
from recctl.eventlog import RotatingLogWriter, dumps_event, make_event
from recctl.recommenders import Chain, build_chain, needed_artifacts
from recctl.recommenders.draws import request_key
from recctl.spec import LoadedExperiment, check_recommenders, load_experiment

log = logging.getLogger("recctl.botify")


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
        # Requests without a session (other clients than recctl's simulator) draw their
        # key from one generator seeded by the OS: identical requests differ.
        self.fresh_rng = random.Random()
        limits = settings.limits
        self.client = open_client(settings.redis_url, limits.redis_pool, limits.pool_wait)
        stack = loaded.spec.stack
        self.store = RedisStore(self.client, self.keys, self.experiment, stack.user_state_ttl,
                                cache_bytes=settings.cache_mb << 20)
        self.readiness = Readiness(settings.redis_url, artifacts, self.keys,
                                   needed_artifacts(loaded.spec.arms), self.store)
        self.chains: dict[str, Chain] = {
            arm: build_chain(spec, self.store) for arm, spec in loaded.spec.arms.items()}
        self.writer: RotatingLogWriter | None = None
        self._log_failing = False  # the last write failed (logged once, not per request)

    @classmethod
    def open(cls, settings: ServiceSettings) -> Service:
        """Validate the experiment file and the artifacts folder; raises RecctlError."""
        loaded = load_experiment(settings.experiment, require_artifacts=False)
        artifacts = ArtifactSet(settings.artifacts or loaded.spec.artifacts_dir)
        check_recommenders(loaded, artifacts)
        return cls(settings, loaded, artifacts)

    async def start(self) -> None:
        stack = self.loaded.spec.stack
        self.writer = RotatingLogWriter(self.settings.log_dir, max_bytes=stack.log_max_bytes,
                                        backups=stack.log_backups)
        await self.readiness.start()

    async def stop(self) -> None:
        await self.readiness.stop()
        if self.writer is not None:
            self.writer.close()
        await self.client.aclose()

    # Requests.
    def _known_track(self, track: int) -> None:
        if track not in self.store.catalog:
            raise ClientError(404, f"track {track} is not in the catalog")

    async def next_track(self, user: int, listen: Listen, started: float,
                         request_id: str) -> bytes:
        self.readiness.check()
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
        self.readiness.check()
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
        try:
            self.writer.write(dumps_event(event))
        except OSError as exc:  # a full disk, say: the request must not be acknowledged
            if not self._log_failing:
                log.error("cannot write the event log %s: %s", self.writer.path, exc)
            self._log_failing = True
            raise Unavailable(f"the event log cannot be written ({exc.strerror or exc}); "
                              "this request was not logged: retry it") from exc
        if self._log_failing:
            log.warning("the event log %s is written again", self.writer.path)
            self._log_failing = False

    async def track_info(self, track: int) -> bytes:
        self.readiness.check()
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
