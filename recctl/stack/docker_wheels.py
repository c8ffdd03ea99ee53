"""Dependency wheels for the service image, built on this machine and cached.

Containers may not reach PyPI (a TLS-intercepting proxy, an offline mirror), so the
image installs from wheels sent in its build context. pip resolves for *this*
interpreter, while the image may run another patch release (Debian's 3.11.2 here,
3.11.7 on the host): a requirement gated on `python_full_version < "3.11.3"` is then
missing. So the wheels' own requirements are re-evaluated for the image's Python and
what is missing is added, until nothing is.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename

from recctl.errors import RecctlError


def _pip_wheel(folder: Path, requirements: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--wheel-dir", str(folder), *requirements],
        capture_output=True, text=True, check=False,
    )
    if done.returncode != 0:
        raise RecctlError(
            "could not build the service's dependency wheels on this machine:\n"
            + done.stderr.strip()[-2000:],
            "check that pip reaches a package index, or set RECCTL_DOCKER_WHEELS=0 to let "
            "the image install from PyPI",
        )


def _requires(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        text = archive.read(name).decode("utf-8", errors="replace")
    header = text.split("\n\n", 1)[0]
    return [line.split(":", 1)[1].strip() for line in header.splitlines()
            if line.startswith("Requires-Dist:")]


def missing_for(folder: Path, python_version: str) -> list[str]:
    """Requirements of the wheels in `folder` that apply on `python_version` (e.g.
    "3.11.2") but that no wheel there satisfies by name; extras are not followed."""
    have = {canonicalize_name(parse_wheel_filename(w.name)[0]) for w in folder.glob("*.whl")}
    environment = {"python_full_version": python_version,
                   "python_version": ".".join(python_version.split(".")[:2])}
    missing: dict[str, str] = {}
    for wheel in sorted(folder.glob("*.whl")):
        for line in _requires(wheel):
            try:
                requirement = Requirement(line)
            except InvalidRequirement:
                continue
            marker = requirement.marker
            # `extra` must be given to evaluate a marker; "" means "no extra requested".
            if marker is not None and not marker.evaluate({**environment, "extra": ""}):
                continue
            name = canonicalize_name(requirement.name)
            if name not in have:
                requirement.marker = None
                missing.setdefault(name, str(requirement))
    return sorted(missing.values())


def dependency_wheels(requirements: list[str], python_version: str,
                      cache: Path | None = None) -> Path | None:
    """A folder of wheels for `requirements` on the image's `python_version`.

    Built once per (requirements, Python) and kept under ~/.cache/recctl/wheels.
    Returns None when RECCTL_DOCKER_WHEELS=0 (the image then installs from PyPI).
    Binary wheels are for this machine's platform; its Python minor version must match
    the image's (3.11 for both the default base image and Debian bookworm).
    """
    if os.environ.get("RECCTL_DOCKER_WHEELS", "1") == "0":
        return None
    key = hashlib.sha256("\n".join(
        [sys.implementation.cache_tag, python_version, *requirements]).encode()).hexdigest()[:16]
    base = cache or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "recctl"
    folder = base / "wheels" / key
    if (folder / ".complete").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    _pip_wheel(folder, requirements)
    for _ in range(5):  # each round may pull in a few more; depth is small in practice
        extra = missing_for(folder, python_version)
        if not extra:
            break
        _pip_wheel(folder, extra)
    (folder / ".complete").write_text("\n".join(requirements))
    return folder
