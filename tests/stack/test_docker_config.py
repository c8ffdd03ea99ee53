"""Without an engine: the compose file's topology, and what an unreachable engine says."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import yaml

from recctl.errors import RecctlError
from recctl.paths import config_file
from recctl.stack.docker_engine import connect, unreachable_error
from recctl.stack.nginx import render_nginx_conf

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(config_file("compose.yml").read_text())


def test_compose_has_the_runtime_topology(compose: dict) -> None:
    services = compose["services"]
    assert set(services) == {"redis", "recommender", "nginx"}
    for service in services.values():
        assert service["networks"] == ["stack"]
    assert services["recommender"]["build"]["args"]["BASE_IMAGE"].startswith("${")
    assert "--replica" in services["recommender"]["command"][-1]


def test_compose_publishes_only_nginx_and_only_on_loopback(compose: dict) -> None:
    services = compose["services"]
    assert "ports" not in services["redis"]
    assert "ports" not in services["recommender"]  # scaled replicas must not clash on ports
    for port in services["nginx"]["ports"]:
        assert str(port).startswith("127.0.0.1:"), port


def test_compose_mounts_inputs_read_only(compose: dict) -> None:
    volumes = compose["services"]["recommender"]["volumes"]
    inputs = [v for v in volumes if "/opt/recctl-run" in v]
    assert len(inputs) == 2 and all(v.endswith(":ro") for v in inputs)


def test_compose_nginx_conf_is_the_rendered_template() -> None:
    """The checked-in config stays in step with config/nginx/nginx.conf.template."""
    rendered = render_nginx_conf(listen="8080", upstreams=["recommender:8000"],
                                 pid_file="/tmp/nginx.pid", error_log="stderr", temp_dir="/tmp")
    assert config_file("docker/nginx-compose.conf").read_text() == rendered


def test_dockerfile_takes_the_base_image_as_a_build_argument() -> None:
    lines = (REPO / "Dockerfile").read_text().splitlines()
    code = [line for line in lines if line and not line.startswith("#")]
    assert code[0].startswith("ARG BASE_IMAGE=") and code[1] == "FROM ${BASE_IMAGE}"
    assert "USER botify" in code


def test_missing_socket_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(RecctlError) as failure:
        connect(f"unix://{tmp_path}/no-such.sock", timeout=5)
    assert "socket does not exist" in failure.value.message
    assert "docker_host" in (failure.value.hint or "")


def test_refused_connection_names_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "dead.sock"
    dead = socket.socket(socket.AF_UNIX)
    dead.bind(str(path))  # bound but never listening: connect() is refused
    try:
        with pytest.raises(RecctlError) as failure:
            connect(f"unix://{path}", timeout=5)
    finally:
        dead.close()
    assert "refused" in failure.value.message
    assert "container-engine setup" in (failure.value.hint or "")


def test_permission_denied_names_the_fix() -> None:
    # Tests run as root here, where no socket refuses us; the classification is pure.
    error = unreachable_error("unix:///var/run/docker.sock",
                              PermissionError(13, "Permission denied"))
    assert "no permission" in error.message
    assert "docker` group" in (error.hint or "")
