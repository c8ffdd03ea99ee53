"""How long `recctl up` takes, for one or more source trees, alternating run by run.

Made to measure what the stack's Redis persistence (an append-only file in the run
folder) costs at start-up, where the replicas load the artifacts into that Redis:
compare this checkout with a copy of the code before the change, e.g.

    git archive main | tar -x -C /tmp/recctl-main
    python bench/stack_up.py experiments/contextualmod-vs-dssm.yml \
        --tree before=/tmp/recctl-main --tree after=. --rounds 5

Each `up` is a fresh process (`python -m recctl up FILE`), timed until it returns (every
replica ready, the balancer answering), then `down`; the trees take turns, so a load
change on the machine hits both alike. Prints the median, min and max per tree.

`--load-only` times just the part persistence changes, with less noise: loading the
experiment's artifacts into a fresh Redis with and without the append-only file (taking
turns), and the file's size.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed_up(tree: Path, experiment: Path, home: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(tree), "RECCTL_HOME": str(home)}
    command = [sys.executable, "-m", "recctl"]
    start = time.perf_counter()
    done = subprocess.run([*command, "up", str(experiment)], env=env, capture_output=True,
                          text=True, check=False)
    elapsed = time.perf_counter() - start
    subprocess.run([*command, "down", str(experiment)], env=env, capture_output=True,
                   check=False)
    if done.returncode != 0:
        raise SystemExit(f"`recctl up` failed with {tree}:\n{done.stderr}")
    return elapsed


def timed_load(artifacts: Path, persist: bool, scratch: Path) -> tuple[float, int]:
    from recctl.artifacts import ArtifactSet
    from recctl.botify.keys import Keys
    from recctl.botify.loader import ArtifactLoader
    from recctl.stack.redis_server import RedisServer, new_password

    workdir = Path(tempfile.mkdtemp(dir=scratch))
    server = RedisServer(workdir=workdir, password=new_password(), persist=persist).start()
    try:
        found = ArtifactSet(artifacts)
        units = {name: info.kind for name, info in found.infos.items()}
        client = server.client(socket_timeout=60)
        start = time.perf_counter()
        ArtifactLoader(client, found, Keys(found.content_hash()), units).ensure()
        elapsed = time.perf_counter() - start
        client.close()
        aof = workdir / "appendonly.aof"
        size = aof.stat().st_size if aof.exists() else 0
    finally:
        server.stop()
    return elapsed, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("experiment", type=Path)
    parser.add_argument("--tree", action="append", default=[],
                        help="LABEL=PATH of a source tree (repeat); default: this checkout")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--load-only", action="store_true",
                        help="time loading the artifacts into Redis, with and without AOF")
    args = parser.parse_args()
    if args.load_only:
        load_only(args.experiment, args.rounds)
        return
    trees = [tuple(t.split("=", 1)) for t in args.tree] or [("this", ".")]
    times: dict[str, list[float]] = {label: [] for label, _ in trees}
    with tempfile.TemporaryDirectory(prefix="recctl-bench-up-") as scratch:
        for round_ in range(args.rounds):
            for label, path in trees:
                seconds = timed_up(Path(path).resolve(), args.experiment.resolve(),
                                   Path(scratch) / label)
                times[label].append(seconds)
                print(f"round {round_ + 1}: {label} {seconds:.2f} s", file=sys.stderr)
    print(f"{'tree':<10} {'runs':>4} {'median s':>9} {'min s':>7} {'max s':>7}")
    for label, values in times.items():
        print(f"{label:<10} {len(values):>4} {statistics.median(values):>9.2f} "
              f"{min(values):>7.2f} {max(values):>7.2f}")


def load_only(experiment: Path, rounds: int) -> None:
    from recctl.spec import load_experiment

    artifacts = load_experiment(experiment).spec.artifacts_dir
    times: dict[bool, list[float]] = {False: [], True: []}
    size = 0
    with tempfile.TemporaryDirectory(prefix="recctl-bench-load-") as scratch:
        for round_ in range(rounds):
            for persist in (False, True):
                seconds, written = timed_load(artifacts, persist, Path(scratch))
                times[persist].append(seconds)
                size = max(size, written)
                print(f"round {round_ + 1}: aof={persist} {seconds:.3f} s", file=sys.stderr)
    print(f"{'redis':<12} {'runs':>4} {'median s':>9} {'min s':>7} {'max s':>7}")
    for persist, values in times.items():
        label = "appendonly" if persist else "no persist"
        print(f"{label:<12} {len(values):>4} {statistics.median(values):>9.3f} "
              f"{min(values):>7.3f} {max(values):>7.3f}")
    print(f"append-only file after loading: {size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
