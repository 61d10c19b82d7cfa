"""period_event (closing and reopening), completeness (as of the latest run), their views
rpt_period_event and rpt_completeness, and rpt_submission's times shown in Asia/Shanghai

Stored timestamps become UTC: rows written before held the local time of the machine
that wrote them, so the upgrade shifts them by this machine's UTC offset (none on a
machine running on UTC; set TZ to the writing server's zone when upgrading elsewhere).

Revision ID: 0004
Revises: 0003
"""

import datetime as dt
import logging

from alembic import op

from fivestar.warehouse import dialect, schema
from fivestar.warehouse.migrate import DataLossRefused

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# views.views_digest() of the sql/views/ this revision was written for.
VIEWS_SHA256 = "650d019c541b1fdd2d050010e02eb79256db0371de6a43b57ddeb17df9d46a6f"

RAW = {"no_parameters": True}
log = logging.getLogger(__name__)
# Timestamp columns that held the writing machine's local time before this revision.
LOCAL_TIMES = {
    "run": ("started_at", "finished_at"),
    "submission": ("received_at", "processed_at"),
    "derive_queue": ("enqueued_at",),
    "alert_delivery": ("attempted_at",),
    "alert_outbox": ("created_at",),
}
NEW_VIEWS = ("rpt_completeness", "rpt_period_event")

PERIOD_EVENT = """
CREATE TABLE IF NOT EXISTS period_event (
    id          {{AUTO_ID}},
    period      TEXT NOT NULL,
    county_code TEXT NOT NULL DEFAULT '',
    action      TEXT NOT NULL,
    actor       TEXT,
    at          TIMESTAMP NOT NULL,
    reason      TEXT
)"""
PERIOD_EVENT_INDEX = "CREATE INDEX IF NOT EXISTS ix_period_event_period ON period_event (period, county_code)"
COMPLETENESS = """
CREATE TABLE IF NOT EXISTS completeness (
    period             TEXT NOT NULL,
    county_code        TEXT NOT NULL,
    county_name        TEXT,
    city_code          TEXT,
    deadline           TIMESTAMP NOT NULL,
    expected           BOOLEAN NOT NULL DEFAULT TRUE,
    first_received_at  TIMESTAMP,
    last_received_at   TIMESTAMP,
    versions           INTEGER NOT NULL DEFAULT 0,
    current_version    INTEGER,
    status             TEXT NOT NULL,
    on_time            BOOLEAN NOT NULL DEFAULT FALSE,
    days_late          INTEGER,
    accepted_version   INTEGER,
    accepted_at        TIMESTAMP,
    late_closed        INTEGER NOT NULL DEFAULT 0,
    as_of              TIMESTAMP,
    PRIMARY KEY (period, county_code)
)"""

# rpt_submission as revision 0003 left it (restored by the downgrade).
RPT_SUBMISSION_0003 = """CREATE VIEW rpt_submission AS
SELECT
    county_code,
    period,
    version,
    file_name,
    file_sha256,
    received_at,
    processed_at,
    status,
    errors,
    warnings,
    county_name,
    run_id
FROM submission"""


def _shift_times(conn: object, to_utc: bool) -> None:
    """Stored local times to UTC (or back): minus (plus) this machine's UTC offset."""
    offset = dt.datetime.now().astimezone().utcoffset() or dt.timedelta(0)
    seconds = int(offset.total_seconds()) * (-1 if to_utc else 1)
    if not seconds:
        return
    sqlite = dialect.name_of(conn) == dialect.SQLITE
    for table, columns in LOCAL_TIMES.items():
        for col in columns:
            new = (
                f"datetime({col}, '{seconds:+d} seconds')"
                if sqlite
                else f"{col} + INTERVAL '{seconds} seconds'"
            )
            conn.exec_driver_sql(
                f"UPDATE {table} SET {col} = {new} WHERE {col} IS NOT NULL", execution_options=RAW
            )
    log.info("stored times shifted by %+d s (%s)", seconds, "local -> UTC" if to_utc else "UTC -> local")


def upgrade() -> None:
    conn = op.get_bind()
    name = dialect.name_of(conn)
    _shift_times(conn, to_utc=True)
    for stmt in (PERIOD_EVENT, PERIOD_EVENT_INDEX, COMPLETENESS):
        conn.exec_driver_sql(dialect.render_sql(stmt, name), execution_options=RAW)
    schema.apply_views(conn)


def downgrade() -> None:
    conn = op.get_bind()
    kept = conn.exec_driver_sql("SELECT count(*) FROM period_event").scalar_one()
    if kept:
        raise DataLossRefused(
            f"refusing to downgrade 0004: period_event holds {kept} close/reopen record(s) that "
            "would be lost (the audit of closed periods cannot be rebuilt)"
        )
    schema.replace_views(conn, list(NEW_VIEWS), [("rpt_submission", RPT_SUBMISSION_0003)])
    # completeness is rebuilt by every run: nothing is lost with it.
    op.execute("DROP TABLE completeness")
    op.execute("DROP TABLE period_event")
    _shift_times(conn, to_utc=False)
