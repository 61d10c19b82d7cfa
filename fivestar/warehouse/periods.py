"""Closing and reopening periods: the `period_event` table (rpt_period_event).

In: an Engine or a Connection; for a record, the period, the county ('' = the whole
period), the action (`close` / `reopen`), who did it, why, and "now" (aware; stored as
naive UTC). Out: the county-months closed now. The latest event naming a county-month
or its whole period decides: a whole-period close closes every registered county (also
one registered later); a later reopen of one county opens it; a later whole-period close
closes it again. Storage only: the commands are in fivestar.closing.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from fivestar.warehouse.timestamps import timestamp_text, utc_naive

CLOSE = "close"
REOPEN = "reopen"
ACTIONS = (CLOSE, REOPEN)
WHOLE_PERIOD = ""  # county_code of a whole-period close


def _rows(bind: Engine | Connection, sql: str, params: dict | None = None) -> list[tuple]:
    if isinstance(bind, Engine):
        with bind.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql), params or {}).all()]
    return [tuple(r) for r in bind.execute(text(sql), params or {}).all()]


def closed_county_months(conn: Engine | Connection) -> set[tuple[str, str]]:
    """(period, county_code) of every county-month closed now."""
    events = _rows(conn, "SELECT period, county_code, action FROM period_event ORDER BY id")
    if not events:
        return set()
    counties = {str(c) for (c,) in _rows(conn, "SELECT code FROM registry_region WHERE level = 'county'")}
    counties |= {str(c) for _, c, _ in events if c}
    state: dict[tuple[str, str], str] = {}
    for period, county, action in events:
        for c in counties if not county else (str(county),):
            state[(str(period), c)] = str(action)
    return {key for key, action in state.items() if action == CLOSE}


def record_period_event(
    bind: Engine | Connection,
    *,
    period: str,
    action: str,
    actor: str,
    now: dt.datetime,
    county_code: str = WHOLE_PERIOD,
    reason: str | None = None,
) -> None:
    """Append one close/reopen (its own transaction when given an Engine)."""
    if action not in ACTIONS:
        raise ValueError(f"action must be one of {ACTIONS}, not {action!r}")
    stmt = timestamp_text(
        "INSERT INTO period_event (period, county_code, action, actor, at, reason) "
        "VALUES (:p, :c, :a, :who, :at, :why)",
        "at",
    )
    params = {
        "p": period,
        "c": county_code or WHOLE_PERIOD,
        "a": action,
        "who": actor,
        "at": utc_naive(now),
        "why": reason,
    }
    if isinstance(bind, Engine):
        with bind.begin() as conn:
            conn.execute(stmt, params)
    else:
        bind.execute(stmt, params)


def period_events(bind: Engine | Connection) -> list[dict]:
    """Every event, oldest first (at: naive UTC)."""
    rows = _rows(
        bind, "SELECT id, period, county_code, action, actor, at, reason FROM period_event ORDER BY id"
    )
    keys = ("id", "period", "county_code", "action", "actor", "at", "reason")
    return [dict(zip(keys, r, strict=True)) for r in rows]
