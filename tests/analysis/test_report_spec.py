"""The experiment file's `report:` block: metric roles, validated strictly."""

from __future__ import annotations

from pathlib import Path

import pytest

from recctl.errors import RecctlError
from recctl.spec import ReportSpec, parse_experiment


def _load(tmp_path: Path, report: str) -> ReportSpec:
    path = tmp_path / "e.yml"
    path.write_text("name: x\narms:\n  C: {type: random}\n  T1: {type: random}\n"
                    "report:\n" + report)
    return parse_experiment(path).spec.report


def test_roles_default_and_explicit(tmp_path: Path) -> None:
    default = ReportSpec()
    assert default.guardrails == ["mean_request_latency"]
    # An older file listing metrics without the latency keeps comparing only those.
    older = _load(tmp_path, "  metrics: [mean_time_per_session, time]\n")
    assert older.guardrails == []
    explicit = _load(tmp_path, "  metrics: [mean_time_per_session, sessions, time]\n"
                               "  guardrails: [sessions]\n")
    assert explicit.guardrails == ["sessions"]
    none = _load(tmp_path, "  guardrails: []\n")
    assert none.guardrails == [] and "mean_request_latency" in none.metrics
    # The stored form (fetch manifest, contract 4) reads back the same.
    assert ReportSpec.model_validate(explicit.model_dump(mode="json")) == explicit


@pytest.mark.parametrize(("report", "message"), [
    ("  guardrails: [mean_time_per_session]\n", "is the primary metric"),
    ("  metrics: [mean_time_per_session]\n  guardrails: [time]\n", "not in report.metrics"),
    ("  guardrails: [clicks]\n", "report.guardrails: unknown metric"),
    ("  guardrails: [time, time]\n  metrics: [mean_time_per_session, time]\n",
     "listed more than once"),
    ("  guardrail: [time]\n", "report.guardrail: unknown key"),
])
def test_bad_roles_name_the_key_and_the_fix(tmp_path: Path, report: str, message: str) -> None:
    with pytest.raises(RecctlError, match=message) as info:
        _load(tmp_path, report)
    assert "guardrail" in str(info.value)


def test_report_engine(tmp_path: Path) -> None:
    assert ReportSpec().engine == "auto"
    assert _load(tmp_path, "  engine: duckdb\n").engine == "duckdb"
    with pytest.raises(RecctlError, match=r"report\.engine") as info:
        _load(tmp_path, "  engine: spark\n")
    assert "memory" in str(info.value) and "duckdb" in str(info.value)
