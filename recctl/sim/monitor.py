"""The live A/B effect while simulating: sequential testing on the simulator's own episodes.

The simulator knows every finished episode's user and session time, and a user's arm is
the assignment hash (recctl.assignment), so it can compute the primary metric per
user and compare the arms as it goes. Every `peek_every` episodes the monitor prints the
running effect with its always-valid interval (recctl.stats.sequential), which stays
valid however often it is looked at; with `stop_early` the simulation stops the first
time an interval excludes 0. These are the simulator's measurements, not the report's
(the report reads the service's logs), so the final verdict is still the report's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from rich.console import Console

from recctl.assignment import arm_index
from recctl.constants import DEFAULT_ALPHA, PRIMARY_METRIC
from recctl.stats.power import expected_distinct_users
from recctl.stats.sequential import SequentialResult, confidence_sequence
from recctl.stats.statistics import SampleMeanStatistic

# Primary metrics the simulator can compute per user (others fall back to the first).
MONITORED = ("mean_time_per_session", "time", "mean_tracks_per_session")
# What the event log holds beyond the simulator's counts, so that the live figures are the
# report's metrics: a session's first track (listened in full, time 1.0) and, besides
# one `next` a recommendation, the closing `last` event.
FIRST_TRACK_TIME = 1.0
EVENTS_BEYOND_STEPS = 1


@dataclass(frozen=True)
class Peek:
    """One look: episodes completed so far and each treatment arm's running interval."""

    episodes: int
    results: dict[str, SequentialResult | None]

    @property
    def conclusive(self) -> bool:
        return any(r is not None and r.conclusive for r in self.results.values())


