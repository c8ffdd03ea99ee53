"""A network fault in front of a real replica: the replica logs a request, then "dies"
before its answer reaches the client.

The proxy forwards every request to the replica unchanged (headers, body, X-Request-Id)
and passes the answer back. The `die_after`-th request is forwarded too, so the replica
really logs it, but its answer is dropped: the client's connection is aborted, as a
replica SIGKILLed between writing its log line and answering would look from outside.
Later requests are dropped before they reach the replica; requests already forwarded get
their answers. Timing makes that window too narrow to hit on a real process at will;
this makes it deterministic while the service, its log and Redis stay real.
"""

from __future__ import annotations

import asyncio
import threading

import aiohttp
from aiohttp import web

from recctl.stack.probes import free_port

HOP_HEADERS = {"host", "content-length", "connection", "keep-alive", "transfer-encoding"}


class FaultProxy:
    def __init__(self, upstream: str, die_after: int) -> None:
        self.upstream = upstream.rstrip("/")
        self.die_after = die_after
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.requests = 0
        self.died = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def start(self) -> FaultProxy:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the fault proxy did not start")
        return self

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._start())
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self._runner.cleanup())
        self._loop.run_until_complete(self._session.close())
        self._loop.close()

    async def _start(self) -> None:
        self._session = aiohttp.ClientSession()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        self._site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await self._site.start()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        if self.died.is_set():  # a connection accepted just before it "died"
            assert request.transport is not None
            request.transport.abort()
            raise asyncio.CancelledError
        self.requests += 1
        number = self.requests  # others arrive while this one is forwarded
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS}
        async with self._session.request(request.method, self.upstream + request.path_qs,
                                         headers=headers, data=await request.read()) as answer:
            body = await answer.read()
            answer_headers = {k: v for k, v in answer.headers.items()
                              if k.lower() not in HOP_HEADERS}
        if number == self.die_after:  # logged by the replica; the answer is lost
            self.died.set()  # from now on every request is dropped unanswered
            assert request.transport is not None
            request.transport.abort()
            raise asyncio.CancelledError
        return web.Response(status=answer.status, body=body, headers=answer_headers)

    def stop(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
