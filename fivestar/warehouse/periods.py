"""Closing and reopening periods: the `period_event` table (rpt_period_event).

In: an Engine or a Connection; for a record, the period, the county ('' = the whole
period), the action (`close` / `reopen`), who did it, why, and "now" (aware; stored as
naive UTC). Out: the county-months closed now. Also the storage of the completeness
table (fivestar.completeness computes it) and of late_closed versions. The latest event naming a county-month
or its whole period decides: a whole-period close closes every registered county (also
one registered later); a later reopen of one county opens it; a later whole-period close
closes it again. Storage only: the commands are in fivestar.closing.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from fivestar.warehouse import tables
from fivestar.warehouse.bulk import insert_frame
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


def read_versions(engine: Engine) -> pd.DataFrame:
    """county_code, period, version, status, received_at (naive UTC) of every recorded version."""
    with engine.connect() as conn:
        df = pd.read_sql(
            text("SELECT county_code, period, version, status, received_at FROM submission"), conn
        )
    df["version"] = df["version"].astype(int)
    return df


def registered_counties(engine: Engine) -> pd.DataFrame:
    """code, name, parent_code of the registered counties (registry_region), by code."""
    with engine.connect() as conn:
        return pd.read_sql(
            text("SELECT code, name, parent_code FROM registry_region WHERE level = 'county' ORDER BY code"),
            conn,
        )


def replace_completeness(engine: Engine, frame: pd.DataFrame) -> int:
    """Replace the `completeness` table with `frame` (one transaction); the row count."""
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM completeness"))
        if frame.empty:
            return 0
        df = frame.reindex(columns=list(tables.COMPLETENESS))
        for c in ("current_version", "days_late", "accepted_version"):
            df[c] = pd.array(df[c], dtype="Int64")
        return insert_frame(conn, "completeness", df)


def record_late_closed(engine: Engine, rows: list[dict]) -> None:
    """Record versions that arrived for a closed county-month (status late_closed, no facts)."""
    if not rows:
        return
    df = pd.DataFrame(rows).reindex(columns=list(tables.SUBMISSION))
    with engine.begin() as conn:
        for r in rows:
            conn.execute(
                text("DELETE FROM submission WHERE county_code = :c AND period = :p AND version = :v"),
                {"c": r["county_code"], "p": r["period"], "v": int(r["version"])},
            )
        insert_frame(conn, "submission", df)


def late_closed_versions(engine: Engine) -> pd.DataFrame:
    """county_code, period, version, file_name, file_sha256, archive_path, received_at of the
    versions waiting as late_closed."""
    with engine.connect() as conn:
        return pd.read_sql(
            text(
                "SELECT county_code, period, version, file_name, file_sha256, archive_path, received_at "
                "FROM submission WHERE status = 'late_closed' ORDER BY period, county_code, version"
            ),
            conn,
        )


def completeness_rows(engine: Engine, periods: list[str]) -> list[dict]:
    """Rows of the completeness table for `periods` (as the latest run computed them)."""
    if not periods:
        return []
    from sqlalchemy import bindparam

    with engine.connect() as conn:
        return [
            dict(r)
            for r in conn.execute(
                text(
                    "SELECT period, county_code, county_name, city_code, status, on_time, days_late, "
                    "versions, accepted_version, late_closed FROM completeness WHERE period IN :ps "
                    "ORDER BY period, county_code"
                ).bindparams(bindparam("ps", expanding=True)),
                {"ps": list(periods)},
            ).mappings()
        ]


def closed_file_name(engine: Engine, county_code: str, period: str, version: int) -> str:
    """The recorded file name of a version ('' when unknown)."""
    with engine.connect() as conn:
        name = conn.execute(
            text("SELECT file_name FROM submission WHERE county_code = :c AND period = :p AND version = :v"),
            {"c": county_code, "p": period, "v": int(version)},
        ).scalar()
    return str(name or "")
