"""Error codes a test result can carry instead of numbers (expected failures, not exceptions)."""

ZERO_VARIANCE = "ZERO_VARIANCE"  # both arms constant: no interval can be formed
NOT_ENOUGH_DATA = "NOT_ENOUGH_DATA"  # fewer than two users in an arm
ZERO_CONTROL_MEAN = "ZERO_CONTROL_MEAN"  # a relative effect is undefined
UNKNOWN_ARM = "UNKNOWN_ARM"  # the logs name an arm the experiment file does not have

EXPLANATIONS = {
    ZERO_VARIANCE: "every user has the same value in both arms",
    NOT_ENOUGH_DATA: "fewer than two users in an arm",
    ZERO_CONTROL_MEAN: "the control mean is 0, so a relative effect is undefined",
    UNKNOWN_ARM: "the arm is not in the experiment file",
}


def error_code(value: object) -> str | None:
    """The row's error code, or None. pandas 3 stores "no error" in a string column as NaN
    (which is truthy), pandas 2 as None: read the column through this, never `if row.error`."""
    return value if isinstance(value, str) and value else None
