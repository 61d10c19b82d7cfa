"""`fivestar close` and `fivestar reopen`: close a period, reopen one county-month.

In: the period (YYYY-MM), for a reopen the county code (a registered county) and the
reason, who does it (--by; default the operating-system user), "now" (aware) and the
warehouse (its schema brought to head first, as a run would). Out: one period_event row
(rpt_period_event), written under the run lock (never in the middle of a run), and a
`PeriodChange` saying what is closed now. A reopened county-month's waiting late_closed
files are taken by the next run; closed months get no reminders and keep their ratings.
"""

from __future__ import annotations

import datetime as dt
import getpass
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from fivestar.config import Registry
from fivestar.run_params import InvalidRunParameter, parse_run_params
from fivestar.warehouse.lock import run_lock
from fivestar.warehouse.periods import CLOSE, REOPEN, closed_county_months, record_period_event
from fivestar.warehouse.registry import sync_registry


@dataclass(frozen=True)
class PeriodChange:
    action: str
    period: str
    county_code: str  # '' for a whole-period close
    actor: str
    closed_counties: int  # county-months of the period closed after the change
    was_closed: bool  # a reopen: the county-month was closed before


def actor_name(by: str | None) -> str:
    """--by, else the operating-system user."""
    if by and by.strip():
        return by.strip()
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (a container)
        return "unknown"


def _closed_in(engine: Engine, period: str) -> set[str]:
    return {c for p, c in closed_county_months(engine) if p == period}


def close_period(
    engine: Engine,
    period: str,
    *,
    reason: str | None,
    by: str | None,
    now: dt.datetime,
    registry: Registry | None = None,
) -> PeriodChange:
    """Close every county-month of `period` (a record even when it already was). `registry`:
    config/registry.csv, copied to the warehouse first (the counties a close applies to)."""
    period = parse_run_params(period).period or ""
    if not period:
        raise InvalidRunParameter("give the period to close: --period YYYY-MM")
    actor = actor_name(by)
    with run_lock(engine, wait=True):
        if registry is not None:
            sync_registry(engine, registry)
        record_period_event(engine, period=period, action=CLOSE, actor=actor, now=now, reason=reason or None)
        closed = _closed_in(engine, period)
    return PeriodChange(CLOSE, period, "", actor, len(closed), False)


def reopen_county(
    engine: Engine,
    period: str,
    county: str,
    *,
    reason: str,
    by: str | None,
    now: dt.datetime,
    registry: Registry,
) -> PeriodChange:
    """Reopen one county-month of `period` (recorded even when it was not closed); the
    county must be in `registry` (config/registry.csv, copied to the warehouse first)."""
    params = parse_run_params(period, county)
    if not params.period or not params.county:
        raise InvalidRunParameter("give --period YYYY-MM and --county CODE")
    if params.county not in registry.county_codes:
        raise InvalidRunParameter(f"county {params.county} is not a county in registry.csv")
    if not reason or not reason.strip():
        raise InvalidRunParameter("give the reason for reopening: --reason TEXT")
    actor = actor_name(by)
    with run_lock(engine, wait=True):
        sync_registry(engine, registry)
        was = params.county in _closed_in(engine, params.period)
        record_period_event(
            engine,
            period=params.period,
            action=REOPEN,
            actor=actor,
            now=now,
            county_code=params.county,
            reason=reason.strip(),
        )
        closed = _closed_in(engine, params.period)
    return PeriodChange(REOPEN, params.period, params.county, actor, len(closed), was)
