"""Completeness and timeliness of the monthly cycle (rpt_completeness), as of a run's "now".

In: every recorded file version (county_code, period, version, status, received_at as
naive UTC), the registered counties (code, name, parent_code), the deadlines
(fivestar.deadlines) and "now" (aware). Out: one row per registered county and period,
from the first period any county submitted through the later of the last period any
county submitted and the last period whose deadline has passed at "now" (columns of the
`completeness` table; times naive UTC). `refresh_completeness` is the run's stage: it
recomputes the rows and replaces the table. Whether a county-month is closed is not
stored: rpt_completeness reads it live from period_event.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
from sqlalchemy.engine import Engine

from fivestar.deadlines import Deadlines
from fivestar.status import ACCEPTED_STATUSES, ONCE_ACCEPTED, SubmissionStatus
from fivestar.warehouse.periods import read_versions, registered_counties, replace_completeness
from fivestar.warehouse.timestamps import utc_naive

MISSING = "missing"
LATE_CLOSED = SubmissionStatus.LATE_CLOSED.value


def next_period(period: str) -> str:
    y, m = int(period[:4]), int(period[5:7])
    return f"{y + 1:04d}-01" if m == 12 else f"{y:04d}-{m + 1:02d}"


def last_past_deadline(deadlines: Deadlines, now: dt.datetime) -> str:
    """The latest period whose deadline is before `now`."""
    local = now.astimezone(dt.UTC)
    y, m = local.year, local.month
    period = f"{y:04d}-{m:02d}"
    while deadlines.deadline(period) >= now:
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
        period = f"{y:04d}-{m:02d}"
    return period


def period_range(submitted: list[str], deadlines: Deadlines, now: dt.datetime) -> list[str]:
    """First period with a file through max(last with a file, last past its deadline)."""
    if not submitted:
        return []
    first, last = min(submitted), max(max(submitted), last_past_deadline(deadlines, now))
    out = [first]
    while out[-1] < last:
        out.append(next_period(out[-1]))
    return out


def _aware(ts: Any) -> dt.datetime | None:
    if ts is None or (not isinstance(ts, dt.datetime) and pd.isna(ts)):
        return None
    return pd.Timestamp(ts).to_pydatetime().replace(tzinfo=dt.UTC)


Version = tuple[int, str, dt.datetime | None]  # version, status, received_at (aware UTC)


def county_month(period: str, versions: list[Version], deadlines: Deadlines) -> dict[str, Any]:
    """The computed columns of one county-month from its versions (any order)."""
    received = [at for _, _, at in versions if at is not None]
    taken = [v for v in versions if v[1] != LATE_CLOSED]  # a late_closed file waiting changes nothing
    current = sorted(v for v in taken if v[1] in ACCEPTED_STATUSES)
    once = sorted((at, n) for n, st, at in taken if st in ONCE_ACCEPTED and at is not None)
    row: dict[str, Any] = {
        "versions": len(versions),
        "first_received_at": utc_naive(min(received)) if received else None,
        "last_received_at": utc_naive(max(received)) if received else None,
        "current_version": current[-1][0] if current else None,
        "status": current[-1][1] if current else (SubmissionStatus.REJECTED.value if taken else MISSING),
        "on_time": False,
        "days_late": None,
        "accepted_version": None,
        "accepted_at": None,
        "late_closed": sum(1 for v in versions if v[1] == LATE_CLOSED),
    }
    if once:
        at, n = once[0]
        row.update(
            on_time=deadlines.is_on_time(period, at),
            days_late=deadlines.days_late(period, at),
            accepted_version=n,
            accepted_at=utc_naive(at),
        )
    return row


def compute_completeness(
    versions: pd.DataFrame, counties: pd.DataFrame, deadlines: Deadlines, now: dt.datetime
) -> pd.DataFrame:
    """Rows of the `completeness` table (see the module doc)."""
    periods = period_range(sorted(set(versions["period"].astype(str))), deadlines, now)
    groups: dict[tuple[str, str], list[Version]] = {}
    for c, p, v, st, at in zip(
        versions["county_code"].astype(str),
        versions["period"].astype(str),
        versions["version"],
        versions["status"].astype(str),
        versions["received_at"],
        strict=True,
    ):
        groups.setdefault((p, c), []).append((int(v), st, _aware(at)))
    regs = [(str(c.code), c.name, c.parent_code) for c in counties.itertuples(index=False)]
    as_of = utc_naive(now)
    rows = []
    for period in periods:
        deadline = utc_naive(deadlines.deadline(period))
        for code, name, parent in regs:
            rows.append(
                {
                    "period": period,
                    "county_code": code,
                    "county_name": name,
                    "city_code": parent,
                    "deadline": deadline,
                    "expected": True,
                    **county_month(period, groups.get((period, code), []), deadlines),
                    "as_of": as_of,
                }
            )
    return pd.DataFrame(rows)


def refresh_completeness(engine: Engine, deadlines: Deadlines, now: dt.datetime) -> int:
    """Recompute every row as of `now` and replace the table; the row count."""
    frame = compute_completeness(read_versions(engine), registered_counties(engine), deadlines, now)
    return replace_completeness(engine, frame)
