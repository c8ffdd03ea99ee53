"""What a build's numbers were computed with: the numeric libraries, the BLAS kernel, the CPU.

One seed fixes the bootstrap's bytes on one machine, not across machines: OpenBLAS picks
its kernels by CPU (Haswell/AVX2, SkylakeX/AVX-512, ...), they round differently, and
training carries a last-bit difference into different models. Manifests record this block
so two different results can be traced to two environments rather than to a bug.
"""

from __future__ import annotations

import platform
from importlib import metadata
from pathlib import Path
from typing import Any

from threadpoolctl import threadpool_info

_NUMERIC_PACKAGES = ("numpy", "scipy")


def numeric_environment() -> dict[str, Any]:
    """Python, numpy/scipy versions, each loaded BLAS with its kernel, and the CPU model."""
    packages: dict[str, str | None] = {}
    for name in _NUMERIC_PACKAGES:
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            packages[name] = None
    blas = [
        {"library": pool.get("internal_api"), "version": pool.get("version"),
         "kernel": pool.get("architecture")}
        for pool in threadpool_info() if pool.get("user_api") == "blas"
    ]
    return {
        "python": platform.python_version(),
        **packages,
        "blas": blas,
        "machine": platform.machine(),
        "cpu": cpu_model(),
    }


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str | None:
    """The CPU's model name (Linux's /proc/cpuinfo), else what platform reports, else None."""
    try:
        for line in cpuinfo.read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and value.strip():
                return value.strip()
    except OSError:
        pass
    return platform.processor() or None
