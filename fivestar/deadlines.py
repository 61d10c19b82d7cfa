"""Deadlines and reminder stages of the monthly cycle, from `config/deadlines.yaml`.

In: the config folder (the file is optional; the spec's defaults apply without it),
a period `YYYY-MM` and "now" (an aware datetime; callers pass it, nothing here reads
the clock). Out: aware Asia/Shanghai datetimes for deadlines and reminder stages.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from fivestar.config import ConfigError, config_folder, read_yaml

SHANGHAI = ZoneInfo("Asia/Shanghai")
FILE_NAME = "deadlines.yaml"


@dataclass(frozen=True)
class ReminderStage:
    """One 催报 stage of a county-month: `days` from the deadline day, due from `due_at`."""

    days: int
    due_at: dt.datetime

    @property
    def key(self) -> str:
        """Stable name stored with the deliveries ("d-3", "d0", "d+7")."""
        return f"d{self.days:+d}" if self.days else "d0"


@dataclass(frozen=True)
class Deadlines:
    deadline_day_of_next_month: int = 5
    deadline_time: dt.time = dt.time(23, 59, 59)
    reminder_days: tuple[int, ...] = (-3, 0, 1, 3, 7)
    reminder_horizon_days: int = 60
    city_list_after_days: int = 3

    def deadline(self, period: str) -> dt.datetime:
        """The deadline of `period` (aware, Asia/Shanghai)."""
        year, month = int(period[:4]), int(period[5:7])
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        day = dt.date(year, month, self.deadline_day_of_next_month)
        return dt.datetime.combine(day, self.deadline_time, tzinfo=SHANGHAI)

    def is_on_time(self, period: str, received_at: dt.datetime) -> bool:
        """A version is on time when received at or before the deadline (aware `received_at`)."""
        return received_at <= self.deadline(period)

    def days_late(self, period: str, received_at: dt.datetime) -> int:
        """Started days from the deadline to `received_at` (3 hours late = 1; on time = 0)."""
        late = received_at - self.deadline(period)
        if late <= dt.timedelta(0):
            return 0
        return late.days + (1 if late % dt.timedelta(days=1) else 0)

    def stages(self, period: str) -> list[ReminderStage]:
        """Every reminder stage of `period`, earliest first."""
        day = self.deadline(period).date()
        return [
            ReminderStage(d, dt.datetime.combine(day + dt.timedelta(days=d), dt.time(0), tzinfo=SHANGHAI))
            for d in sorted(self.reminder_days)
        ]

    def due_stage(self, period: str, now: dt.datetime) -> ReminderStage | None:
        """The latest stage due at `now`, or None (none due yet, or the period is past the horizon)."""
        if now - self.deadline(period) > dt.timedelta(days=self.reminder_horizon_days):
            return None
        due = [s for s in self.stages(period) if s.due_at <= now]
        return due[-1] if due else None

    def city_list_due(self, period: str, now: dt.datetime) -> bool:
        """The city lists of `period` are due (and the period is still within the horizon)."""
        late = now - self.deadline(period)
        return (
            dt.timedelta(days=self.city_list_after_days)
            <= late
            <= dt.timedelta(days=self.reminder_horizon_days)
        )


def load_deadlines(config_dir: str | Path) -> Deadlines:
    """`config/deadlines.yaml` read and checked; the defaults when the file is absent."""
    p = config_folder(config_dir) / FILE_NAME
    if not p.exists():
        return Deadlines()
    raw = read_yaml(p) or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{p}: expected settings as `name: value` lines")
    fields = Deadlines.__dataclass_fields__
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise ConfigError(f"{p}: unknown setting(s) {', '.join(unknown)} (known: {', '.join(fields)})")
    try:
        values = dict(raw)
        if "deadline_time" in values:
            values["deadline_time"] = dt.time.fromisoformat(str(values["deadline_time"]))
        if "reminder_days" in values:
            values["reminder_days"] = tuple(int(d) for d in values["reminder_days"])
        for k in ("deadline_day_of_next_month", "reminder_horizon_days", "city_list_after_days"):
            if k in values:
                values[k] = int(values[k])
        result = Deadlines(**values)
        if not 1 <= result.deadline_day_of_next_month <= 28:
            raise ValueError("deadline_day_of_next_month must be 1-28 (every month has it)")
        return result
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{p}: {exc}") from exc
