"""The report on in-process simulator logs (latency 0 on every line), as small as a
60-episode run: it exits 0 with every output and every verdict it can give."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from recctl.assignment import assign
from recctl.cli.main import app
from recctl.sim.inprocess import simulate_in_process
from recctl.sim.serving import random_policy
from recctl.sim.user_model import load_user_model
from recctl.sim.world import WorldParams, generate_world


def test_sixty_episodes_of_in_process_traffic(tmp_path: Path) -> None:
    world = generate_world(WorldParams(tracks=2_000, users=500), seed=3)
    arms = ["C", "T1", "T2"]
    log = tmp_path / "run" / "inprocess" / "data.json"
    simulate_in_process(world, load_user_model(), random_policy(world.n_tracks), episodes=60,
                        seed=5, log_path=log, experiment="tiny",
                        arm_of=lambda users: [assign(int(u), "tiny", arms) for u in users])
    (tmp_path / "run" / "experiment.yml").write_text(
        "name: tiny\narms:\n" + "".join(f"  {a}: {{type: random}}\n" for a in arms))
    result = CliRunner().invoke(app, ["report", str(tmp_path / "run"), "--out",
                                      str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert {p.name for p in (tmp_path / "out").iterdir()} == {
        "report.md", "report.json", "comparisons.csv", "arms.csv", "effects.png",
        "manifest.json"}
    data = json.loads((tmp_path / "out" / "report.json").read_text())
    rows = {(r["arm"], r["metric"]): r for r in data["comparisons"]}
    assert {r["error"] for k, r in rows.items() if k[1] == "mean_request_latency"} == {
        "ZERO_CONTROL_MEAN"}
    primary = [r for r in data["comparisons"] if r["role"] == "primary"]
    assert len(primary) == 2 and all(r["error"] is None and r["lower"] is not None
                                     for r in primary)
    assert "could not be tested (nan)" not in result.output
    assert "T1 vs C: mean_time_per_session" in result.output
