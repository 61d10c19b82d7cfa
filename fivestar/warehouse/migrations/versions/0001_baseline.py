"""baseline: the schema of release 84c509f (its tables and six rpt_* views)

Revision ID: 0001
Revises:
"""

from pathlib import Path

from alembic import op

from fivestar.warehouse import dialect
from fivestar.warehouse.migrate import DataLossRefused

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BASELINE = Path(__file__).resolve().parents[1] / "baseline"  # verbatim copy of that release's sql/
RAW = {"no_parameters": True}  # '%' in SQL text is not a placeholder


def statements(dialect_name: str) -> list[str]:
    out: list[str] = []
    for name in ("001_schema.sql", "002_views.sql"):
        text = (BASELINE / name).read_text(encoding="utf-8")
        out.extend(dialect.split_statements(dialect.render_sql(text, dialect_name)))
    return out


def upgrade() -> None:
    conn = op.get_bind()
    for stmt in statements(dialect.name_of(conn)):
        conn.exec_driver_sql(stmt, execution_options=RAW)


def downgrade() -> None:
    raise DataLossRefused(
        "refusing to downgrade below the baseline 0001: it would drop every table and its rows"
    )
