"""Numbers and names that more than one part of recctl must agree on, defined once.

A value here is a convention shared by the service, the simulator, training and the
report; changing one changes what they all mean by it.
"""

from __future__ import annotations

# The user-level metrics the report knows, in the order it shows them by default: the
# usual primary metric first, the latency guardrail last (docs/design.md, "Report").
METRICS = (
    "mean_time_per_session",
    "time",
    "sessions",
    "mean_tracks_per_session",
    "mean_request_latency",
)

# The report's roles by default: the metric the experiment is judged on, and the ones
# tested one-sided for harm (the latency: a treatment must not slow the service down).
PRIMARY_METRIC = "mean_time_per_session"
DEFAULT_GUARDRAILS = ("mean_request_latency",)

# A track listened to for at least this fraction of its length is "liked": the service
# remembers it as the user's last liked track (contextual recommenders start from it) and
# the in-process simulator does the same.
LIKED_THRESHOLD = 0.7

# A listen of at least this fraction is a positive example for training and offline
# evaluation (the course's "listened" threshold).
POSITIVE_THRESHOLD = 0.8

# The significance level when an experiment file or option does not set one.
DEFAULT_ALPHA = 0.05

# What services bind by default: this machine only (a secure default; 0.0.0.0 is opt-in).
LOOPBACK = "127.0.0.1"
