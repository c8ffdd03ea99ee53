"""Writing a report to a folder: Markdown, JSON, CSV, PNG, and always a manifest."""

from __future__ import annotations

import math
import platform
import time
from collections.abc import Sequence
from dataclasses import asdict
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import pandas as pd

from recctl.analysis.plot import plot_effects
from recctl.analysis.render_markdown import render_markdown
from recctl.analysis.render_validity import validity_json
from recctl.errors import RecctlError

if TYPE_CHECKING:  # (not imported: see recctl/analysis/__init__.py)
    from recctl.analysis.report import Report

FILE_FORMATS = ("markdown", "json", "csv", "png")
_PACKAGES = ("recctl", "numpy", "pandas", "scipy", "statsmodels", "matplotlib", "msgspec")


def write_outputs(report: Report, out_dir: str | Path,
                  formats: Sequence[str] = FILE_FORMATS) -> dict[str, Path]:
    """Write the chosen formats ("terminal" is ignored here) plus manifest.json.

    Returns what was written, by format. Files: report.md, report.json,
    comparisons.csv + arms.csv, effects.png, manifest.json.
    """
    unknown = [f for f in formats if f not in (*FILE_FORMATS, "terminal")]
    if unknown:
        raise RecctlError(f"unknown output format(s): {', '.join(unknown)}",
                          f"choose from {', '.join(FILE_FORMATS)}")
    out = Path(out_dir)
    try:
        return _write(report, out, formats)
    except OSError as exc:  # a file where the folder should be, no permission, disk full
        where = f" ({exc.filename})" if exc.filename and str(exc.filename) != str(out) else ""
        raise RecctlError(f"cannot write the report to {out}: {exc.strerror or exc}{where}",
                          "pass --out with a folder you can write to (or free some disk "
                          "space)") from None


def _write(report: Report, out: Path, formats: Sequence[str]) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    if "png" in formats:
        written["png"] = plot_effects(report, out / "effects.png")
    if "markdown" in formats:
        page = render_markdown(report, "effects.png" if "png" in formats else None)
        written["markdown"] = out / "report.md"
        written["markdown"].write_text(page)
    if "json" in formats:
        written["json"] = out / "report.json"
        written["json"].write_bytes(_dumps(report_as_dict(report)))
    if "csv" in formats:
        report.table.to_csv(out / "comparisons.csv", index=False)
        report.arm_summary.to_csv(out / "arms.csv")
        written["csv"] = out / "comparisons.csv"
    written["manifest"] = out / "manifest.json"
    names = sorted(p.name for p in written.values())
    written["manifest"].write_bytes(_dumps(manifest(report, names)))
    return written


def report_as_dict(report: Report) -> dict[str, Any]:
    """Everything in the report that a machine would read, JSON-ready."""
    return {
        "experiment": report.experiment, "mode": report.mode, "control": report.control,
        "arms": report.arms, "metrics": report.metrics, "settings": asdict(report.settings),
        "roles": {m: report.settings.role(m) for m in report.metrics},
        "summary": report.summary_lines(),
        "notes": report.notes,
        "comparisons": [{k: _plain(v) for k, v in row.items()}
                        for row in report.table.to_dict(orient="records")],
        "arm_summary": report.arm_summary.reset_index().to_dict(orient="records"),
        "srm": {**asdict(report.srm), "status": report.srm.status, "arms": report.srm_arms},
        "checks": report.checks,
        "sessions": asdict(report.user_summary),
        "warnings": report.warnings,
        **validity_json(report),
        "cuped": report.cuped.as_dict() if report.cuped is not None else None,
    }


def _plain(value: Any) -> Any:
    # Missing values are null whatever pandas stored them as (None, NaN, pd.NA).
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def manifest(report: Report, outputs: list[str]) -> dict[str, Any]:
    """What produced this folder: inputs and their line counts, settings, versions."""
    fetch = report.fetch_manifest or {}
    return {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "inputs": [{"path": path, "lines": lines}
                   for path, lines in report.read.lines_per_file.items()],
        "lines": report.read.lines, "malformed_lines": report.read.malformed,
        "experiment": report.experiment, "mode": report.mode, "aa_seed": report.seed,
        "engine": report.engine,
        "control": report.control, "metrics": report.metrics,
        "alpha": report.settings.alpha, "correction": report.settings.correction,
        "primary_metric": report.settings.primary_metric,
        "guardrails": list(report.guardrails),
        "fetch": {key: fetch.get(key) for key in ("experiment", "config_hash", "seed", "replicas")
                  if key in fetch},
        "versions": {"python": platform.python_version(), **_versions(report.engine)},
        "outputs": outputs,
    }


def _versions(report_engine: str = "memory") -> dict[str, str]:
    found = {}
    for name in (*_PACKAGES, *(("duckdb",) if report_engine == "duckdb" else ())):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def _dumps(value: Any) -> bytes:
    # NaN becomes null; numpy scalars and arrays are written as numbers.
    return orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY
                        | orjson.OPT_NON_STR_KEYS, default=str)
