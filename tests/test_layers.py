"""What importing a part really loads: the layers hold at run time, not only on paper.

`lint-imports` (CI) checks the import statements; this checks the modules a fresh
interpreter ends up with, which also catches imports made through importlib.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = ("import importlib, sys\n"
         "for name in sys.argv[1:]: importlib.import_module(name)\n"
         "print('\\n'.join(sorted(m for m in sys.modules if m.startswith('recctl.'))))\n")


def _loaded(*modules: str) -> set[str]:
    done = subprocess.run([sys.executable, "-c", PROBE, *modules], capture_output=True,
                          text=True, timeout=60, check=True)
    return set(done.stdout.split())


def _inside(loaded: set[str], *packages: str) -> list[str]:
    return sorted(m for m in loaded if any(m == p or m.startswith(p + ".") for p in packages))


@pytest.mark.parametrize(("modules", "forbidden"), [
    # The experiment file sits below the service, the simulator, training and the report.
    (("recctl.spec",), ("recctl.botify", "recctl.analysis", "recctl.sim", "recctl.train",
                        "recctl.stack", "recctl.cli", "recctl.workflow")),
    # The service starts without the CLI and without its siblings.
    (("recctl.botify.main", "recctl.botify.server"),
     ("recctl.cli", "recctl.workflow", "recctl.stack", "recctl.sim", "recctl.train",
      "recctl.analysis")),
])
def test_a_part_loads_nothing_above_or_beside_it(modules: tuple[str, ...],
                                                 forbidden: tuple[str, ...]) -> None:
    loaded = _loaded(*modules)
    assert set(modules) <= loaded  # the probe did import them
    assert _inside(loaded, *forbidden) == []
