from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
import pytest
from rich.console import Console

from recctl.artifacts import ArtifactSet, file_sha256
from recctl.errors import RecctlError
from recctl.eventlog import find_log_files
from recctl.train.config import load_train_config
from recctl.train.pipeline import train
from tests.train.conftest import event, write_lines

FAST = load_train_config(overrides={"dssm": {"epochs": 4}, "i2i": {"min_time": 0.8}})


def _quiet() -> Console:
    return Console(file=open("/dev/null", "w"), width=100)  # noqa: SIM115


def test_train_writes_a_complete_artifact_set(synthetic_logs: Path, tmp_path: Path) -> None:
    result = train([synthetic_logs], tmp_path / "art", seed=3, config=FAST, console=_quiet())
    art = ArtifactSet(result.out)
    assert set(art.names()) == {"tracks", "top_tracks", "i2i", "i2i_diverse", "dssm", "lfm"}
    assert len(art.top_tracks()) == 100
    lists = dict(art.user_lists("dssm"))
    assert len(lists) == 300 and all(len(v) == 100 for v in lists.values())
    assert all(len(recs) <= 100 for _, recs in art.item_lists("i2i"))
    manifest = art.manifest
    files = find_log_files([synthetic_logs])
    assert len(files) > 2  # replicas and rotated files
    assert {i["path"]: i["sha256"] for i in manifest["inputs"]} == {
        str(f): file_sha256(f) for f in files
    }
    assert manifest["seed"] == 3 and manifest["parameters"]["dssm"]["epochs"] == 4
    assert manifest["code_version"]["recctl"]
    # What decides the floating-point results (docs: one seed fixes one machine's bytes).
    environment = manifest["environment"]
    assert environment["numpy"] == np.__version__
    assert environment["blas"] and all(b["kernel"] for b in environment["blas"])
    by = {(r["artifact"], r["task"]): r for r in manifest["evaluation"]["rows"]}
    assert by[("dssm", "user")]["ndcg@10"] > by[("top_tracks", "user")]["ndcg@10"]
    assert by[("i2i", "next")]["recall@100"] > by[("top_tracks", "next")]["recall@100"]
    # Placeholder catalog: one row per track seen.
    assert manifest["catalog"]["source"] == "placeholder"


def test_same_seed_same_artifacts(synthetic_logs: Path, tmp_path: Path) -> None:
    a = train([synthetic_logs], tmp_path / "a", seed=5, config=FAST, console=_quiet())
    b = train([synthetic_logs], tmp_path / "b", seed=5, config=FAST, console=_quiet())
    for name in ("dssm", "i2i", "top_tracks"):
        assert a.manifest is not None
        assert (a.out / f"{name}.json").read_bytes() == (b.out / f"{name}.json").read_bytes()


def test_catalog_is_shipped_and_limits_artists_in_diverse_lists(tmp_path: Path) -> None:
    # Track 0 is followed by tracks 1..6, all liked; 1-5 by one artist.
    events = []
    t = 0
    for rep in range(6):
        for nxt in range(1, 7):
            t += 10
            events += [event("next", t, rep, 0, 1.0), event("last", t + 1, rep, nxt, 1.0, None)]
    write_lines(tmp_path / "logs" / "data.json", events)
    catalog = tmp_path / "tracks.json"
    catalog.write_bytes(
        b"".join(
            orjson.dumps({"track": i, "artist": "A" if 1 <= i <= 5 else f"B{i}", "title": f"t{i}"})
            + b"\n"
            for i in range(8)
        )
    )
    config = load_train_config(
        overrides={
            "i2i": {"per_artist": 2},
            "dssm": {"epochs": 1},
            "evaluation": {"holdout_fraction": 0.0},
        }
    )
    out = train(
        [tmp_path / "logs"], tmp_path / "art", catalog=catalog, config=config, console=_quiet()
    ).out
    art = ArtifactSet(out)
    assert len(list(art.tracks())) == 8
    diverse = dict(art.item_lists("i2i_diverse"))[0]
    assert len([t for t in diverse if 1 <= t <= 5]) == 2 and 6 in diverse
    assert len([t for t in dict(art.item_lists("i2i"))[0] if 1 <= t <= 5]) == 5


def test_malformed_lines_are_skipped_counted_and_reported(tmp_path: Path) -> None:
    write_lines(
        tmp_path / "logs" / "data.json",
        [
            event("next", 1, 1, 10, 1.0),
            b"{not json\n",
            b'{"message": "next"}\n',
            event("next", 2, 1, 11, 0.9),
            event("last", 3, 1, 12, 1.0, None),
        ],
    )
    out = Console(file=(buffer := __import__("io").StringIO()), width=200, color_system=None)
    result = train([tmp_path / "logs"], tmp_path / "art", config=FAST, console=out)
    assert result.manifest["read"]["malformed"] == 2
    assert len(result.manifest["read"]["malformed_examples"]) == 2
    assert "skipped 2 malformed line(s)" in buffer.getvalue()


@pytest.mark.parametrize("case", ["missing", "empty", "garbage", "no_positive"])
def test_bad_input_raises_a_clear_error_and_leaves_nothing(tmp_path: Path, case: str) -> None:
    logs = tmp_path / "logs"
    if case == "empty":
        logs.mkdir()
    elif case == "garbage":
        write_lines(logs / "data.json", [b"nope\n", b"[1, 2]\n"])
    elif case == "no_positive":
        write_lines(
            logs / "data.json", [event("next", 1, 1, 10, 0.1), event("last", 2, 1, 11, 0.3, None)]
        )
    expected = {
        "missing": "does not exist",
        "empty": "no event-log files",
        "garbage": "no valid events",
        "no_positive": "no positive listen",
    }[case]
    with pytest.raises(RecctlError, match=expected) as info:
        train([logs], tmp_path / "art", config=FAST, console=_quiet())
    assert info.value.hint
    assert not (tmp_path / "art").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".art")]


def test_existing_output_is_refused_unless_overwrite(synthetic_logs: Path, tmp_path: Path) -> None:
    (tmp_path / "art").mkdir()
    with pytest.raises(RecctlError, match="already exists"):
        train([synthetic_logs], tmp_path / "art", config=FAST, console=_quiet())
