"""Warehouse connections.

In: a SQLAlchemy URL (FIVESTAR_WAREHOUSE_URL): `sqlite:///path.db` or
`postgresql+psycopg://user@host/db`. Out: a configured Engine (SQLite: parent folder
created, WAL, busy timeout, explicit transactions; PostgreSQL: psycopg 3, pre-ping,
connect timeout; a SQLite folder that cannot be created is already a
`WarehouseUnavailable`) and `check_reachable`, which turns "cannot connect" into a
`WarehouseUnavailable` with an English message that never shows a password.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Engine, make_url

from fivestar.warehouse import dialect


class WarehouseUnavailable(RuntimeError):
    """The warehouse database cannot be reached or opened (a system fault: stop the run)."""


def safe_url(url: str | URL | Engine) -> str:
    """The URL with any password removed, for messages and logs."""
    if isinstance(url, Engine):
        u = url.url
    elif isinstance(url, URL):
        u = url
    else:
        u = make_url(url)
    # URL.set(password=None) keeps the password in SQLAlchemy 2.1; rebuild the tuple instead.
    return u._replace(password=None).render_as_string(hide_password=False)


def make_engine(url: str) -> Engine:
    """Create an Engine for a SQLite or PostgreSQL warehouse URL."""
    u = make_url(url)
    backend = u.get_backend_name()
    if backend == "sqlite":
        db = u.database or ""
        if db and db != ":memory:" and not db.startswith("file:"):
            folder = Path(db).expanduser().parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as e:  # e.g. a path under a file, or no permission: a clear fault
                raise WarehouseUnavailable(
                    f"Cannot create the folder {folder} of the SQLite warehouse {safe_url(u)}: "
                    f"{e.strerror or type(e).__name__}. Check FIVESTAR_WAREHOUSE_URL."
                ) from e
        engine = create_engine(u, connect_args={"timeout": dialect.SQLITE_BUSY_TIMEOUT_MS / 1000})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dialect.sqlite_on_connect(dbapi_conn)

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            # The driver no longer begins implicitly (see dialect.sqlite_on_connect).
            conn.exec_driver_sql("BEGIN")

        return engine
    if backend == "postgresql":
        if u.get_driver_name() != "psycopg":
            u = u.set(drivername="postgresql+psycopg")
        return create_engine(
            u,
            pool_pre_ping=True,
            connect_args={"connect_timeout": 10, "application_name": "fivestar"},
        )
    raise ValueError(f"Unsupported warehouse URL {safe_url(u)}: use sqlite:/// or postgresql+psycopg://")


def check_reachable(engine: Engine) -> None:
    """Connect once and run SELECT 1; raise WarehouseUnavailable if that fails."""
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except Exception as e:  # any driver/OS error means "cannot use the warehouse"
        orig = getattr(e, "orig", None) or e
        reason = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
        password = engine.url.password
        if password:
            reason = reason.replace(str(password), "***")
        raise WarehouseUnavailable(
            f"Cannot reach the warehouse at {safe_url(engine)}: {reason}. "
            "Check FIVESTAR_WAREHOUSE_URL and that the database server is running."
        ) from e
