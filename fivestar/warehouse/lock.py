"""One run at a time per warehouse.

In: an Engine, and whether to wait (optionally up to timeout_s seconds). Out: a context
manager held for the whole run. PostgreSQL: a session-level pg_advisory_lock on a
dedicated autocommit connection (released when the block ends or the process dies);
SQLite: a filelock.FileLock beside the database file (`<db>.lock`). When the lock is
not obtained, `RunLocked` says so in plain English.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import filelock
from sqlalchemy.engine import Engine

from fivestar.warehouse import dialect
from fivestar.warehouse.engine import safe_url

_POLL_S = 0.2


class RunLocked(RuntimeError):
    """Another fivestar run holds the warehouse lock."""


def _message(engine: Engine, timeout_s: float | None, wait: bool) -> str:
    waited = f" (waited {timeout_s:g} s)" if wait and timeout_s else ""
    return (
        f"Another fivestar run is already using the warehouse {safe_url(engine)}{waited}. "
        "Wait for it to finish, then try again."
    )


def sqlite_lock_path(engine: Engine) -> Path:
    db = engine.url.database or ""
    if db and db != ":memory:" and not db.startswith("file:"):
        return Path(f"{Path(db).expanduser().resolve()}.lock")
    # An in-memory database has no folder; lock per URL in the temp folder.
    digest = hashlib.sha256(str(engine.url).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"fivestar-{digest}.lock"


@contextmanager
def _pg_lock(engine: Engine, wait: bool, timeout_s: float | None) -> Iterator[None]:
    # Autocommit: a session lock must not keep a transaction open for the whole run.
    conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        schema = conn.exec_driver_sql(dialect.PG_CURRENT_SCHEMA).scalar_one()
        key = dialect.advisory_key("run", schema)
        if wait and timeout_s is None:
            conn.exec_driver_sql(dialect.PG_LOCK % key)
        else:
            deadline = time.monotonic() + (timeout_s or 0.0 if wait else 0.0)
            while not conn.exec_driver_sql(dialect.PG_TRY_LOCK % key).scalar_one():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise RunLocked(_message(engine, timeout_s, wait))
                time.sleep(min(_POLL_S, remaining))
        try:
            yield
        finally:
            try:
                conn.exec_driver_sql(dialect.PG_UNLOCK % key)
            except Exception:
                # The session is gone, and with it the lock; never reuse this connection.
                conn.invalidate()
    finally:
        conn.close()


@contextmanager
def _sqlite_lock(engine: Engine, wait: bool, timeout_s: float | None) -> Iterator[None]:
    path = sqlite_lock_path(engine)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(str(path), thread_local=False)
    timeout = (-1 if timeout_s is None else timeout_s) if wait else 0
    try:
        lock.acquire(timeout=timeout, poll_interval=_POLL_S)
    except filelock.Timeout as e:
        raise RunLocked(_message(engine, timeout_s, wait)) from e
    try:
        yield
    finally:
        lock.release()


@contextmanager
def run_lock(engine: Engine, wait: bool = True, timeout_s: float | None = None) -> Iterator[None]:
    """Hold the warehouse's run lock for the block; RunLocked if not obtained."""
    if dialect.is_postgres(engine):
        with _pg_lock(engine, wait, timeout_s):
            yield
    else:
        with _sqlite_lock(engine, wait, timeout_s):
            yield
