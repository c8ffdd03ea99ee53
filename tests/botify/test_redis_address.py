"""The replica's Redis address pin (recctl.botify.redis_client.AddressPin): new
connections go to the address the host name last resolved to, so that a DNS that stops
answering does not cut a replica off Redis (the Docker-level test freezes Podman's DNS:
tests/stack/test_docker_faults.py)."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from recctl.botify.redis_client import AddressPin, open_client


def _pinned(url: str, then_host: str | None = None) -> tuple[AddressPin, str]:
    async def body() -> tuple[AddressPin, str]:
        client = open_client(url, connections=2, wait=1.0)
        pin = AddressPin(url, [client])
        await pin.refresh(now=True)
        if then_host is not None:  # the name stops resolving (a DNS outage)
            pin.host = then_host
            await pin.refresh(now=True)
        host = client.connection_pool.connection_kwargs["host"]
        await client.aclose()
        return pin, host

    return asyncio.run(body())


def test_a_host_name_is_pinned_to_its_address() -> None:
    pin, host = _pinned("redis://localhost:6399/0")
    assert pin.address in ("127.0.0.1", "::1") and host == pin.address


def test_a_failed_look_up_keeps_the_last_address() -> None:
    pin, host = _pinned("redis://localhost:6399/0", then_host="no-such-host.invalid")
    assert pin.address in ("127.0.0.1", "::1") and host == pin.address


def test_addresses_sockets_and_tls_are_left_alone() -> None:
    for url in ("redis://127.0.0.1:6399/0", "rediss://localhost:6399/0"):
        pin, host = _pinned(url)
        assert pin.address is None and host == aioredis.ConnectionPool.from_url(
            url).connection_kwargs["host"]
    assert AddressPin("unix:///tmp/redis.sock", []).host is None
