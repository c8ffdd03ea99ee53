from __future__ import annotations

from pathlib import Path

import numpy as np

from recctl.environment import cpu_model, numeric_environment


def test_cpu_model_read_from_cpuinfo(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nvendor_id\t: GenuineIntel\n"
                       "model name\t: Example CPU @ 2.60GHz\nflags\t: fpu avx2\n")
    assert cpu_model(cpuinfo) == "Example CPU @ 2.60GHz"


def test_cpu_model_without_cpuinfo_falls_back(tmp_path: Path) -> None:
    found = cpu_model(tmp_path / "missing")
    assert found is None or isinstance(found, str) and found


def test_numeric_environment_names_numpy_and_its_blas_kernel() -> None:
    np.ones((8, 8)) @ np.ones((8, 8))  # numpy's BLAS is loaded
    environment = numeric_environment()
    assert environment["numpy"] == np.__version__
    assert {b["library"] for b in environment["blas"]} & {"openblas", "mkl", "blis", "accelerate"}
    assert all(b["kernel"] for b in environment["blas"] if b["library"] == "openblas")
