"""The headline run by stage: bootstrap (if needed), up, simulate, fetch, report, down.

    python bench/e2e.py [experiments/contextualmod-vs-dssm.yml] [--balancer nginx|client]
                        [--runtime local|ray|both] [--ray-address HOST:PORT]

Prints wall time per stage, the simulation rate and the verdict. Targets (2 cores, with
artifacts already built): simulate <= 30 s, the whole run <= 60 s.

`--runtime ray` runs the same file on the Ray runtime: on the cluster at --ray-address,
else on a two-node cluster this script starts on this machine (one CPU per node) and
stops afterwards; `--runtime both` runs it locally first, then on Ray, and prints the
stages side by side.
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


def _variant(experiment: Path, stack: dict[str, object]) -> Path:
    """A copy of the file next to the original (relative paths still resolve)."""
    body = yaml.safe_load(experiment.read_text())
    body.setdefault("stack", {}).update(stack)
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115
        "w", suffix=".yml", dir=experiment.parent, delete=False)
    handle.write(yaml.safe_dump(body))
    handle.close()
    return Path(handle.name)


def _run(experiment: Path, stack: dict[str, object], console: Console) -> tuple[object, float]:
    from recctl.workflow import run_experiment

    path = _variant(experiment, stack) if stack else experiment
    quiet = Console(file=open(os.devnull, "w"))  # noqa: SIM115
    cpu_before = os.times()
    started = time.perf_counter()
    try:
        outcome = run_experiment(path, quiet)
    finally:
        if stack:
            path.unlink()
    total = time.perf_counter() - started
    cpu = os.times()
    sim = outcome.simulation or {}
    runtime = outcome.state.runtime
    console.print(f"{runtime}: balancer {outcome.state.balancer}; episodes: "
                  f"{sim.get('episodes')}, {sim.get('episodes_per_second')} episodes/s, "
                  f"{sim.get('acked_requests')} requests; failed: {sim.get('failed_episodes')}")
    child_cpu = (cpu.children_user + cpu.children_system) - (
        cpu_before.children_user + cpu_before.children_system)
    own_cpu = (cpu.user + cpu.system) - (cpu_before.user + cpu_before.system)
    console.print(f"{runtime} CPU: recctl process {own_cpu:.1f} s; reaped children "
                  f"{child_cpu:.1f} s" + (" (Ray's node processes not counted)"
                                          if runtime == "ray" else ""))
    for line in outcome.report.summary_lines()[:2]:
        console.print(f"{runtime}: {line}")
    return outcome, total


def _two_node_cluster() -> object:
    """A head and one more node on this machine, one CPU each (ray.cluster_utils)."""
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True,
                      head_node_args={"num_cpus": 1, "include_dashboard": False})
    cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    return cluster


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiment", nargs="?",
                        default=str(ROOT / "experiments" / "contextualmod-vs-dssm.yml"))
    parser.add_argument("--balancer", choices=["auto", "nginx", "client"], default=None,
                        help="Override stack.balancer for this run.")
    parser.add_argument("--runtime", choices=["local", "ray", "both"], default=None,
                        help="Override stack.runtime (both: local, then ray, side by side).")
    parser.add_argument("--ray-address", default=None,
                        help="A running Ray cluster (HOST:PORT or ray://HOST:PORT); by "
                        "default a two-node cluster is started on this machine.")
    args = parser.parse_args()
    experiment = Path(args.experiment).resolve()
    base: dict[str, object] = {"balancer": args.balancer} if args.balancer else {}
    console = Console(stderr=True)
    runtimes = {"both": ["local", "ray"], None: [None]}.get(args.runtime, [args.runtime])
    results: dict[str, tuple[object, float]] = {}
    cluster = None
    try:
        for runtime in runtimes:
            stack = dict(base)
            if runtime == "local":
                stack["runtime"] = "local"
            elif runtime == "ray":
                if args.ray_address is None:
                    started = time.perf_counter()
                    cluster = _two_node_cluster()
                    console.print(f"two-node Ray cluster started in "
                                  f"{time.perf_counter() - started:.1f} s "
                                  f"({cluster.address})")
                stack["runtime"] = "ray"
                stack["ray"] = {"address": args.ray_address or cluster.address}
            outcome, total = _run(experiment, stack, console)
            results[outcome.state.runtime] = (outcome, total)
    finally:
        if cluster is not None:
            import ray

            ray.shutdown()
            cluster.shutdown()
    table = Table(title=f"e2e: {experiment.name}")
    table.add_column("stage")
    for runtime in results:
        table.add_column(f"{runtime} (s)", justify="right")
    stages = list(dict.fromkeys(s for outcome, _ in results.values() for s in outcome.stages))
    for stage in stages:
        table.add_row(stage, *(f"{o.stages.get(stage, float('nan')):.2f}"
                               for o, _ in results.values()))
    table.add_row("total", *(f"{total:.2f}" for _, total in results.values()), style="bold")
    console.print(table)
    sys.exit(0 if all(o.valid for o, _ in results.values()) else 1)


if __name__ == "__main__":
    main()
