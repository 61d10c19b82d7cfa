"""Send each processed file version's alert once, and record every attempt.

In: the warehouse engine, settings, the registry's contacts, one version's
findings and feedback workbook. Out: delivery records written to
`alert_delivery`. A target already marked 'sent' for the same version
(alert_key) is skipped, so reruns and --force never repeat a message, while
failed targets are tried again on the next run.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import text
from sqlalchemy.engine import Engine

from fivestar.alerts.deliver import deliver_digest, deliver_submission_alert, sent_targets
from fivestar.alerts.messages import (
    digest_message,
    submission_alert_key,
    submission_message,
)
from fivestar.config import Registry
from fivestar.settings import Settings
from fivestar.status import SubmissionStatus
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


def delivery_rows(engine: Engine, alert_key: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT channel, recipient, outcome, alert_key FROM alert_delivery WHERE alert_key = :k"),
            {"k": alert_key},
        ).mappings()
        return [dict(r) for r in rows]


def record_deliveries(engine: Engine, records: list[dict[str, Any]], **key: Any) -> None:
    if not records:
        return
    df = pd.DataFrame([{**key, **r} for r in records])
    # The warehouse keeps naive local time everywhere.
    local = dt.datetime.now().astimezone().tzinfo
    df["attempted_at"] = (
        pd.to_datetime(df["attempted_at"], utc=True).dt.tz_convert(local).dt.tz_localize(None).dt.floor("s")
    )
    df = df.reindex(columns=_COLUMNS)
    with engine.begin() as conn:
        insert_frame(conn, "alert_delivery", df)


def alert_submission(
    engine: Engine,
    settings: Settings,
    registry: Registry,
    *,
    county_code: str,
    period: str,
    version: int,
    status: str,
    findings: pd.DataFrame,
    attachment: Path | None,
    run_id: str,
) -> list[dict[str, Any]]:
    contacts = registry.contacts_of(county_code)
    # A superseded version owes the county nothing: a newer version of the same month is
    # accepted and its own alert is what the county acts on (e.g. under `run --force`).
    if contacts.empty or status == SubmissionStatus.SUPERSEDED:
        return []
    key = submission_alert_key(county_code, period, version)
    skip = sent_targets(delivery_rows(engine, key), key)
    msg = submission_message(
        county_code,
        registry.county_name(county_code) or county_code,
        period,
        version,
        status,
        findings.assign(county_code=county_code),
        workbook_name=attachment.name if attachment else None,
    )
    records = deliver_submission_alert(settings, contacts, msg, [attachment] if attachment else [], skip=skip)
    record_deliveries(engine, records, run_id=run_id, county_code=county_code, period=period, version=version)
    return records


def alert_submissions(
    engine: Engine, settings: Settings, registry: Registry, *, run_id: str, items: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """`alert_submission` for each item (its keyword arguments but run_id), in order;
    the delivery records of all of them."""
    records: list[dict[str, Any]] = []
    for kw in items:
        records += alert_submission(engine, settings, registry, run_id=run_id, **kw)
    return records


def alert_digest(
    engine: Engine,
    settings: Settings,
    *,
    period: str,
    rejected: list[dict[str, Any]],
    missing: list[dict[str, Any]],
    failed: list[dict[str, Any]],
    run_id: str,
) -> list[dict[str, Any]]:
    if not (settings.it_alert_email or settings.it_alert_webhook):
        return []
    msg = digest_message(period, rejected, missing, failed, run_id=run_id)
    records = deliver_digest(settings, msg, settings.it_alert_email, settings.it_alert_webhook)
    record_deliveries(engine, records, run_id=run_id, period=period)
    return records


def pending_alerts(engine: Engine) -> list[dict[str, Any]]:
    """Versions still owed an alert: a target whose attempts all failed (e.g. SMTP was
    down), or no attempt at all because the run that loaded them died before alerting."""
    sql = text(
        "SELECT DISTINCT d.county_code, d.period, d.version, s.status FROM alert_delivery d "
        "JOIN submission s ON s.county_code = d.county_code AND s.period = d.period AND s.version = d.version "
        "WHERE d.outcome <> 'sent' AND d.alert_key LIKE 'submission:%' AND NOT EXISTS ("
        " SELECT 1 FROM alert_delivery x WHERE x.alert_key = d.alert_key AND x.channel = d.channel"
        " AND x.recipient = d.recipient AND x.outcome = 'sent') "
        "ORDER BY d.period, d.county_code, d.version"
    )
    orphans = text(
        "SELECT s.county_code, s.period, s.version, s.status FROM submission s "
        "JOIN run r ON r.run_id = s.run_id WHERE r.outcome IN ('abandoned', 'failed') AND NOT EXISTS ("
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


def failed_deliveries(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Targets whose last attempt failed (one row per target)."""
    last: dict[tuple[str, str], dict[str, Any]] = {}
    for r in records:
        last[(r["channel"], r["recipient"])] = r
    return [r for r in last.values() if r["outcome"] != "sent"]


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


def retry_pending_alerts(
    engine: Engine,
    settings: Settings,
    registry: Registry,
    *,
    run_id: str,
    skip: set[tuple[str, str, int]],
) -> list[dict[str, Any]]:
    """Re-send alerts whose targets all failed on an earlier run (queued until delivered)."""
    from fivestar.feedback.workbook import feedback_path

    records: list[dict[str, Any]] = []
    for p in pending_alerts(engine):
        key = (p["county_code"], p["period"], int(p["version"]))
        if key in skip:
            continue
        attachment = feedback_path(
            settings.feedback_dir, p["period"], p["county_code"], int(p["version"]), p["status"]
        )
        records += alert_submission(
            engine,
            settings,
            registry,
            county_code=key[0],
            period=key[1],
            version=key[2],
            status=p["status"],
            findings=stored_findings(engine, *key),
            attachment=attachment if attachment.exists() else None,
            run_id=run_id,
        )
    return records
