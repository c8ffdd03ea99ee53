"""Experiment files: the shipped ones parse; bad ones fail with the file, the key, the fix."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from recctl.artifacts import ArtifactWriter
from recctl.errors import RecctlError
from recctl.spec import load_experiment, parse_experiment

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"

GOOD = {
    "name": "exp_ok",
    "artifacts": "artifacts",
    "arms": {
        "C": {"type": "indexed", "params": {"artifact": "dssm"}, "fallback": {"type": "top_pop"}},
        "T1": {"type": "contextual_mod",
               "params": {"i2i": "i2i", "user_list": "dssm", "liked_threshold": 0.7}},
    },
}


@pytest.fixture()
def artifacts(tmp_path: Path) -> Path:
    with ArtifactWriter(tmp_path / "artifacts") as writer:
        writer.tracks({"track": t, "artist": f"a{t % 3}", "title": f"t{t}"} for t in range(10))
        writer.top_tracks(range(10))
        writer.user_lists("dssm", [(u, [1, 2, 3]) for u in range(5)])
        writer.item_lists("i2i", [(t, [(t + 1) % 10]) for t in range(10)])
        writer.finish(producer="test")
    return tmp_path / "artifacts"


def write(tmp_path: Path, body: object, name: str = "exp.yml") -> Path:
    path = tmp_path / name
    path.write_text(body if isinstance(body, str) else yaml.safe_dump(body))
    return path


@pytest.mark.parametrize("path", sorted(EXPERIMENTS.glob("*.yml")), ids=lambda p: p.name)
def test_shipped_experiments_parse(path: Path) -> None:
    loaded = parse_experiment(path)
    assert loaded.spec.arm_list[0] == "C"
    assert loaded.spec.data.is_absolute()


def test_good_file_loads_and_resolves_paths(tmp_path: Path, artifacts: Path) -> None:
    loaded = load_experiment(write(tmp_path, GOOD))
    assert loaded.spec.artifacts_dir == artifacts
    assert loaded.spec.arm_list == ["C", "T1"]
    assert len(loaded.config_hash) == 16


def test_config_hash_changes_with_content(tmp_path: Path, artifacts: Path) -> None:
    first = parse_experiment(write(tmp_path, GOOD, "a.yml")).config_hash
    changed = {**GOOD, "simulation": {"seed": 99}}
    assert parse_experiment(write(tmp_path, changed, "b.yml")).config_hash != first


def mutate(**changes: object) -> dict:
    body = yaml.safe_load(yaml.safe_dump(GOOD))
    for dotted, value in changes.items():
        node = body
        keys = dotted.split("__")
        for key in keys[:-1]:
            node = node[key]
        if value is KeyError:
            del node[keys[-1]]
        else:
            node[keys[-1]] = value
    return body


BAD = [
    ("unknown top-level key", mutate(colour="blue"), "colour: unknown key"),
    ("misspelt nested key", mutate(stack={"replica": 2}), "stack.replica: unknown key"),
    ("wrong type", mutate(simulation={"episodes": "many"}), "simulation.episodes"),
    ("negative replicas", mutate(stack={"replicas": 0}), "stack.replicas"),
    ("missing name", mutate(name=KeyError), "name: required key is missing"),
    ("bad arm names", mutate(arms={"A": {"type": "random"}, "B": {"type": "random"}}),
     "arms must be named C, T1"),
    ("split does not match arms", mutate(split=[0.5, 0.3, 0.2]), "split has 3 entries"),
    ("unequal split", mutate(split=[0.7, 0.3]), "split must be equal"),
    ("unknown control", mutate(report={"control": "T9"}), "report.control 'T9' is not an arm"),
    ("unknown metric", mutate(report={"metrics": ["clicks"]}), "unknown metric"),
    ("alpha out of range", mutate(report={"alpha": 1.5}), "report.alpha"),
    ("unknown runtime", mutate(stack={"runtime": "kubernetes"}), "stack.runtime"),
]


@pytest.mark.parametrize(("case", "body", "expected"), BAD, ids=[c for c, _, _ in BAD])
def test_bad_structure_names_file_and_key(tmp_path: Path, case: str, body: dict,
                                          expected: str) -> None:
    path = write(tmp_path, body)
    with pytest.raises(RecctlError) as info:
        parse_experiment(path)
    text = str(info.value)
    assert str(path) in text
    assert expected in text
    assert info.value.hint


def test_not_yaml_and_not_a_mapping(tmp_path: Path) -> None:
    with pytest.raises(RecctlError, match="not valid YAML"):
        parse_experiment(write(tmp_path, "name: [unclosed", "a.yml"))
    with pytest.raises(RecctlError, match="must be a mapping"):
        parse_experiment(write(tmp_path, "- just\n- a list\n", "b.yml"))
    with pytest.raises(RecctlError, match="not found"):
        parse_experiment(tmp_path / "missing.yml")


def test_yaml_tags_are_not_executed(tmp_path: Path) -> None:
    # safe_load refuses Python object tags instead of constructing them.
    with pytest.raises(RecctlError, match="not valid YAML"):
        parse_experiment(write(tmp_path, "name: !!python/object/apply:os.system ['true']\n"))


def test_missing_artifacts_folder(tmp_path: Path) -> None:
    with pytest.raises(RecctlError, match="artifacts folder .* does not exist") as info:
        load_experiment(write(tmp_path, GOOD))
    assert "recctl bootstrap" in (info.value.hint or "")


def test_unknown_recommender_type(tmp_path: Path, artifacts: Path) -> None:
    body = mutate(arms__T1={"type": "magic"})
    with pytest.raises(RecctlError, match=r"arms\.T1\.type: unknown recommender type 'magic'"):
        load_experiment(write(tmp_path, body))


def test_unknown_recommender_param(tmp_path: Path, artifacts: Path) -> None:
    body = mutate(arms__C={"type": "indexed", "params": {"artifact": "dssm", "size": 3}})
    with pytest.raises(RecctlError, match=r"arms\.C\.params\.size: unknown parameter"):
        load_experiment(write(tmp_path, body))


def test_bad_recommender_param_shows_the_value_and_the_known_ones(tmp_path: Path,
                                                                  artifacts: Path) -> None:
    # The experiment file and the bootstrap file share this check (spec.arm_problems).
    body = mutate(arms__C={"type": "top_pop", "params": {"k": 0, "kk": 3}})
    with pytest.raises(RecctlError) as info:
        load_experiment(write(tmp_path, body))
    lines = info.value.message.splitlines()
    assert lines[0].endswith(": invalid recommenders")
    assert "  arms.C.params.k: Input should be greater than or equal to 1 (got 0)" in lines
    assert ("  arms.C.params.kk: unknown parameter; remove it or check its spelling "
            "(known: artifact, k)") in lines


def test_missing_artifact_named_by_an_arm(tmp_path: Path, artifacts: Path) -> None:
    body = mutate(arms__C={"type": "indexed", "params": {"artifact": "lfm"}})
    with pytest.raises(RecctlError, match=r"arms\.C: needs artifact 'lfm'"):
        load_experiment(write(tmp_path, body))


def test_missing_artifact_in_a_bootstrap_folder_says_how_to_bring_it_up_to_date(
        tmp_path: Path, artifacts: Path) -> None:
    # A data folder from an older `recctl bootstrap` lacks a newer artifact (i2i_sound):
    # the hint names the command that rebuilds it.
    body = mutate(arms__C={"type": "contextual", "params": {"artifact": "i2i_sound"}})
    del body["artifacts"]
    body["data"] = str(tmp_path)  # a data folder: its artifacts/ is the fixture's
    with pytest.raises(RecctlError) as plain:
        load_experiment(write(tmp_path, body))
    assert "recctl bootstrap" not in str(plain.value)
    (tmp_path / "manifest.json").write_text("{}")  # what bootstrap leaves in a data folder
    with pytest.raises(RecctlError) as made:
        load_experiment(write(tmp_path, body))
    assert "needs artifact 'i2i_sound'" in str(made.value)
    assert f"recctl bootstrap --out {tmp_path}" in (made.value.hint or "")
    (tmp_path / "manifest.json").write_text('{"seed": 3}')  # rebuilt, it keeps its world
    with pytest.raises(RecctlError) as seeded:
        load_experiment(write(tmp_path, body))
    assert f"recctl bootstrap --out {tmp_path} --seed 3`" in (seeded.value.hint or "")


def test_fallback_is_checked_too(tmp_path: Path, artifacts: Path) -> None:
    body = mutate(arms__C={"type": "random", "fallback": {"type": "nope"}})
    with pytest.raises(RecctlError, match=r"arms\.C\.fallback\.type"):
        load_experiment(write(tmp_path, body))


# -- names, hosts and file format: one clear line each ---------------------------------


@pytest.mark.parametrize("name", [".", "..", "../escape", "a/b", ".hidden", "-dash", ""])
def test_names_that_would_escape_or_hide_a_folder_are_refused(tmp_path: Path,
                                                               name: str) -> None:
    with pytest.raises(RecctlError) as info:
        parse_experiment(write(tmp_path, mutate(name=name)))
    assert "name:" in info.value.message


@pytest.mark.parametrize("name", ["exp_ok", "a.b-c", "9lives"])
def test_ordinary_names_pass(tmp_path: Path, name: str) -> None:
    assert parse_experiment(write(tmp_path, mutate(name=name))).spec.name == name


def test_a_long_bad_value_is_quoted_in_80_characters(tmp_path: Path) -> None:
    bad = "/" * 5000
    with pytest.raises(RecctlError) as info:
        parse_experiment(write(tmp_path, mutate(name=bad)))
    message = info.value.message
    assert "\u2026" in message and len(message) < len(str(tmp_path)) + 300


def test_duplicate_keys_name_the_key_and_both_lines(tmp_path: Path) -> None:
    text = yaml.safe_dump(GOOD) + "stack:\n  replicas: 3\nstack:\n  replicas: 1\n"
    path = write(tmp_path, text)
    with pytest.raises(RecctlError) as info:
        parse_experiment(path)
    message = info.value.message
    assert str(path) in message and "'stack' appears twice" in message
    assert "\n" not in message and info.value.hint


def test_duplicate_nested_keys_too(tmp_path: Path) -> None:
    text = yaml.safe_dump(GOOD) + "simulation:\n  seed: 1\n  episodes: 5\n  seed: 2\n"
    with pytest.raises(RecctlError, match="'seed' appears twice"):
        parse_experiment(write(tmp_path, text))


def test_yaml_merge_keys_are_not_duplicates(tmp_path: Path) -> None:
    text = yaml.safe_dump(GOOD) + "base: &b {seed: 1}\n"
    text = text.replace("base: &b", "x-base: &b") + "simulation:\n  <<: *b\n  seed: 2\n"
    # x-base is an unknown key: the merge itself must not be reported as a duplicate.
    with pytest.raises(RecctlError) as info:
        parse_experiment(write(tmp_path, text))
    assert "unknown key" in info.value.message and "twice" not in info.value.message


def test_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yml"
    path.write_bytes(yaml.safe_dump(GOOD).encode() + "description: caf\xe9\n".encode("latin-1"))
    with pytest.raises(RecctlError) as info:
        parse_experiment(path)
    assert str(path) in info.value.message and "not UTF-8" in info.value.message
    assert "\n" not in info.value.message and "UTF-8" in (info.value.hint or "")


@pytest.mark.parametrize("host", ["no-such-host.invalid", "bad host!", "999.1.1.1", "a..b"])
def test_unusable_hosts_are_refused(tmp_path: Path, host: str) -> None:
    path = write(tmp_path, mutate(stack={"host": host}))
    with pytest.raises(RecctlError) as info:
        parse_experiment(path)
    message = info.value.message
    assert message.startswith(f"{path}: stack.host:") and "\n" not in message
    assert repr(host) in message and "127.0.0.1" in message


@pytest.mark.parametrize("host", ["127.0.0.1", "0.0.0.0", "localhost", "::1"])
def test_usable_hosts_pass(tmp_path: Path, host: str) -> None:
    assert parse_experiment(write(tmp_path, mutate(stack={"host": host}))).spec.stack.host == host


@pytest.mark.parametrize(("body", "expected"), [
    ("dup", "'arms' appears twice"),
    ("latin1", "not UTF-8"),
    ("host", "stack.host"),
])
def test_cli_prints_one_line_and_no_traceback(tmp_path: Path, body: str, expected: str) -> None:
    from typer.testing import CliRunner

    from recctl.cli.main import app

    path = tmp_path / "exp.yml"
    good = yaml.safe_dump(GOOD)
    if body == "dup":
        path.write_text(good + "arms: {C: {type: random}}\n")
    elif body == "latin1":
        path.write_bytes(good.encode() + b"description: \xff\xfe\n")
    else:
        path.write_text(yaml.safe_dump(mutate(stack={"host": "x" * 300 + ".invalid"})))
    result = CliRunner().invoke(app, ["status", str(path)])
    assert isinstance(result.exception, RecctlError), result.output
    message = result.exception.message
    assert expected in message and str(path) in message
    assert "\n" not in message and len(message) < len(str(path)) + 250
    assert result.exception.hint
