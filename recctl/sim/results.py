"""What a simulation run produced: per-episode outcomes, per-day summaries, counters.

Summaries are computed over the episodes that completed; failed episodes are counted
and reported, never dropped silently. Standard errors are s / sqrt(n) with the sample
standard deviation (ddof = 1).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class MeanWithError:
    """A sample mean with its standard error."""

    n: int
    mean: float
    se: float

    @classmethod
    def of(cls, values: np.ndarray) -> MeanWithError:
        n = int(values.size)
        if n == 0:
            return cls(0, float("nan"), float("nan"))
        se = float(values.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
        return cls(n, float(values.mean()), se)


@dataclass(frozen=True)
class DaySummary:
    """One day's sessions: how many, how many failed, session time and steps."""

    day: int
    episodes: int
    failed: int
    session_time: MeanWithError
    steps: MeanWithError


@dataclass
class SimulationResult:
    """Every episode of a run (flat arrays, one entry per episode) plus request counters."""

    seed: int
    targets: list[str]
    day: np.ndarray  # int64 (E,)
    episode: np.ndarray  # int64 (E,) index within its day
    user: np.ndarray  # int64 (E,), -1 if the episode failed before it started
    session_time: np.ndarray  # float64 (E,) NaN for failed episodes
    steps: np.ndarray  # int64 (E,) recommendations received
    failed: np.ndarray  # bool (E,)
    acked_requests: int = 0  # requests answered 2xx (what the service logs)
    retried_requests: int = 0  # request attempts repeated after a failure
    acked_by_replica: dict[str, int] = field(default_factory=dict)  # x-botify-replica
    busy_retries: int = 0  # 503 + Retry-After answers waited out
    errors: list[str] = field(default_factory=list)  # examples, at most a few
    elapsed_seconds: float = 0.0

    @property
    def episodes(self) -> int:
        return int(self.day.size)

    @property
    def failed_episodes(self) -> int:
        return int(self.failed.sum())

    @property
    def failed_fraction(self) -> float:
        return self.failed_episodes / self.episodes if self.episodes else 0.0

    @property
    def episodes_per_second(self) -> float:
        return self.episodes / self.elapsed_seconds if self.elapsed_seconds > 0 else 0.0

    def day_summaries(self) -> list[DaySummary]:
        out = []
        for d in np.unique(self.day).tolist():
            mask = self.day == d
            ok = mask & ~self.failed
            out.append(DaySummary(day=d, episodes=int(mask.sum()),
                                  failed=int((mask & self.failed).sum()),
                                  session_time=MeanWithError.of(self.session_time[ok]),
                                  steps=MeanWithError.of(self.steps[ok].astype(np.float64))))
        return out

    def overall(self) -> DaySummary:
        """All days together, as one summary (day = -1)."""
        ok = ~self.failed
        return DaySummary(day=-1, episodes=self.episodes, failed=self.failed_episodes,
                          session_time=MeanWithError.of(self.session_time[ok]),
                          steps=MeanWithError.of(self.steps[ok].astype(np.float64)))

    def episode_frame(self) -> pd.DataFrame:
        """Per-episode stats as a DataFrame (day, episode, user, session_time, steps, failed)."""
        return pd.DataFrame({"day": self.day, "episode": self.episode, "user": self.user,
                             "session_time": self.session_time, "steps": self.steps,
                             "failed": self.failed})
