"""The all-recommenders table in-process, in seconds: how the world ranks the recommenders.

    python bench/world_calibration.py [--data DIR] [--episodes N] [--seeds 7 8]
    python bench/world_calibration.py --bootstrap [--config my-bootstrap.yml] [--seed 0]
    python bench/world_calibration.py --sound-norm 3.4 3.9 4.5

Without --bootstrap it reuses a data folder (world + artifacts, default data/default), so
a change to the recommenders or the user model shows in a few seconds. With --bootstrap it
first builds a fresh data folder into a temporary directory (a world or training knob:
~1.5 min for the defaults) and keeps it if --out is given.

Every arm of the experiment file (default experiments/all-recommenders.yml) runs on the
same simulated episodes in-process (recctl.bootstrap.ab_experiment); each row is the
arm's mean time per session as the report counts it (the session's first track, always
listened to in full, included: the simulator's session time + 1) and its effect against
the control with a 95% interval (delta method on the ratio of means, the arms treated as
independent samples, as in an A/B with different users). Then each arm against the next
best one, to read the ordering. First it prints what the item lists are made of: the
share of their tracks by the anchor's artist (what i2i_diverse's per-artist cap acts on)
and in the anchor's genre.

--sound-norm remakes only the world's sound features and the lists made from them (the
world's generator with that value, the same seed; the logs and the other models are the
folder's own), so that knob's effect shows in seconds, one table per value.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from rich.console import Console
from scipy import stats

from recctl.artifacts import ArtifactSet, ArtifactWriter
from recctl.bootstrap import ab_experiment, bootstrap, load_bootstrap_config
from recctl.recommenders import MemoryStore
from recctl.sim.world import WorldParams, generate_world
from recctl.sim.world_io import SOUND_FILE, load_world
from recctl.train.catalog import load_catalog
from recctl.train.config import load_train_config
from recctl.train.pipeline import sound_item_lists

ROOT = Path(__file__).resolve().parent.parent
FIRST_TRACK = 1.0  # the report's session time counts the first track, listened in full


def ratio_interval(t: dict, c: dict, z: float) -> tuple[float, float, float]:
    """Effect t/c - 1 and its interval by the delta method."""
    ratio = t["session_time"] / c["session_time"]
    rel = math.hypot(t["session_time_se"] / t["session_time"],
                     c["session_time_se"] / c["session_time"])
    return ratio - 1, ratio * (1 - z * rel) - 1, ratio * (1 + z * rel) - 1


def pointed_experiment(experiment: Path, data: Path, tmp: Path) -> tuple[Path, dict[str, str]]:
    """A copy of the experiment file whose `data:` is `data`, and each arm's label."""
    raw = yaml.safe_load(experiment.read_text())
    raw["data"] = str(data.resolve())
    held = {p.stem for p in (data / "artifacts").glob("*.json")}
    for key, spec in list(raw["arms"].items()):
        needed = {v for k, v in (spec.get("params") or {}).items()
                  if k in ("artifact", "user_list", "i2i")}
        if needed - held:  # e.g. an older data folder without `lfm`
            print(f"arm {key} left out: {data} has no artifact {', '.join(needed - held)}")
            del raw["arms"][key]
    # The hash wants C, T1, T2, ... in order: renumber, remembering the file's names.
    names = ["C"] + [f"T{i}" for i in range(1, len(raw["arms"]))]
    raw["arms"] = {new: {**spec, "x-name": old}
                   for new, (old, spec) in zip(names, raw["arms"].items(), strict=True)}
    raw.pop("artifacts", None)
    raw.pop("world", None)
    path = tmp / experiment.name
    labels = {key: _label(spec.pop("x-name"), spec) for key, spec in raw["arms"].items()}
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path, labels


def copy_artifacts(source_dir: Path, out: Path, item_lists: dict[str, Iterable[Any]],
                   producer: str) -> None:
    """An artifacts folder that is `source_dir`'s with `item_lists` added or replaced."""
    source = ArtifactSet(source_dir)
    with ArtifactWriter(out) as writer:
        writer.tracks(source.tracks())
        writer.top_tracks(source.top_tracks())
        for name in source.names("user_list"):
            writer.user_lists(name, source.user_lists(name))
        for name in source.names("item_list"):
            if name not in item_lists:
                writer.item_lists(name, source.item_lists(name))
        for name, rows in item_lists.items():
            writer.item_lists(name, rows)
        writer.finish(producer=producer)


def with_sound_norm(data: Path, sound_norm: float, out: Path) -> Path:
    """A data folder that is `data` with the world's sound remade at `sound_norm` and the
    sound lists remade from it; every other file is the folder's own (linked or copied)."""
    manifest = yaml.safe_load((data / "world" / "manifest.json").read_text())
    params = WorldParams(**{**manifest["params"], "sound_norm": sound_norm})
    world = generate_world(params, manifest["seed"])
    if not np.array_equal(world.embeddings, load_world(data / "world").embeddings):
        raise SystemExit(f"{data}/world was not made by this generator: cannot remake its sound")
    (out / "world").mkdir(parents=True)
    for file in (data / "world").iterdir():
        if file.name != SOUND_FILE:
            (out / "world" / file.name).symlink_to(file.resolve())
    np.save(out / "world" / SOUND_FILE, world.sound)
    lists = sound_item_lists(load_catalog(out / "world" / "tracks.json"), load_train_config())
    copy_artifacts(data / "artifacts", out / "artifacts",
                   {name: item_lists.rows() for name, item_lists in lists.items()},
                   producer=f"bench/world_calibration.py --sound-norm {sound_norm}")
    return out


