"""Create or update the warehouse schema.

In: an Engine. Out: the schema at the head revision of the Alembic migrations
(fivestar/warehouse/migrations: a baseline equal to release 84c509f, then one revision per
change; run by fivestar.warehouse.migrate). An empty warehouse is created at head; one
made by release 84c509f (no alembic_version table) is stamped at the baseline, never
recreated; one behind head is upgraded on SQLite, and on PostgreSQL only with
`auto_upgrade` (FIVESTAR_AUTO_UPGRADE=1): otherwise `SchemaBehind` names
`fivestar db upgrade` (an operator decides when production changes).

Views: revisions apply the rpt_* views of sql/views/ (one file per view, its columns in
the .yml beside it; see fivestar.warehouse.views) with `apply_views`, and every
ensure_schema at head checks them again (no DDL when nothing changed). A view is
(re)created only when it is missing or its SQL text changed (its sha256 is kept in meta
as `view_sha256:<name>`), so BI readers and their own objects on the views are left alone
on every ordinary run. On PostgreSQL a changed view is replaced with CREATE OR REPLACE
VIEW (owner, grants and dependants kept); only a change that PostgreSQL cannot replace in
place drops and recreates the views, and if an object outside fivestar depends on them,
the old views are kept and a warning says why (tried again on the next run).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Collection
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from fivestar.warehouse import dialect, migrate
from fivestar.warehouse.retry import retrying
from fivestar.warehouse.views import load_views

log = logging.getLogger(__name__)

SQL_DIR = Path(__file__).resolve().parents[2] / "sql"
VIEW_HASH_KEY = "view_sha256:"  # meta key prefix; the view name follows
_CREATE_VIEW = re.compile(r"CREATE\s+VIEW\s+([a-z_][a-z0-9_]*)\s", re.IGNORECASE)
_DEPENDENTS_EXIST = "2BP01"  # SQLSTATE dependent_objects_still_exist
_RAW = {"no_parameters": True}  # the driver must not read '%' in SQL text as a placeholder


def schema_statements(dialect_name: str, sql_dir: Path = SQL_DIR) -> list[str]:
    """All statements of sql/ for one dialect, in execution order: tables, then views."""
    # Numbered scripts only (001_schema.sql, …): sql/roles_postgres.sql is applied on
    # request by fivestar.warehouse.roles, never with the schema.
    files = sorted(sql_dir.glob("[0-9]*.sql"))
    if not files:
        raise FileNotFoundError(f"No schema files in {sql_dir}")
    out: list[str] = []
    for f in files:
        out.extend(dialect.split_statements(dialect.render_sql(f.read_text(encoding="utf-8"), dialect_name)))
    out.extend(v.statement(dialect_name) for v in load_views(sql_dir / "views"))
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


def view_digest(statement: str) -> str:
    """sha256 of a view's CREATE statement (comments are stripped before: they never count)."""
    return hashlib.sha256(statement.encode("utf-8")).hexdigest()


def _serialise(conn: Connection) -> None:
    """PostgreSQL: one ensure_schema at a time per schema (two replacing views would deadlock)."""
    meta = "SELECT to_regclass(quote_ident(current_schema()) || '.meta')"
    if conn.exec_driver_sql(meta).scalar() is None:
        # First run on an empty schema: nothing to lock yet (and no reporting role exists).
        schema = conn.exec_driver_sql(dialect.PG_CURRENT_SCHEMA).scalar_one()
        conn.exec_driver_sql(dialect.PG_XACT_LOCK % dialect.advisory_key("schema", schema))
    if conn.exec_driver_sql(meta).scalar() is not None:
        # A table lock only the owner may take (an advisory key anyone can compute and hold).
        conn.exec_driver_sql("LOCK TABLE meta IN SHARE ROW EXCLUSIVE MODE")


def _replace_in_place(conn: Connection, views: list[tuple[str, str]]) -> bool:
    """CREATE OR REPLACE each view; False (nothing changed) when PostgreSQL refuses one."""
    try:
        with conn.begin_nested():
            for _name, stmt in views:
                conn.exec_driver_sql(
                    _CREATE_VIEW.sub(r"CREATE OR REPLACE VIEW \1 ", stmt, count=1), execution_options=_RAW
                )
    except DBAPIError as e:  # e.g. a column renamed, dropped or retyped
        log.info("views cannot be replaced in place (%s); recreating them", _reason(e))
        return False
    return True


