"""Error codes a test result can carry instead of numbers (expected failures, not exceptions)."""

ZERO_VARIANCE = "ZERO_VARIANCE"  # both arms constant: no interval can be formed
NOT_ENOUGH_DATA = "NOT_ENOUGH_DATA"  # fewer than two users in an arm
ZERO_CONTROL_MEAN = "ZERO_CONTROL_MEAN"  # a relative effect is undefined
