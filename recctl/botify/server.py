"""Run one replica: validate, then serve the ASGI app with uvicorn (uvloop + httptools).

One process per replica. uvloop and asyncio set TCP_NODELAY on accepted sockets, so a
keep-alive client never waits on Nagle's algorithm (the course's gevent server does,
~44 ms a request). Access logs are off: the event log is the record of requests.
HTTP hygiene (recctl/botify/protocol.py): deadlines for a request's headers and body, a
keep-alive timeout and a connection cap; WebSocket support is off (an upgrade request
reaches the app, which answers 400). Every response, uvicorn's own included, carries
`x-botify-replica`.
"""

from __future__ import annotations

import logging
import socket

import uvicorn

from recctl.botify.app import BotifyApp
from recctl.botify.protocol import GuardedHttpToolsProtocol
from recctl.botify.service import Service
from recctl.botify.settings import ServiceSettings
from recctl.errors import RecctlError

GRACEFUL_SECONDS = 10


def build_app(settings: ServiceSettings) -> BotifyApp:
    """The ASGI app for `settings`; raises RecctlError on a bad experiment or artifacts."""
    return BotifyApp(Service.open(settings))


def create_app() -> BotifyApp:
    """Factory for `uvicorn --factory recctl.botify.server:create_app` (RECCTL_* settings).

    Plain uvicorn then serves it: without run_replica's deadlines, connection cap and
    `x-botify-replica` header.
    """
    return build_app(ServiceSettings.from_environ())


def header_value(text: str) -> str:
    """`text` as a header value: visible ASCII, anything else escaped."""
    return "".join(c if " " <= c <= "~" else f"\\x{ord(c):02x}" for c in text)[:200]


def listen_sockets(host: str, port: int, endpoint_port: int | None = None) -> list[socket.socket]:
    """The replica's own port, and optionally the stack's shared endpoint port.

    Every replica binds the shared port with SO_REUSEPORT: the kernel then spreads new
    connections over all of them, for any client, and a replica that dies simply stops
    getting any. The own port stays for /ready probes and client-side failover.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    wanted = [(port, False)] + ([(endpoint_port, True)] if endpoint_port is not None else [])
    sockets: list[socket.socket] = []
    for number, shared in wanted:
        sock = socket.socket(family, socket.SOCK_STREAM)
        sockets.append(sock)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if shared:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        try:
            sock.bind((host, number))
        except OSError as exc:
            for opened in sockets:
                opened.close()
            what = "the shared endpoint port" if shared else "the port"
            raise RecctlError(
                f"cannot listen on {what} {host}:{number} ({exc.strerror or exc})",
                f"stop the program that holds port {number} (`ss -ltnp 'sport = :{number}'`) "
                "or choose another port") from None
    return sockets


def run_replica(settings: ServiceSettings, endpoint_port: int | None = None) -> None:
    """Serve until SIGTERM/SIGINT; the event log is drained before returning.

    With `endpoint_port`, also serve the stack's shared port (see `listen_sockets`)."""
    logging.basicConfig(level=logging.INFO,
                        format=f"%(asctime)s {settings.replica_name} %(levelname)s %(message)s")
    app = build_app(settings)
    limits = settings.limits
    config = uvicorn.Config(
        app, host=settings.host, port=settings.port, loop="uvloop",
        http=GuardedHttpToolsProtocol.with_limits(limits), ws="none",
        lifespan="on", access_log=False, log_level="info", backlog=2048,
        timeout_graceful_shutdown=GRACEFUL_SECONDS, server_header=False, date_header=False,
        timeout_keep_alive=limits.keep_alive,  # type: ignore[arg-type]  # a float works
        headers=[("x-botify-replica", header_value(settings.replica_name))],
        proxy_headers=False,  # the client address is never used: skip the middleware
    )
    server = uvicorn.Server(config)
    # Bound here (uvicorn binds only one port itself); listening starts once the app is up,
    # so the kernel sends nothing to a replica still loading its artifacts.
    sockets = listen_sockets(settings.host, settings.port, endpoint_port)
    for sock in sockets:
        logging.getLogger(__name__).info("listening on %s:%d", *sock.getsockname()[:2])
    server.run(sockets=sockets)
    if not server.started:
        raise SystemExit(1)  # start-up failed (the reason is in the log above)
