"""Why diversity buys nothing for recctl's i2i, and where it would: lists made from the
world's own track embeddings, plain and artist-diversified, against the learned lists.

    python bench/content_lists.py [--data data/default] [--noise 0 0.5 1] [--episodes N]

recctl's i2i lists are learned from logs. Under the user model's artist fatigue a
same-artist follow-up is seldom listened to in full, so those lists hold ~0% of the
anchor's artist and capping artists changes nothing (i2i_diverse ties i2i). The course's
i2i lists seem to be nearest neighbours in an embedding space. This script builds such
lists from the simulated world's hidden embeddings (cosine nearest neighbours, optionally
with Gaussian noise added per dimension first, a stand-in for content features that only
partly reflect taste): `content` (the 20 nearest), and `content_diverse` (from the 200
nearest: no track of the anchor's artist, at most one per artist, 20 in all). Both are
oracles (they read the taste space the simulated users listen in), so they are a
diagnostic here, not arms to ship. What ships is the same pair made from the world's
public sound features (recctl.train.sound: i2i_sound, i2i_sound_diverse), where an
artist's sound only blurs their place in taste (config/world.yml, sound_norm). The
table runs them in-process next to random, sticky_artist, the learned i2i and DSSM, on
the same episodes, for each noise level.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml
from scipy import stats
from world_calibration import FIRST_TRACK, ROOT, copy_artifacts, table

from recctl.bootstrap import ab_experiment
from recctl.sim.world_io import load_world
from recctl.topk import top_k_products

LIST_LENGTH = 20
POOL = 200  # nearest neighbours the diversified list picks from

ARMS = {
    "C": {"type": "random"},
    "T1": {"type": "sticky_artist", "fallback": {"type": "random"}},
    "T2": {"type": "contextual", "params": {"artifact": "i2i"}, "fallback": {"type": "random"}},
    "T3": {"type": "contextual", "params": {"artifact": "content"},
           "fallback": {"type": "random"}},
    "T4": {"type": "contextual", "params": {"artifact": "content_diverse"},
           "fallback": {"type": "random"}},
    "T5": {"type": "indexed", "params": {"artifact": "dssm"}, "fallback": {"type": "top_pop"}},
}
LABELS = {"C": "random", "T1": "sticky_artist", "T2": "i2i (learned)", "T3": "content",
          "T4": "content_diverse", "T5": "dssm"}


def content_lists(embeddings: np.ndarray, artist: np.ndarray, noise: float,
                  rng: np.random.Generator) -> tuple[np.ndarray, list[list[int]]]:
    """(n, 20) plain nearest neighbours, and the artist-diversified lists."""
    seen = embeddings + rng.normal(0.0, noise, embeddings.shape).astype(np.float32) \
        if noise else embeddings
    unit = seen / np.linalg.norm(seen, axis=1, keepdims=True)
    nearest = top_k_products(unit, unit, POOL + 1)
    plain = np.empty((len(unit), LIST_LENGTH), dtype=np.int64)
    diverse = []
    for track, row in enumerate(nearest):
        row = row[row != track]
        plain[track] = row[:LIST_LENGTH]
        artists = {artist[track]}
        picked = []
        for candidate in row:
            if artist[candidate] not in artists:
                artists.add(artist[candidate])
                picked.append(int(candidate))
                if len(picked) == LIST_LENGTH:
                    break
        diverse.append(picked)
    return plain, diverse


def data_folder_with(data: Path, out: Path, plain: np.ndarray,
                     diverse: list[list[int]]) -> None:
    """A data folder that is `data` (world linked, artifacts copied) plus the two lists."""
    out.mkdir(parents=True)
    (out / "world").symlink_to((data / "world").resolve())
    copy_artifacts(data / "artifacts", out / "artifacts",
                   {"content": enumerate(plain.tolist()), "content_diverse": enumerate(diverse)},
                   producer="bench/content_lists.py")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "default")
    parser.add_argument("--noise", type=float, nargs="+", default=[0.0, 0.5, 1.0],
                        help="standard deviation of the noise added to each dimension")
    parser.add_argument("--episodes", type=int, default=10_000, help="episodes per arm")
    parser.add_argument("--seed", type=int, default=7, help="simulation seed")
    args = parser.parse_args()
    z = float(stats.norm.ppf(0.975))
    world = load_world(args.data / "world")
    for noise in args.noise:
        clock = time.perf_counter()
        plain, diverse = content_lists(world.embeddings.astype(np.float32), world.track_artist,
                                       noise, np.random.default_rng(0))
        same = float(np.mean(world.track_artist[plain] == world.track_artist[:, None]))
        with tempfile.TemporaryDirectory(prefix="content-lists-") as tmp:
            data = Path(tmp) / "data"
            data_folder_with(args.data, data, plain, diverse)
            experiment = Path(tmp) / "content.yml"
            experiment.write_text(yaml.safe_dump(
                {"name": "content_lists", "data": str(data), "arms": ARMS,
                 "report": {"control": "C"}}, sort_keys=False))
            rows = ab_experiment(experiment, episodes=args.episodes, seed=args.seed)
        print(f"\nnoise {noise}: content lists hold {same:.1%} of the anchor's artist "
              f"· {args.episodes:,} episodes an arm · {time.perf_counter() - clock:.1f} s")
        table({LABELS[k]: {**v, "session_time": v["session_time"] + FIRST_TRACK}
               for k, v in rows.items()}, "random", z)


if __name__ == "__main__":
    main()
