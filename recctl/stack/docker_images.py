"""Images for the Docker runtime: the service image built from the project's Dockerfile,
and Redis / nginx images that must already be there (or be pullable).

The service image's tag is a hash of everything that goes into it (Dockerfile, code,
dependency wheels, base image), so an unchanged project starts without a build.
Dependencies are built as wheels on this machine and sent in the build context,
because containers may not reach PyPI (a proxy, an offline registry mirror).
"""

from __future__ import annotations

import hashlib
import tarfile
import tempfile
from pathlib import Path
from typing import IO

import docker
import docker.errors

from recctl.errors import RecctlError
from recctl.paths import config_file
from recctl.stack.docker_wheels import dependency_wheels

SERVICE_REPOSITORY = "localhost/recctl-botify"
WHEELS_IN_CONTEXT = ".recctl-wheels"
_SOURCE_PARTS = ("Dockerfile", "pyproject.toml", "README.md", "recctl", "config")
_SKIP_NAMES = {"__pycache__", ".pytest_cache", ".mypy_cache"}


def project_root() -> Path:
    """The checkout holding the Dockerfile (the Docker runtime builds from source)."""
    root = Path(__file__).resolve().parents[2]
    if (root / "Dockerfile").is_file() and (root / "pyproject.toml").is_file():
        return root
    raise RecctlError(
        "the Docker runtime builds the service image from the project's Dockerfile, "
        f"which is not next to the installed package ({root})",
        "install recctl from a checkout (`pip install -e .`), or use stack.runtime: local",
    )


def _dependencies(root: Path) -> list[str]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        raise RecctlError("the Docker runtime needs Python 3.11 or later (tomllib)",
                          "use Python 3.11+, or stack.runtime: local") from None
    with open(root / "pyproject.toml", "rb") as handle:
        deps: list[str] = tomllib.load(handle)["project"]["dependencies"]
    return [*deps, "hatchling"]  # hatchling: the build backend, for an offline `pip install .`


def image_python_version(client: docker.DockerClient, image: str) -> str:
    """The Python release in `image` (e.g. "3.11.2"), asked of a throwaway container."""
    # Detached run + wait: a non-detached run can hang on Podman when the container exits
    # at once.
    container = client.containers.run(
        image, ["python3", "-c", "import platform; print(platform.python_version())"],
        detach=True, labels={"io.recctl.probe": "python-version"})
    try:
        status = container.wait(timeout=60)
        output = container.logs().decode(errors="replace").strip()
    finally:
        container.remove(force=True)
    if status.get("StatusCode") != 0 or not output:
        raise RecctlError(f"base image {image} has no working python3 ({output[-300:]!r})",
                          "set stack.images.base to an image with Python 3.11 and pip")
    return str(output.splitlines()[-1])


def _source_files(root: Path) -> list[Path]:
    files: list[Path] = []
    for part in _SOURCE_PARTS:
        path = root / part
        if path.is_file():
            files.append(path)
            continue
        for item in sorted(path.rglob("*")):
            relative = item.relative_to(root)
            if _SKIP_NAMES & set(relative.parts) or item.suffix == ".pyc":
                continue
            if item.is_file() and not (relative.parts[:3] == ("config", "docker", "wheels")
                                       and item.suffix == ".whl"):
                files.append(item)
    return files


def _context_digest(root: Path, files: list[Path], wheels: Path | None, base_id: str) -> str:
    digest = hashlib.sha256(base_id.encode())
    for path in files:
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    if wheels is not None:
        digest.update("\n".join(sorted(p.name for p in wheels.glob("*.whl"))).encode())
    return digest.hexdigest()[:16]


def _write_context(root: Path, files: list[Path], wheels: Path | None,
                   out: IO[bytes]) -> None:
    with tarfile.open(fileobj=out, mode="w") as archive:
        for path in files:
            archive.add(path, arcname=str(path.relative_to(root)), recursive=False)
        folder = tarfile.TarInfo(WHEELS_IN_CONTEXT)
        folder.type, folder.mode = tarfile.DIRTYPE, 0o755
        archive.addfile(folder)
        for wheel in sorted(wheels.glob("*.whl")) if wheels else []:
            archive.add(wheel, arcname=f"{WHEELS_IN_CONTEXT}/{wheel.name}")


def ensure_image(client: docker.DockerClient, name: str, role: str) -> None:
    """The image is local, or is pulled now; else an error saying how to get it."""
    try:
        client.images.get(name)
        return
    except docker.errors.ImageNotFound:
        pass
    try:
        client.images.pull(name)
    except docker.errors.APIError as exc:
        key = {"base": "stack.images.base", "redis": "stack.images.redis",
               "nginx": "stack.images.nginx"}[role]
        recipe = ("" if role == "base" else
                  f"; without a registry, build one from a local Debian image: `docker build "
                  f"-f config/docker/{role}.Dockerfile --build-arg BASE_IMAGE=<debian image> "
                  f"-t localhost/recctl-{role}:bookworm config/docker`")
        raise RecctlError(
            f"image {name} ({role}) is not on the Docker engine and could not be pulled: "
            f"{getattr(exc, 'explanation', None) or exc}",
            f"pull it (`docker pull {name}`), or set {key} to an image the engine has{recipe}",
        ) from None


def _build_failure(tag: str, exc: docker.errors.BuildError) -> RecctlError:
    lines = [str(c.get("stream") or c.get("error") or "").rstrip()
             for c in exc.build_log if isinstance(c, dict)]
    tail = "\n".join(line for line in lines if line)[-3000:]
    return RecctlError(f"building {tag} failed: {exc.msg}\n{tail}",
                       "fix the Dockerfile step shown above, then run `recctl up` again")


def build_service_image(client: docker.DockerClient, base_image: str) -> str:
    """Build (or reuse) the service image for `base_image`; return its tag."""
    root = project_root()
    ensure_image(client, base_image, "base")
    base_id = client.images.get(base_image).id or base_image
    wheels = dependency_wheels(_dependencies(root), image_python_version(client, base_image))
    files = _source_files(root)
    tag = f"{SERVICE_REPOSITORY}:{_context_digest(root, files, wheels, base_id)}"
    try:
        client.images.get(tag)
        return tag
    except docker.errors.ImageNotFound:
        pass
    with tempfile.TemporaryFile() as context:  # the wheels make it ~100 MB: not in memory
        _write_context(root, files, wheels, context)
        context.seek(0)
        try:
            client.images.build(
                fileobj=context, custom_context=True, tag=tag, rm=True, forcerm=True,
                buildargs={"BASE_IMAGE": base_image, "WHEELS": WHEELS_IN_CONTEXT},
                labels={"io.recctl.image": "service"},
            )
        except docker.errors.BuildError as exc:
            raise _build_failure(tag, exc) from None
    return tag


def build_support_image(client: docker.DockerClient, role: str, base_image: str,
                        tag: str) -> str:
    """Build config/docker/<role>.Dockerfile (redis, nginx) for engines with no registry."""
    dockerfile = config_file(f"docker/{role}.Dockerfile")
    try:
        client.images.build(path=str(dockerfile.parent), dockerfile=dockerfile.name, tag=tag,
                            buildargs={"BASE_IMAGE": base_image}, rm=True, forcerm=True,
                            labels={"io.recctl.image": role})
    except docker.errors.BuildError as exc:
        raise _build_failure(tag, exc) from None
    return tag
