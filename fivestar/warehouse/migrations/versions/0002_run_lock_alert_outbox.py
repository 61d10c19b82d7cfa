"""run_lock (PostgreSQL runs lock it) and alert_outbox (IT digests kept until delivered)

Revision ID: 0002
Revises: 0001
"""

from alembic import op

from fivestar.warehouse.migrate import DataLossRefused

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# IF NOT EXISTS: warehouses made by development builds after 84c509f already have them.
RUN_LOCK = """
CREATE TABLE IF NOT EXISTS run_lock (
    note TEXT
)"""
ALERT_OUTBOX = """
CREATE TABLE IF NOT EXISTS alert_outbox (
    alert_key     TEXT PRIMARY KEY,
    period        TEXT,
    created_at    TIMESTAMP,
    subject       TEXT NOT NULL,
    body_text     TEXT NOT NULL,
    body_markdown TEXT NOT NULL,
    status        TEXT,
    meta          TEXT
)"""


def upgrade() -> None:
    op.execute(RUN_LOCK)
    op.execute(ALERT_OUTBOX)


def downgrade() -> None:
    conn = op.get_bind()
    kept = conn.exec_driver_sql("SELECT count(*) FROM alert_outbox").scalar_one()
    if kept:
        raise DataLossRefused(
            f"refusing to downgrade 0002: alert_outbox holds {kept} IT digest message(s) that "
            "would be lost (they cannot be rebuilt); deliver or delete them first"
        )
    op.execute("DROP TABLE alert_outbox")
    op.execute("DROP TABLE run_lock")  # never holds rows
