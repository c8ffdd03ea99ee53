"""The command line's contract: exit 0 on success, 1 on a user mistake (with a hint and no
traceback), 2 on a usage error; every command has help."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

COMMANDS = ["up", "down", "status", "simulate", "fetch", "report", "plan", "run", "train",
            "bootstrap", "serve", "world"]


def recctl(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "recctl", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=60)


def test_version_exits_0() -> None:
    result = recctl("--version")
    assert result.returncode == 0 and result.stdout.startswith("recctl ")


def test_user_mistake_exits_1_with_a_hint_and_no_traceback(tmp_path: Path) -> None:
    result = recctl("up", "missing.yml", cwd=tmp_path)
    assert result.returncode == 1
    assert "Error: experiment file 'missing.yml' not found" in result.stderr
    assert "hint:" in result.stderr and "Traceback" not in result.stderr


def test_a_path_that_cannot_be_used_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("a file where a folder should go")
    for command in (("world", "--out", "taken"), ("bootstrap", "--out", "taken")):
        result = recctl(*command, cwd=tmp_path)
        assert result.returncode == 1, result.stderr
        assert "Traceback" not in result.stderr and "taken" in result.stderr
        assert result.stderr.startswith("Error: ") and "hint: check the path" in result.stderr
    assert (tmp_path / "taken").read_text() == "a file where a folder should go"


def test_invalid_experiment_names_file_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("name: x\narms: {C: {type: random}}\nstack: {replicas: many}\n")
    result = recctl("up", str(bad), cwd=tmp_path)
    assert result.returncode == 1
    assert str(bad) in result.stderr and "stack.replicas" in result.stderr


def test_usage_error_exits_2() -> None:
    assert recctl("up", "--no-such-option").returncode == 2
    assert recctl("no-such-command").returncode == 2


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(command: str) -> None:
    from typer.testing import CliRunner

    from recctl.cli.main import app

    result = CliRunner().invoke(app, [command, "--help"], terminal_width=100)
    assert result.exit_code == 0, result.output
    assert "Example" in result.output, f"`recctl {command} --help` shows no example"
