"""Create or update the warehouse schema.

In: an Engine. Out: every table of sql/001_schema.sql (CREATE TABLE IF NOT EXISTS) and
the rpt_* views of sql/002_views.sql (dropped and recreated), applied in file-name
order inside one transaction; running it again changes nothing else.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from fivestar.warehouse import dialect
from fivestar.warehouse.retry import retrying

SQL_DIR = Path(__file__).resolve().parents[2] / "sql"
_CREATE_VIEW = re.compile(r"CREATE\s+VIEW\s+([a-z_][a-z0-9_]*)", re.IGNORECASE)


def schema_statements(dialect_name: str, sql_dir: Path = SQL_DIR) -> list[str]:
    """All statements of sql/*.sql for one dialect, in execution order."""
    # Numbered scripts only (001_schema.sql, 002_views.sql, …): sql/roles_postgres.sql is
    # applied on request by fivestar.warehouse.roles, never with the schema.
    files = sorted(sql_dir.glob("[0-9]*.sql"))
    if not files:
        raise FileNotFoundError(f"No schema files in {sql_dir}")
    out: list[str] = []
    for f in files:
        out.extend(dialect.split_statements(dialect.render_sql(f.read_text(encoding="utf-8"), dialect_name)))
    return out


def set_meta(conn: Connection, key: str, value: str | None) -> None:
    """Upsert meta(key, value) inside the caller's transaction."""
    conn.execute(
        text(
            "INSERT INTO meta (key, value) VALUES (:k, :v) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
        ),
        {"k": key, "v": value},
    )


def get_meta(conn: Connection, key: str) -> str | None:
    """meta value of `key`, or None."""
    return conn.execute(text("SELECT value FROM meta WHERE key = :k"), {"k": key}).scalar_one_or_none()


@retrying
def ensure_schema(engine: Engine) -> None:
    """Apply sql/*.sql (idempotent): tables if missing, views always recreated.

    On PostgreSQL, grants other roles held on rpt_* views (BI readers) are restored.
    """
    name = dialect.name_of(engine)
    statements = schema_statements(name)
    with engine.begin() as conn:
        pg = name == dialect.POSTGRES
        if pg:
            # Two processes recreating views at once would deadlock; serialise them.
            schema = conn.exec_driver_sql(dialect.PG_CURRENT_SCHEMA).scalar_one()
            conn.exec_driver_sql(dialect.PG_XACT_LOCK % dialect.advisory_key("schema", schema))
        # no_parameters: the driver must not read '%' in SQL text as a placeholder.
        raw = {"no_parameters": True}
        grants = conn.exec_driver_sql(dialect.PG_VIEW_GRANTS, execution_options=raw).all() if pg else []
        for stmt in statements:
            conn.exec_driver_sql(stmt, execution_options=raw)
        created = {m.group(1) for st in statements if (m := _CREATE_VIEW.match(st))}
        for grantee, privilege, table in grants:
            if table in created:
                conn.exec_driver_sql(dialect.pg_grant(grantee, privilege, table), execution_options=raw)
