"""How long and how often an undelivered alert is tried: a per-run time budget and a
retry policy across runs.

In: Settings (FIVESTAR_ALERT_*), a target's delivery history (failed attempts so far,
when it was first queued or tried) and `now`. Out: how many tries a target gets in this
run, or the reason it is given up. Time is always a parameter (`now`, `clock`), so tests
never wait for a deadline.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from fivestar.settings import Settings

# Tries of one target within one run, with exponential backoff between them; what is
# still undelivered is tried again on later runs until the retry policy gives it up.
TRIES_PER_RUN = 3
BACKOFF_S = 0.5
# Share of the run's budget kept for the IT digest (at most DIGEST_RESERVE_MAX_S), so
# dead county contacts never starve the one message that tells IT about them.
DIGEST_RESERVE_SHARE = 0.2
DIGEST_RESERVE_MAX_S = 10.0


def as_utc(value: Any) -> dt.datetime:
    """A timestamp as an aware UTC datetime; a naive one is UTC (the warehouse's convention)."""
    ts = pd.Timestamp(value).to_pydatetime()
    if ts.tzinfo is None:
        return ts.replace(tzinfo=dt.UTC)
    return ts.astimezone(dt.UTC)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    max_age: dt.timedelta = dt.timedelta(hours=72)
    tries_per_run: int = TRIES_PER_RUN

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(
            max_attempts=max(1, int(settings.alert_max_attempts)),
            max_age=dt.timedelta(hours=float(settings.alert_max_age_hours)),
        )

    def give_up_reason(self, attempts: int, first_at: Any, now: dt.datetime) -> str | None:
        """Why a target still owed its alert is given up now, or None to keep trying.

        `attempts` = failed delivery attempts so far; `first_at` = its first record
        (queued or tried), None when it has none yet.
        """
        if attempts >= self.max_attempts:
            return f"given up after {attempts} failed attempts (limit {self.max_attempts})"
        if first_at is not None and not pd.isna(first_at):
            age = as_utc(now) - as_utc(first_at)
            if age > self.max_age:
                hours = self.max_age.total_seconds() / 3600
                return f"given up: undelivered for more than {hours:g} h ({attempts} failed attempts)"
        return None

    def tries_now(self, attempts: int) -> int:
        """Tries this run for a target with `attempts` failed attempts so far."""
        return max(0, min(self.tries_per_run, self.max_attempts - attempts))


class Budget:
    """A deadline on a monotonic clock, shared by the delivery threads of one run."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = max(0.0, float(seconds))
        self.clock = clock
        self.started = clock()
        self.deadline = self.started + self.seconds

    def remaining(self) -> float:
        return max(0.0, self.deadline - self.clock())

    def spent(self) -> bool:
        return self.remaining() <= 0

    def elapsed(self) -> float:
        return self.clock() - self.started

    def until(self, seconds_before_end: float) -> Budget:
        """A budget on the same clock ending `seconds_before_end` earlier."""
        return Budget(max(0.0, self.remaining() - seconds_before_end), self.clock)


def digest_reserve(budget_s: float) -> float:
    """Seconds of a run's alert budget kept for the IT digest."""
    return min(DIGEST_RESERVE_MAX_S, max(0.0, budget_s) * DIGEST_RESERVE_SHARE)