def list_composition(data: Path) -> None:
    """Per item list: anchors, mean length, share by the anchor's artist / in its genre."""
    world = load_world(data / "world")
    store = MemoryStore.from_artifacts(data / "artifacts")
    for name, lists in sorted(store.item_tables.items()):
        anchors = np.arange(world.n_tracks)
        candidates, lengths = lists.rows(anchors)
        anchors, candidates, lengths = anchors[lengths > 0], candidates[lengths > 0], \
            lengths[lengths > 0]
        valid = np.arange(candidates.shape[1])[None, :] < lengths[:, None]
        picked = np.where(valid, candidates, 0)
        artist = (world.track_artist[picked] == world.track_artist[anchors][:, None]) & valid
        line = (f"item list {name}: {len(anchors):,} anchors, {lengths.mean():.1f} tracks "
                f"each, {artist.sum() / valid.sum():.1%} by the anchor's artist")
        if world.track_genre is not None:
            genre = (world.track_genre[picked] == world.track_genre[anchors][:, None]) & valid
            line += f", {genre.sum() / valid.sum():.1%} in its genre"
        print(line)


def table(rows: dict[str, dict], control: str, z: float) -> None:
    c = rows[control]
    width = max(18, *(len(name) for name in rows))
    print(f"{'arm':{width}s} {'time/session':>14s} {'steps':>6s}   "
          f"effect vs {control} [95% interval]")
    for name, row in rows.items():
        line = f"{name:{width}s} {row['session_time']:7.3f} ± {row['session_time_se']:.3f} " \
               f"{row['steps']:6.2f}"
        if name != control:
            eff, lo, hi = ratio_interval(row, c, z)
            line += f"   {eff:+7.1%} [{lo:+.1%}, {hi:+.1%}]"
        print(line)
    ranked = sorted(rows, key=lambda n: rows[n]["session_time"])
    print("ordering, each arm against the one just below it:")
    for low, high in zip(ranked, ranked[1:], strict=False):
        eff, lo, hi = ratio_interval(rows[high], rows[low], z)
        tie = "  (tied)" if lo <= 0 <= hi else ""
        print(f"  {high:>{width}s} vs {low:{width}s} {eff:+7.1%} [{lo:+.1%}, {hi:+.1%}]{tie}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "default")
    parser.add_argument("--experiment", type=Path,
                        default=ROOT / "experiments" / "all-recommenders.yml")
    parser.add_argument("--episodes", type=int, default=10_000, help="episodes per arm")
    parser.add_argument("--seeds", type=int, nargs="+", default=[7],
                        help="simulation seeds (one table each)")
    parser.add_argument("--bootstrap", action="store_true",
                        help="bootstrap a fresh data folder first (into --out or a temp dir)")
    parser.add_argument("--config", type=Path, default=None, help="bootstrap config file")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap (world) seed")
    parser.add_argument("--out", type=Path, default=None, help="keep the bootstrapped folder")
    parser.add_argument("--sound-norm", type=float, nargs="+", default=None,
                        help="remake the sound lists at these world sound_norm values "
                             "(one table each)")
    args = parser.parse_args()
    z = float(stats.norm.ppf(0.975))
    with tempfile.TemporaryDirectory(prefix="world-calibration-") as tmp:
        data = args.data
        if args.bootstrap:
            data = args.out or Path(tmp) / "data"
            clock = time.perf_counter()
            result = bootstrap(data, seed=args.seed, config=load_bootstrap_config(args.config),
                               force=True, console=Console(stderr=True))
            timings = {k: round(v, 1) for k, v in result.manifest["timings"].items()}
            print(f"bootstrap: {time.perf_counter() - clock:.1f} s, stages done at {timings}")
        variants = [(None, data)] if args.sound_norm is None else [
            (value, with_sound_norm(data, value, Path(tmp) / f"sound-{value}"))
            for value in args.sound_norm]
        for sound_norm, folder in variants:
            if sound_norm is not None:
                print(f"\n=== sound_norm {sound_norm} ===")
            list_composition(folder)
            experiment, labels = pointed_experiment(args.experiment, folder, Path(tmp))
            control = yaml.safe_load(experiment.read_text()).get("report", {}).get("control", "C")
            for seed in args.seeds:
                clock = time.perf_counter()
                rows = ab_experiment(experiment, episodes=args.episodes, seed=seed)
                named = {labels[k]: {**v, "session_time": v["session_time"] + FIRST_TRACK}
                         for k, v in rows.items()}
                print(f"\n{data} · seed {seed} · {args.episodes:,} episodes an arm "
                      f"· {time.perf_counter() - clock:.1f} s")
                table(named, labels[control], z)

def _label(key: str, spec: dict) -> str:
    params = spec.get("params") or {}
    detail = params.get("artifact")
    return f"{key} {detail or spec['type']}"


if __name__ == "__main__":
    main()
