"""The warehouse side of alerts: delivery history, records, and what is still owed.

In: the warehouse engine. Out: each target's delivery state per alert key (failed
attempts, first record, whether it was sent or given up), delivery records written to
`alert_delivery`, the versions whose alert is still owed to someone, and a version's
stored findings (to rebuild its alert on a later run). fivestar.alerts.stage decides
what to send; nothing here sends.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import text
from sqlalchemy.engine import Engine

from fivestar.warehouse.bulk import insert_frame

log = logging.getLogger(__name__)
_COLUMNS = [
    "run_id",
    "county_code",
    "period",
    "version",
    "channel",
    "recipient",
    "attempted_at",
    "attempt",
    "outcome",
    "error",
    "alert_key",
]


@dataclass(frozen=True)
class TargetState:
    """One (alert_key, channel, recipient)'s history in alert_delivery."""

    attempts: int = 0  # failed delivery attempts so far
    first_at: Any = None  # its first record (tried or queued), warehouse local time
    sent: bool = False
    given_up: bool = False

    @property
    def done(self) -> bool:
        return self.sent or self.given_up


def target_states(engine: Engine) -> dict[tuple[str, str, str], TargetState]:
    """(alert_key, channel, recipient) → TargetState, for every key with records."""
    sql = text(
        "SELECT alert_key, channel, recipient, "
        "SUM(CASE WHEN outcome = 'failed' THEN 1 ELSE 0 END) AS attempts, MIN(attempted_at) AS first_at, "
        "MAX(CASE WHEN outcome = 'sent' THEN 1 ELSE 0 END) AS sent, "
        "MAX(CASE WHEN outcome = 'given_up' THEN 1 ELSE 0 END) AS given_up "
        "FROM alert_delivery WHERE alert_key IS NOT NULL GROUP BY alert_key, channel, recipient"
    )
    with engine.connect() as conn:
        return {
            (r["alert_key"], r["channel"], r["recipient"]): TargetState(
                int(r["attempts"] or 0), r["first_at"], bool(r["sent"]), bool(r["given_up"])
            )
            for r in conn.execute(sql).mappings()
        }


def record_deliveries(engine: Engine, records: list[dict[str, Any]], **key: Any) -> None:
    if not records:
        return
    df = pd.DataFrame([{**key, **r} for r in records])
    # The warehouse keeps naive UTC everywhere (fivestar.warehouse.timestamps).
    df["attempted_at"] = pd.to_datetime(df["attempted_at"], utc=True).dt.tz_localize(None).dt.floor("s")
    df = df.reindex(columns=_COLUMNS)
    with engine.begin() as conn:
        insert_frame(conn, "alert_delivery", df)


def pending_alerts(engine: Engine) -> list[dict[str, Any]]:
    """Versions still owed an alert: a target whose attempts failed or were put off
    (budget) and that was neither sent nor given up since, or no record at all because
    the run that loaded them died before alerting."""
    sql = text(
        "SELECT DISTINCT d.county_code, d.period, d.version, s.status FROM alert_delivery d "
        "JOIN submission s ON s.county_code = d.county_code AND s.period = d.period AND s.version = d.version "
        "WHERE d.outcome IN ('failed', 'queued') AND d.alert_key LIKE 'submission:%' "
        "AND s.status <> 'superseded' AND NOT EXISTS ("
        " SELECT 1 FROM alert_delivery x WHERE x.alert_key = d.alert_key AND x.channel = d.channel"
        " AND x.recipient = d.recipient AND x.outcome IN ('sent', 'given_up')) "
        "ORDER BY d.period, d.county_code, d.version"
    )
    orphans = text(
        "SELECT s.county_code, s.period, s.version, s.status FROM submission s "
        "JOIN run r ON r.run_id = s.run_id WHERE r.outcome IN ('abandoned', 'failed') "
        "AND s.status <> 'superseded' AND NOT EXISTS ("
        " SELECT 1 FROM alert_delivery x WHERE x.county_code = s.county_code AND x.period = s.period"
        " AND x.version = s.version) ORDER BY s.period, s.county_code, s.version"
    )
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(sql).mappings()]
        seen = {(r["county_code"], r["period"], int(r["version"])) for r in rows}
        rows += [
            dict(r)
            for r in conn.execute(orphans).mappings()
            if (r["county_code"], r["period"], int(r["version"])) not in seen
        ]
        return rows


def stored_findings(engine: Engine, county_code: str, period: str, version: int) -> pd.DataFrame:
    """A version's findings as recorded, for re-sending its alert on a later run."""
    sql = text(
        "SELECT severity, sheet, row_number AS row, cell, column_name, value, rule, message, branch_code, explained "
        "FROM dq_issue WHERE county_code = :c AND period = :p AND version = :v ORDER BY seq"
    )
    with engine.connect() as conn:
        df = pd.read_sql(sql, conn, params={"c": county_code, "p": period, "v": version})
    df["explained"] = df["explained"].astype(bool)
    return df.fillna("")
