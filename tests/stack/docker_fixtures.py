"""A real Docker Engine API for the Docker runtime's tests, or a skip that says why.

The engine is DOCKER_HOST, else the socket `.ci/container-engine` serves (rootful
Podman). Setting one up installs system packages, which is CI's job, never a test's:
.ci/run runs `.ci/container-engine setup`, exports DOCKER_HOST and sets
RECCTL_TEST_REQUIRE_ENGINE=1, so that in CI a missing engine fails these tests instead
of skipping them. Elsewhere they are skipped, with the reason and the command to run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import NoReturn

import docker
import pytest

from recctl.errors import RecctlError
from recctl.stack.docker_engine import connect
from recctl.stack.docker_images import build_support_image

ENGINE_SOCKET = "unix:///run/recctl-engine/podman.sock"
# The base image .ci/container-engine builds with debootstrap; no registry is needed.
BASE_IMAGE = os.environ.get("RECCTL_TEST_BASE_IMAGE", "localhost/base:bookworm")
REDIS_IMAGE = "localhost/recctl-redis:bookworm"
NGINX_IMAGE = "localhost/recctl-nginx:bookworm"
SETUP = "run `.ci/container-engine setup` (root) and `eval \"$(.ci/container-engine env)\"`"


def _missing(reason: str) -> NoReturn:
    """Skip, or fail where CI promised an engine."""
    if os.environ.get("RECCTL_TEST_REQUIRE_ENGINE") == "1":
        pytest.fail(f"{reason} (RECCTL_TEST_REQUIRE_ENGINE=1: CI set up an engine)")
    pytest.skip(f"{reason}; to run these tests, {SETUP}")


def engine_host() -> str:
    return os.environ.get("DOCKER_HOST") or ENGINE_SOCKET


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    host = engine_host()
    try:
        client = connect(host, timeout=600)
    except RecctlError as exc:
        _missing(f"no Docker Engine API answers at {host}: {exc.message}")
    yield client
    client.close()


@pytest.fixture(scope="session")
def docker_host(docker_client: docker.DockerClient) -> str:
    return engine_host()


@pytest.fixture(scope="session")
def support_images(docker_client: docker.DockerClient) -> dict[str, str]:
    """Redis and nginx images built FROM the local base image (no registry here)."""
    try:
        docker_client.images.get(BASE_IMAGE)
    except docker.errors.ImageNotFound:
        _missing(f"base image {BASE_IMAGE} is missing (set RECCTL_TEST_BASE_IMAGE to "
                 "another base image)")
    build_support_image(docker_client, "redis", BASE_IMAGE, REDIS_IMAGE)
    build_support_image(docker_client, "nginx", BASE_IMAGE, NGINX_IMAGE)
    return {"base": BASE_IMAGE, "redis": REDIS_IMAGE, "nginx": NGINX_IMAGE}
