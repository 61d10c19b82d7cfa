"""Reminders (催报) and city lists: which are due at "now", from the warehouse's tables.

In: each county-month's versions (table `submission`: county_code, period, version,
status, errors), the registry (counties, their cities), the closed county-months
(fivestar.warehouse.periods), the deadlines (config/deadlines.yaml) and "now" (aware;
the run's clock, a parameter). Out: `Reminder`s (one per county-month with no accepted
version, not closed, whose latest due stage is within the horizon) and `CityList`s
(one per city and period past `city_list_after_days` with counties still lacking an
accepted version). Pure: nothing here sends or writes; fivestar.alerts.cycle plans the
deliveries and fivestar.alerts.reminder_text words them.

Periods considered: every month from the first one any county submitted through the
last whose first reminder stage is due at "now", for every registered county.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import text
from sqlalchemy.engine import Engine

from fivestar.config import Registry
from fivestar.deadlines import Deadlines, ReminderStage
from fivestar.status import ACCEPTED_STATUSES, SubmissionStatus

MISSING = "missing"  # no version at all
REJECTED = "rejected"  # versions, none accepted; the latest rejected


@dataclass(frozen=True)
class CountyGap:
    """A county-month with no accepted version: missing, or rejected (with its latest
    rejected version and that version's number of errors)."""

    county_code: str
    period: str
    state: str  # MISSING | REJECTED
    version: int | None = None
    errors: int | None = None


@dataclass(frozen=True)
class Reminder:
    gap: CountyGap
    stage: ReminderStage
    deadline: dt.datetime  # aware, Asia/Shanghai

    @property
    def alert_key(self) -> str:
        return reminder_alert_key(self.gap.county_code, self.gap.period, self.stage.key)


@dataclass(frozen=True)
class CityList:
    city_code: str
    period: str
    deadline: dt.datetime
    gaps: tuple[CountyGap, ...]  # the city's counties with no accepted version, by code

    @property
    def alert_key(self) -> str:
        return city_list_alert_key(self.city_code, self.period)


def reminder_alert_key(county_code: str, period: str, stage_key: str) -> str:
    """The key of one reminder stage of one county-month (sent at most once)."""
    return f"reminder:{county_code}:{period}:{stage_key}"


def city_list_alert_key(city_code: str, period: str) -> str:
    """The key of a city's one list of a period's missing counties."""
    return f"citylist:{city_code}:{period}"


def next_period(period: str) -> str:
    y, m = int(period[:4]), int(period[5:7])
    y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return f"{y:04d}-{m:02d}"


def reminder_periods(first_period: str | None, deadlines: Deadlines, now: dt.datetime) -> list[str]:
    """Every month from `first_period` through the last whose first reminder stage is due."""
    if not first_period:
        return []
    out: list[str] = []
    p = first_period
    while deadlines.stages(p) and deadlines.stages(p)[0].due_at <= now:
        out.append(p)
        p = next_period(p)
    return out


def county_gaps(
    submissions: pd.DataFrame, county_codes: Collection[str], periods: Collection[str]
) -> dict[tuple[str, str], CountyGap]:
    """(county, period) → its gap, for the county-months with no accepted version.

    `submissions`: county_code, period, version, status, errors (any other versions,
    e.g. a late file of a closed month, neither accept nor reject the month).
    """
    rows: dict[tuple[str, str], list[tuple[int, str, int]]] = {}
    for r in submissions.itertuples(index=False):
        rows.setdefault((str(r.county_code), str(r.period)), []).append(
            (int(r.version), str(r.status), int(r.errors or 0))
        )
    out: dict[tuple[str, str], CountyGap] = {}
    for period in periods:
        for county in sorted(county_codes):
            versions = sorted(rows.get((county, period), []))
            if any(s in ACCEPTED_STATUSES or s == SubmissionStatus.SUPERSEDED for _, s, _ in versions):
                continue
            rejected = [v for v in versions if v[1] == SubmissionStatus.REJECTED]
            if rejected:
                version, _, errors = rejected[-1]
                out[(county, period)] = CountyGap(county, period, REJECTED, version, errors)
            else:
                out[(county, period)] = CountyGap(county, period, MISSING)
    return out


def due_now(
    submissions: pd.DataFrame,
    registry: Registry,
    deadlines: Deadlines,
    closed: Collection[tuple[str, str]],
    now: dt.datetime,
) -> tuple[list[Reminder], list[CityList]]:
    """The reminders and city lists due at `now` (whether already sent is the caller's
    question: each has a stable alert key). `closed`: (period, county_code) pairs."""
    first = str(submissions["period"].min()) if len(submissions) else None
    periods = reminder_periods(first, deadlines, now)
    closed_set = {(str(p), str(c)) for p, c in closed}
    gaps = {
        k: g
        for k, g in county_gaps(submissions, registry.county_codes, periods).items()
        if (g.period, g.county_code) not in closed_set
    }
    reminders: list[Reminder] = []
    for (_, period), gap in sorted(gaps.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        stage = deadlines.due_stage(period, now)
        if stage is not None:
            reminders.append(Reminder(gap, stage, deadlines.deadline(period)))
    counties = registry.counties
    city_of = dict(
        zip(counties["code"].astype(str), counties["parent_code"].fillna("").astype(str), strict=True)
    )
    lists: list[CityList] = []
    for period in periods:
        if not deadlines.city_list_due(period, now):
            continue
        by_city: dict[str, list[CountyGap]] = {}
        for (county, p), gap in gaps.items():
            if p == period and city_of.get(county):
                by_city.setdefault(city_of[county], []).append(gap)
        for city in sorted(by_city):
            items = tuple(sorted(by_city[city], key=lambda g: g.county_code))
            lists.append(CityList(city, period, deadlines.deadline(period), items))
    return reminders, lists


def load_submissions(engine: Engine) -> pd.DataFrame:
    """Every version's county_code, period, version, status, errors."""
    with engine.connect() as conn:
        return pd.read_sql(text("SELECT county_code, period, version, status, errors FROM submission"), conn)


def load_closed(engine: Engine) -> set[tuple[str, str]]:
    """(period, county_code) closed now; none when the warehouse has no period_event yet."""
    from fivestar.overview import has_tables
    from fivestar.warehouse.periods import closed_county_months

    if not has_tables(engine, "period_event", "registry_region"):
        return set()
    with engine.connect() as conn:
        return closed_county_months(conn)


def city_name(registry: Registry, code: str) -> str:
    """A city's name from registry.csv (its code when unknown)."""
    r = registry.regions
    hit = r.loc[r["code"].astype(str) == code, "name"]
    return str(hit.iloc[0]) if len(hit) else code
