"""A real Docker Engine API for the Docker runtime's tests, or a skip that says why.

The engine is DOCKER_HOST, else the socket `.ci/container-engine` serves (rootful
Podman). When nothing answers and this is root on a machine with apt, the fixture runs
`.ci/container-engine setup` itself (and stops the service afterwards); only when that
fails too are the tests skipped, with the reason.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from recctl.errors import RecctlError
from recctl.stack.docker_engine import connect
from recctl.stack.docker_images import build_support_image

REPO = Path(__file__).resolve().parents[2]
ENGINE_SCRIPT = REPO / ".ci" / "container-engine"
ENGINE_SOCKET = "unix:///run/recctl-engine/podman.sock"
# The base image .ci/container-engine builds with debootstrap; no registry is needed.
BASE_IMAGE = os.environ.get("RECCTL_TEST_BASE_IMAGE", "localhost/base:bookworm")
REDIS_IMAGE = "localhost/recctl-redis:bookworm"
NGINX_IMAGE = "localhost/recctl-nginx:bookworm"


def _try(host: str) -> tuple[docker.DockerClient | None, str]:
    try:
        return connect(host, timeout=600), ""
    except RecctlError as exc:
        return None, exc.message


def _start_engine() -> str:
    """Run `.ci/container-engine setup`; return why it could not, or ""."""
    if os.environ.get("RECCTL_TEST_NO_ENGINE_SETUP") == "1":
        return "RECCTL_TEST_NO_ENGINE_SETUP=1"
    if not ENGINE_SCRIPT.exists() or os.geteuid() != 0:
        return "starting Podman needs root and .ci/container-engine"
    done = subprocess.run([str(ENGINE_SCRIPT), "setup"], capture_output=True, text=True,
                          timeout=900, check=False)
    if done.returncode != 0:
        return f".ci/container-engine setup failed: {done.stderr.strip()[-500:]}"
    return ""


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    host = os.environ.get("DOCKER_HOST") or ENGINE_SOCKET
    client, why = _try(host)
    started = False
    if client is None and not os.environ.get("DOCKER_HOST"):
        failure = _start_engine()
        started = not failure
        client, why = _try(host) if started else (None, failure)
    if client is None:
        pytest.skip(f"no Docker Engine API could be reached or started ({why})")
    yield client
    client.close()
    if started:
        subprocess.run([str(ENGINE_SCRIPT), "stop"], capture_output=True, check=False)


@pytest.fixture(scope="session")
def docker_host(docker_client: docker.DockerClient) -> str:
    return os.environ.get("DOCKER_HOST") or ENGINE_SOCKET


@pytest.fixture(scope="session")
def support_images(docker_client: docker.DockerClient) -> dict[str, str]:
    """Redis and nginx images built FROM the local base image (no registry here)."""
    try:
        docker_client.images.get(BASE_IMAGE)
    except docker.errors.ImageNotFound:
        pytest.skip(f"base image {BASE_IMAGE} is missing: run .ci/container-engine setup "
                    "or set RECCTL_TEST_BASE_IMAGE")
    build_support_image(docker_client, "redis", BASE_IMAGE, REDIS_IMAGE)
    build_support_image(docker_client, "nginx", BASE_IMAGE, NGINX_IMAGE)
    return {"base": BASE_IMAGE, "redis": REDIS_IMAGE, "nginx": NGINX_IMAGE}
