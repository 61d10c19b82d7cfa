"""views from sql/views/: today's six rpt_* views and seven new ones

New: rpt_rating_history, rpt_star_history, rpt_area_history, rpt_branch_change,
rpt_branch_points, rpt_indicator_score, rpt_region.

Revision ID: 0003
Revises: 0002
"""

import importlib.util
from pathlib import Path

from alembic import op

from fivestar.warehouse import dialect, schema

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# views.views_digest() of the sql/views/ this revision was written for (tests compare it
# with the newest revision's: changed views need a revision of their own).
VIEWS_SHA256 = "32d903b9cec854325f92c8d9586e4f0dc231eafde9c280ba38181acd8085a425"


def _baseline_views(dialect_name: str) -> list[tuple[str, str]]:
    """(name, CREATE VIEW) of revision 0001's views (its module, loaded by path)."""
    path = Path(__file__).with_name("0001_baseline.py")
    spec = importlib.util.spec_from_file_location("fivestar_migration_0001", path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = []
    for stmt in mod.statements(dialect_name):
        words = stmt.split(None, 3)
        if words[:2] == ["CREATE", "VIEW"]:
            out.append((words[2], stmt))
    return out


# The views this revision brought (later revisions apply theirs once their tables exist).
VIEWS = (
    "rpt_branch_rating", "rpt_branch_star", "rpt_area_summary", "rpt_submission", "rpt_dq_issue",
    "rpt_points_tally", "rpt_rating_history", "rpt_star_history", "rpt_area_history",
    "rpt_branch_change", "rpt_branch_points", "rpt_indicator_score", "rpt_region",
)  # fmt: skip


def upgrade() -> None:
    # Only missing or changed views are (re)created; on PostgreSQL in place (grants kept).
    schema.apply_views(op.get_bind(), only=VIEWS)


def downgrade() -> None:
    # Views hold no rows: back to the baseline's six, grants of BI readers restored.
    conn = op.get_bind()
    old = _baseline_views(dialect.name_of(conn))
    keep = {n for n, _ in old}
    new = [n for n, _ in reversed(schema.view_statements(dialect.name_of(conn))) if n not in keep]
    schema.replace_views(conn, new, old)
