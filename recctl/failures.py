"""When failed episodes make a run's answer invalid (the simulator's exit code and the
report's verdict use the same rule). Imports nothing, so the report does not pull in the
simulator to apply it."""

DEFAULT_MAX_FAILED_FRACTION = 0.01  # simulation.max_failed_fraction's default


def failed_too_many(failed: int, episodes: int, max_fraction: float) -> bool:
    """More failed episodes than the allowed fraction (any at all when it is 0)."""
    return episodes > 0 and failed / episodes > max_fraction
