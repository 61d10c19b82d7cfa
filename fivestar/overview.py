"""The night at a glance: per county the latest version of a period and its alert
deliveries (`fivestar status`), and the run history (`fivestar runs`).

In: the warehouse engine, the registered counties (code → name), a period and "now".
Out: plain records for the CLI tables; nothing is written. "Late" uses the deadlines of
config/deadlines.yaml (fivestar.deadlines; default day 5 of the following month,
23:59:59 Asia/Shanghai). Stored times are naive UTC; records show Asia/Shanghai.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

from fivestar.deadlines import SHANGHAI, Deadlines
from fivestar.status import ACCEPTED_STATUSES, SubmissionStatus

# Worst first: a county's alert state is the worst state among its targets.
ALERT_ORDER = ("given_up", "failed", "queued", "sent")
ON_TIME_STATUSES = (*ACCEPTED_STATUSES, SubmissionStatus.SUPERSEDED.value)


def has_tables(engine: Engine, *names: str) -> bool:
    """The warehouse has these tables (a warehouse no run has touched has none)."""
    existing = set(inspect(engine).get_table_names())
    return all(n in existing for n in names)


def latest_period(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return conn.execute(text("SELECT MAX(period) FROM submission")).scalar()


@dataclass(frozen=True)
class CountyStatus:
    county_code: str
    county_name: str
    period: str
    version: int | None = None  # None: nothing received for the period
    status: str | None = None  # a SubmissionStatus value of the latest version
    errors: int | None = None
    warnings: int | None = None
    received_at: dt.datetime | None = None  # Asia/Shanghai wall time (naive)
    alerts: str = ""  # worst delivery state of the latest version's alert, e.g. "failed 1/2"
    late: bool | None = None  # None: the deadline has not passed and nothing accepted yet


def _utc(ts: Any) -> dt.datetime | None:
    """A stored TIMESTAMP (naive UTC; text on SQLite) as an aware UTC datetime."""
    if ts is None or (not isinstance(ts, dt.datetime) and pd.isna(ts)):
        return None
    return pd.Timestamp(ts).to_pydatetime().replace(tzinfo=dt.UTC)


def _local(ts: Any) -> dt.datetime | None:
    """A stored TIMESTAMP as a naive Asia/Shanghai wall-clock datetime (for display)."""
    utc = _utc(ts)
    return None if utc is None else utc.astimezone(SHANGHAI).replace(tzinfo=None)


def alert_state(rows: pd.DataFrame) -> str:
    """Summarise one alert's delivery records: each target's last outcome, the worst shown
    with how many targets got it ("sent 2", "failed 1/2")."""
    if rows.empty:
        return ""
    last = rows.sort_values(["attempted_at", "id"]).groupby(["channel", "recipient"]).tail(1)
    outcomes = list(last["outcome"])
    worst = min(outcomes, key=lambda o: ALERT_ORDER.index(o) if o in ALERT_ORDER else 0)
    n = outcomes.count(worst)
    return f"{worst} {n}" if n == len(outcomes) else f"{worst} {n}/{len(outcomes)}"


def is_late(
    period: str, received: list[dt.datetime | None], now: dt.datetime, deadlines: Deadlines | None = None
) -> bool | None:
    """Late when the first accepted version came after the deadline, or none came and the
    deadline has passed; None while it is not due yet. `received`: aware datetimes (naive
    ones are UTC, as stored)."""
    deadline = (deadlines or Deadlines()).deadline(period)
    got = sorted(r if r.tzinfo else r.replace(tzinfo=dt.UTC) for r in received if r is not None)
    if got:
        return got[0] > deadline
    return True if now > deadline else None


def county_status(
    engine: Engine,
    counties: Mapping[str, str],
    period: str,
    now: dt.datetime,
    deadlines: Deadlines | None = None,
) -> list[CountyStatus]:
    """One row per registered county (and per county with a submission but no registry row)."""
    with engine.connect() as conn:
        subs = pd.read_sql(
            text(
                "SELECT county_code, version, status, errors, warnings, received_at FROM submission "
                "WHERE period = :p ORDER BY county_code, version"
            ),
            conn,
            params={"p": period},
        )
        deliveries = pd.read_sql(
            text(
                "SELECT id, county_code, version, channel, recipient, attempted_at, outcome "
                "FROM alert_delivery WHERE period = :p AND county_code IS NOT NULL"
            ),
            conn,
            params={"p": period},
        )
    out = []
    for code in sorted(set(counties) | set(subs["county_code"])):
        mine = subs[subs["county_code"] == code]
        name = counties.get(code, "")
        # A superseded version was accepted once: it counts for being on time (interfaces.md).
        accepted = [
            _utc(t) for t, s in zip(mine["received_at"], mine["status"], strict=True) if s in ON_TIME_STATUSES
        ]
        late = is_late(period, accepted, now, deadlines)
        if mine.empty:
            out.append(CountyStatus(code, name, period, late=late))
            continue
        last = mine.iloc[-1]
        sent = deliveries[(deliveries["county_code"] == code) & (deliveries["version"] == last["version"])]
        out.append(
            CountyStatus(
                code,
                name,
                period,
                int(last["version"]),
                str(last["status"]),
                None if pd.isna(last["errors"]) else int(last["errors"]),
                None if pd.isna(last["warnings"]) else int(last["warnings"]),
                _local(last["received_at"]),
                alert_state(sent),
                late,
            )
        )
    return out


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    started_at: dt.datetime | None
    seconds: float | None
    outcome: str
    params: dict[str, Any]
    processed: int | None
    failed: int | None
    alerts: dict[str, Any]
    error: str | None


def _json(value: Any) -> Any:
    if value is None or isinstance(value, dict):
        return value or {}
    try:
        return json.loads(value)
    except (TypeError, ValueError):
        return {}


def run_history(engine: Engine, last: int) -> list[RunRecord]:
    """The `last` runs, newest first."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT run_id, started_at, finished_at, params, outcome, summary FROM run "
                "ORDER BY started_at DESC, run_id DESC LIMIT :n"
            ),
            {"n": int(last)},
        ).all()
    out = []
    for run_id, started, finished, params, outcome, summary in rows:
        s, f = _local(started), _local(finished)
        record = _json(summary)
        failed = record.get("failed")
        out.append(
            RunRecord(
                str(run_id),
                s,
                (f - s).total_seconds() if s and f else None,
                str(outcome),
                {k: v for k, v in _json(params).items() if v not in (None, False)},
                record.get("processed"),
                len(failed) if isinstance(failed, list) else None,
                record.get("alerts") or {},
                record.get("error"),
            )
        )
    return out
