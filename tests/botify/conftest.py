"""Fixtures for the service tests (defined in botify_fixtures.py, a uniquely named module)."""

from botify_fixtures import artifacts_dir, replica, replica_factory  # noqa: F401 (fixtures)
