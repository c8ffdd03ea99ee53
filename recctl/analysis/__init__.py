"""From event logs to the A/B answer: sessions, user-level metrics, comparison, outputs.

The entry points are `build_report` (what to compare: `ReportOptions`), `write_outputs`
and `render_terminal`; notebooks use `recctl.analysis.api`, which returns pandas DataFrames.
"""

from recctl.analysis.build import build_report, report_from_events
from recctl.analysis.options import ReportOptions
from recctl.analysis.outputs import write_outputs
from recctl.analysis.render_terminal import render_terminal
from recctl.analysis.report import Report

__all__ = ["Report", "ReportOptions", "build_report", "report_from_events", "render_terminal",
           "write_outputs"]
