"""From event logs to the A/B answer: sessions, user-level metrics, comparison, outputs.

The entry points are `build_report` (what to compare: `ReportOptions`), `write_outputs`
and `render_terminal`; notebooks use `recctl.analysis.api`, which returns pandas DataFrames.

The names are imported on first use (PEP 562): the statistics stack (scipy, statsmodels,
matplotlib) takes ~2 s to import, and `build_report` imports it while DuckDB reads the
logs (recctl/analysis/build.py), which an import here would put before the read.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Imported now (it is light): a name equal to its submodule's would otherwise become the
# module once anything imports recctl.analysis.render_terminal.
from recctl.analysis.render_terminal import render_terminal

if TYPE_CHECKING:
    from recctl.analysis.build import build_report, report_from_events
    from recctl.analysis.options import ReportOptions
    from recctl.analysis.outputs import write_outputs
    from recctl.analysis.report import Report

_WHERE = {"Report": "report", "ReportOptions": "options", "build_report": "build",
          "report_from_events": "build", "write_outputs": "outputs"}
__all__ = ["Report", "ReportOptions", "build_report", "report_from_events", "render_terminal",
           "write_outputs"]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    globals()[name] = value  # later look-ups skip this function
    return value
