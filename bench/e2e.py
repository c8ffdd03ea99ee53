"""The headline run by stage: bootstrap (if needed), up, simulate, fetch, report, down.

    python bench/e2e.py [experiments/contextualmod-vs-dssm.yml] [--balancer nginx|client]

Prints wall time per stage, the simulation rate and the verdict. Targets (2 cores, with
artifacts already built): simulate <= 30 s, the whole run <= 60 s.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import yaml
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiment", nargs="?",
                        default=str(ROOT / "experiments" / "contextualmod-vs-dssm.yml"))
    parser.add_argument("--balancer", choices=["auto", "nginx", "client"], default=None,
                        help="Override stack.balancer for this run.")
    args = parser.parse_args()
    experiment = Path(args.experiment).resolve()
    if args.balancer:
        # A copy of the file next to the original (relative paths still resolve).
        body = yaml.safe_load(experiment.read_text())
        body.setdefault("stack", {})["balancer"] = args.balancer
        handle = tempfile.NamedTemporaryFile(  # noqa: SIM115
            "w", suffix=".yml", dir=experiment.parent, delete=False)
        handle.write(yaml.safe_dump(body))
        handle.close()
        experiment = Path(handle.name)

    from recctl.workflow import run_experiment

    console = Console(stderr=True)
    quiet = Console(file=open(os.devnull, "w"))  # noqa: SIM115
    cpu_before = os.times()
    started = time.perf_counter()
    try:
        outcome = run_experiment(experiment, quiet)
    finally:
        if args.balancer:
            experiment.unlink()
    total = time.perf_counter() - started
    cpu = os.times()
    table = Table(title=f"e2e: {experiment.name}")
    table.add_column("stage")
    table.add_column("seconds", justify="right")
    for stage, seconds in outcome.stages.items():
        table.add_row(stage, f"{seconds:.2f}")
    table.add_row("total", f"{total:.2f}", style="bold")
    console.print(table)
    sim = outcome.simulation or {}
    console.print(f"balancer: {outcome.state.balancer}; episodes: {sim.get('episodes')}, "
                  f"{sim.get('episodes_per_second')} episodes/s, "
                  f"{sim.get('acked_requests')} requests; failed: {sim.get('failed_episodes')}")
    child_cpu = (cpu.children_user + cpu.children_system) - (
        cpu_before.children_user + cpu_before.children_system)
    own_cpu = (cpu.user + cpu.system) - (cpu_before.user + cpu_before.system)
    console.print(f"CPU: recctl process {own_cpu:.1f} s; reaped children {child_cpu:.1f} s")
    for line in outcome.report.summary_lines()[:2]:
        console.print(line)
    sys.exit(0)


if __name__ == "__main__":
    main()
