"""Fixtures for the local-runtime tests (helpers live in local_fixtures.py)."""

from local_fixtures import small_artifacts, workspace  # noqa: F401 (fixtures)