@dataclass
class SequentialMonitor:
    """Accumulates per-user sums from finished episodes and peeks every `peek_every`.

    Args:
        experiment, arms, control: the assignment hash's experiment name and arm names.
        n_users: the world's population (user ids are 0..n_users-1).
        planned_episodes: the run's episodes; the sequence is tuned to be tightest at
            the users they are expected to reach.
        alpha: the family's level; split over the treatment arms (Bonferroni), as the
            report corrects the primary metric across treatment arms.
    """

    experiment: str
    arms: list[str]
    n_users: int
    planned_episodes: int
    control: str = "C"
    metric: str = PRIMARY_METRIC
    alpha: float = DEFAULT_ALPHA
    peek_every: int = 500
    stop_early: bool = False
    console: Console | None = None
    peeks: list[Peek] = field(default_factory=list)
    stop_reason: str | None = None
    episodes: int = 0
    failed: int = 0

    def __post_init__(self) -> None:
        if self.metric not in MONITORED:
            self.metric = MONITORED[0]
        if self.control not in self.arms:
            raise ValueError(f"control {self.control!r} is not among the arms {self.arms}")
        users = range(self.n_users)
        self.arm_of_user = np.fromiter((arm_index(u, self.experiment, len(self.arms))
                                        for u in users), dtype=np.int64, count=self.n_users)
        self.time = np.zeros(self.n_users)
        self.steps = np.zeros(self.n_users)
        self.sessions = np.zeros(self.n_users, dtype=np.int64)
        self.n_star = max(expected_distinct_users(self.n_users, self.planned_episodes), 2.0)
        treatments = max(len(self.arms) - 1, 1)
        self.arm_alpha = self.alpha / treatments

    def on_episode(self, user: int, session_time: float, steps: int, failed: bool) -> bool:
        """The simulator's hook: count the episode; True when the run should stop now.

        `session_time` and `steps` are the simulator's (recommended tracks only)."""
        if failed or user < 0:
            self.failed += 1
            return False
        self.time[user] += session_time + FIRST_TRACK_TIME
        self.steps[user] += steps + EVENTS_BEYOND_STEPS
        self.sessions[user] += 1
        self.episodes += 1
        if self.episodes % self.peek_every:
            return False
        peek = self.peek()
        if self.console is not None:
            self.console.print(self.line(peek), highlight=False)
        if self.stop_early and peek.conclusive and self.stop_reason is None:
            self.stop_reason = (f"stopped early after {peek.episodes:,} episodes: "
                                + self._conclusive_text(peek))
            return True
        return False

    def add(self, users: np.ndarray, session_time: np.ndarray, steps: np.ndarray) -> None:
        """Count many finished episodes at once, without peeking (in-process runs); the
        arguments are the simulator's, as in `on_episode`."""
        np.add.at(self.time, users, session_time + FIRST_TRACK_TIME)
        np.add.at(self.steps, users, steps + EVENTS_BEYOND_STEPS)
        np.add.at(self.sessions, users, 1)
        self.episodes += len(users)

    def values(self) -> tuple[np.ndarray, np.ndarray]:
        """The monitored metric per seen user, and each one's arm index."""
        seen = self.sessions > 0
        if self.metric == "time":
            value = self.time[seen]
        elif self.metric == "mean_tracks_per_session":
            value = self.steps[seen] / self.sessions[seen]
        else:
            value = self.time[seen] / self.sessions[seen]
        return value, self.arm_of_user[seen]

    def peek(self) -> Peek:
        value, arm = self.values()
        stats = [SampleMeanStatistic.from_values(value[arm == i]) for i in range(len(self.arms))]
        c = stats[self.arms.index(self.control)]
        results = {name: confidence_sequence(c, stats[i], self.arm_alpha, self.n_star)
                   for i, name in enumerate(self.arms) if name != self.control}
        peek = Peek(episodes=self.episodes, results=results)
        self.peeks.append(peek)
        return peek

    def _conclusive_text(self, peek: Peek) -> str:
        parts = [f"{arm} {r.effect:+.2f}% [{r.lower:+.2f}%, {r.upper:+.2f}%] excludes 0"
                 for arm, r in peek.results.items() if r is not None and r.conclusive]
        return (f"{'; '.join(parts)} on {self.metric} (always-valid "
                f"{1 - self.alpha:.0%} interval)")

    def line(self, peek: Peek) -> str:
        shown = []
        for arm, r in peek.results.items():
            if r is None:
                shown.append(f"{arm} vs {self.control}: not enough users yet")
                continue
            mark = "conclusive" if r.conclusive else "inconclusive"
            shown.append(f"{arm} vs {self.control} {r.effect:+.2f}% "
                         f"[{r.lower:+.2f}%, {r.upper:+.2f}%] {mark}")
        # "live, unadjusted": the report's figure differs (its logs, and CUPED when a
        # pre-period exists), and a reader comparing the two should not wonder why.
        return (f"[dim]{peek.episodes:>7,} episodes[/] {self.metric} (live, unadjusted, "
                f"always-valid {1 - self.alpha:.0%}): " + "; ".join(shown))

    def summary(self) -> dict[str, Any]:
        """For simulation.json / the fetch manifest: the last look and whether we stopped."""
        last = self.peeks[-1] if self.peeks else None
        return {
            "metric": self.metric, "alpha": self.alpha, "peek_every": self.peek_every,
            "stop_early": self.stop_early, "stopped_early": self.stop_reason is not None,
            "reason": self.stop_reason, "peeks": len(self.peeks),
            "episodes_seen": self.episodes,
            "last": None if last is None else {
                "episodes": last.episodes,
                "arms": {arm: None if r is None else {
                    "effect": r.effect, "lower": r.lower, "upper": r.upper,
                    "conclusive": r.conclusive} for arm, r in last.results.items()}},
        }


def monitor_for(loaded: Any, n_users: int, console: Console | None) -> SequentialMonitor | None:
    """The monitor an experiment file asks for (None with a single arm)."""
    spec = loaded.spec
    if len(spec.arm_list) < 2:
        return None
    sim = spec.simulation
    return SequentialMonitor(
        experiment=spec.name, arms=spec.arm_list, control=spec.report.control,
        n_users=n_users, planned_episodes=sim.episodes * sim.days,
        metric=spec.report.primary_metric, alpha=spec.report.alpha,
        peek_every=sim.peek_every, stop_early=sim.stop_early, console=console)
