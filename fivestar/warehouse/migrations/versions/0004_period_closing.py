"""period_event (closing and reopening), completeness (as of the latest run), their views
rpt_period_event and rpt_completeness, and rpt_submission's times shown in Asia/Shanghai

Revision ID: 0004
Revises: 0003
"""

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


def upgrade() -> None:
    conn = op.get_bind()
    name = dialect.name_of(conn)
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