def _recreate_all(conn: Connection, views: list[tuple[str, str]]) -> bool:
    """Drop every view of sql/ (dependants first) and create them again, grants restored.

    False (nothing changed) when an object outside fivestar depends on one of them.
    """
    grants = conn.exec_driver_sql(dialect.PG_VIEW_GRANTS, execution_options=_RAW).all()
    try:
        with conn.begin_nested():
            for name, _stmt in reversed(views):
                conn.exec_driver_sql(f"DROP VIEW IF EXISTS {name}", execution_options=_RAW)  # never CASCADE
            for _name, stmt in views:
                conn.exec_driver_sql(stmt, execution_options=_RAW)
    except DBAPIError as e:
        if getattr(e.orig, "sqlstate", None) != _DEPENDENTS_EXIST:
            raise
        log.warning(
            "the rpt_* views changed but were kept as they were (%s); drop the objects that "
            "depend on them, then run fivestar again to update the views",
            _reason(e),
        )
        return False
    names = {n for n, _ in views}
    for grantee, privilege, table in grants:
        if table in names:
            conn.exec_driver_sql(dialect.pg_grant(grantee, privilege, table), execution_options=_RAW)
    return True


def _reason(e: DBAPIError) -> str:
    orig = getattr(e, "orig", None) or e
    lines = [ln.strip() for ln in str(orig).splitlines() if ln.strip() and not ln.startswith("HINT:")]
    return "; ".join(lines)[:300]


def _ensure_views(conn: Connection, views: list[tuple[str, str]], pg: bool) -> None:
    existing = set(inspect(conn).get_view_names())
    stored = {
        k.removeprefix(VIEW_HASH_KEY): v
        for k, v in conn.execute(
            text("SELECT key, value FROM meta WHERE key LIKE :p"), {"p": VIEW_HASH_KEY + "%"}
        ).all()
    }
    changed = [(n, s) for n, s in views if n not in existing or stored.get(n) != view_digest(s)]
    if not changed:
        return
    if not pg:
        # SQLite checks no dependants on DROP VIEW and readers never block it (WAL).
        for name, stmt in changed:
            conn.exec_driver_sql(f"DROP VIEW IF EXISTS {name}")
            conn.exec_driver_sql(stmt)
    elif not (_replace_in_place(conn, changed) or _recreate_all(conn, views)):
        return
    for name, stmt in changed:
        set_meta(conn, VIEW_HASH_KEY + name, view_digest(stmt))
    log.info("views updated: %s", ", ".join(n for n, _ in changed))


def lock_schema(conn: Connection) -> None:
    """PostgreSQL: one schema change at a time per schema (two would deadlock); SQLite: nothing."""
    if dialect.is_postgres(conn):
        _serialise(conn)


def view_statements(dialect_name: str, sql_dir: Path = SQL_DIR) -> list[tuple[str, str]]:
    """(name, CREATE VIEW statement) of every view of `sql_dir`/views, in creation order."""
    return [(v.name, v.statement(dialect_name)) for v in load_views(sql_dir / "views")]


def apply_views(conn: Connection, sql_dir: Path = SQL_DIR, only: Collection[str] | None = None) -> None:
    """Create the views of sql/views/ that are missing or whose SQL changed (see module doc).

    `only`: just these views (a revision before the tables of later views exist)."""
    name = dialect.name_of(conn)
    views = view_statements(name, sql_dir)
    if only is not None:
        views = [(n, s) for n, s in views if n in only]
    _ensure_views(conn, views, name == dialect.POSTGRES)


def replace_views(conn: Connection, drop: list[str], create: list[tuple[str, str]]) -> None:
    """Drop the views `drop` (in this order) and those of `create`, then create `create`
    (grants of BI readers restored on PostgreSQL); forget every stored view hash.

    For downgrades: raises when an object outside fivestar depends on a view.
    """
    for name in drop:
        conn.exec_driver_sql(f"DROP VIEW IF EXISTS {name}")  # never CASCADE
    if dialect.is_postgres(conn):
        if not _recreate_all(conn, create):
            raise RuntimeError("objects outside fivestar depend on the rpt_* views; drop them first")
    else:
        for name, _stmt in reversed(create):
            conn.exec_driver_sql(f"DROP VIEW IF EXISTS {name}")
        for _name, stmt in create:
            conn.exec_driver_sql(stmt, execution_options=_RAW)
    conn.execute(text("DELETE FROM meta WHERE key LIKE :p"), {"p": VIEW_HASH_KEY + "%"})


@retrying
def ensure_schema(engine: Engine, auto_upgrade: bool = False) -> None:
    """Bring the schema to head (see module doc), then views only when missing or changed."""
    with engine.begin() as conn:
        lock_schema(conn)
        migrate.check_and_upgrade(conn, auto_upgrade=auto_upgrade)
        apply_views(conn)
