"""Fixtures for the simulator tests (defined in sim_fixtures.py, a uniquely named module)."""

from sim_fixtures import (  # noqa: F401 (fixtures)
    sim_experiments,
    small_world,
    start_replica,
    user_model,
)
