"""The simulated world and the users who listen to it.

- world.py / world_io.py: generate, save and load a world (catalog, embeddings, users);
  names.py: artist names and track titles; knn.py: exact inner-product neighbours
- user_model.py: the user model's parameters (config/user_model.yml)
- response.py: listen time and budget (the choice model)
- session.py: one session step by step; inprocess.py: many, vectorised;
  streams.py: the counter-based random streams that make a run reproducible
- http_runner.py: users talking to the service over HTTP (replica_client.py: round robin
  with failover); monitor.py: the live A/B effect; results.py, rendering.py
- serving.py: the recommenders (recctl.recommenders) served in-process, as the service
  serves them; agents.py: test policies (oracle, scalar); gym_env.py: a gymnasium Env
"""

from recctl.sim.http_runner import run_http_simulation
from recctl.sim.inprocess import InProcessResult, Policy, StepBatch, simulate_in_process
from recctl.sim.results import DaySummary, SimulationResult
from recctl.sim.user_model import UserModel, load_user_model
from recctl.sim.world import World, WorldParams, generate_world
from recctl.sim.world_io import build_world, load_world, load_world_params, save_world

__all__ = [
    "DaySummary", "InProcessResult", "Policy", "SimulationResult", "StepBatch", "UserModel",
    "World", "WorldParams", "build_world", "generate_world", "load_user_model", "load_world",
    "load_world_params", "run_http_simulation", "save_world", "simulate_in_process",
]
