"""One run at a time per warehouse.

In: an Engine, whether to wait (optionally up to timeout_s seconds) and how often to log
while waiting (log_every_s, 30 s). Out: a context manager held for the whole run.
PostgreSQL: `LOCK TABLE run_lock IN EXCLUSIVE MODE` in a transaction kept open on a
dedicated connection (released when the block ends or the session dies). A table lock,
not an advisory lock: an advisory key can be computed (and held) by any login, a lock on
run_lock only by roles that may write it, so reporting and county logins never can.
SQLite: a filelock.FileLock beside the database file (`<db>.lock`, holder in
`<db>.lock.holder`). A waiting run logs "waiting for the run lock held by pid … since …"
every log_every_s; when the lock is not obtained, `RunLocked` says so in plain English.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import os
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import filelock
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from fivestar.warehouse import dialect
from fivestar.warehouse.engine import safe_url

log = logging.getLogger(__name__)

LOG_EVERY_S = 30.0
_POLL_S = 0.2
_LOCK_NOT_AVAILABLE = "55P03"  # SQLSTATE of NOWAIT and lock_timeout
_APP_PREFIX = "fivestar run "
# Who holds run_lock in this database: the session with its granted EXCLUSIVE lock.
_PG_HOLDER = (
    "SELECT a.pid, a.application_name, a.usename, a.xact_start "
    "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.locktype = 'relation' AND l.granted AND l.mode = 'ExclusiveLock' "
    "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
    "AND l.relation = to_regclass(quote_ident(current_schema()) || '.run_lock') LIMIT 1"
)


class RunLocked(RuntimeError):
    """Another fivestar run holds the warehouse lock."""


def _message(engine: Engine, timeout_s: float | None, wait: bool, holder: str) -> str:
    waited = f" (waited {timeout_s:g} s)" if wait and timeout_s else ""
    return (
        f"Another fivestar run ({holder}) is already using the warehouse {safe_url(engine)}{waited}. "
        "Wait for it to finish, then try again."
    )


def _me() -> str:
    return f"pid {os.getpid()} on {socket.gethostname()}"


def _now() -> str:
    return dt.datetime.now().astimezone().isoformat(timespec="seconds")


def sqlite_lock_path(engine: Engine) -> Path:
    db = engine.url.database or ""
    if db and db != ":memory:" and not db.startswith("file:"):
        return Path(f"{Path(db).expanduser().resolve()}.lock")
    # An in-memory database has no folder; lock per URL in the temp folder.
    digest = hashlib.sha256(str(engine.url).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"fivestar-{digest}.lock"


def _deadline(wait: bool, timeout_s: float | None) -> float | None:
    """time.monotonic() to give up at; None: wait for ever."""
    if wait and timeout_s is None:
        return None
    return time.monotonic() + ((timeout_s or 0.0) if wait else 0.0)


def _pg_holder(conn: Connection) -> str:
    row = conn.exec_driver_sql(_PG_HOLDER).first()
    conn.rollback()
    if row is None:
        return "pid ? since ?"  # released meanwhile
    pid, app, user, since = row
    when = since.isoformat(timespec="seconds") if since else "?"
    if app and app.startswith(_APP_PREFIX):
        return f"{app.removeprefix(_APP_PREFIX)} since {when} (database session {pid})"
    return f"pid {pid} (a database session of {user}, application {app or '?'!r}) since {when}"


def _pg_try(conn: Connection, lock_timeout_s: float | None) -> bool:
    """One attempt in a new transaction; True: locked (the transaction stays open)."""
    # The transaction stays open for the whole run: no server idle timeout may end it.
    conn.exec_driver_sql("SELECT set_config('idle_in_transaction_session_timeout', '0', true)")
    # Waiting runs find the holder (pid, host) through pg_stat_activity.
    conn.exec_driver_sql("SELECT set_config('application_name', %s, true)", ((_APP_PREFIX + _me())[:63],))
    if lock_timeout_s is None:
        sql = "LOCK TABLE run_lock IN EXCLUSIVE MODE NOWAIT"
    else:
        ms = max(1, int(lock_timeout_s * 1000))  # lock_timeout 0 would mean "no limit"
        conn.exec_driver_sql("SELECT set_config('lock_timeout', %s, true)", (f"{ms}ms",))
        sql = "LOCK TABLE run_lock IN EXCLUSIVE MODE"
    try:
        conn.exec_driver_sql(sql)
    except OperationalError as e:
        if getattr(e.orig, "sqlstate", None) != _LOCK_NOT_AVAILABLE:
            raise
        conn.rollback()
        return False
    return True


@contextmanager
def _pg_lock(engine: Engine, wait: bool, timeout_s: float | None, log_every_s: float) -> Iterator[None]:
    conn = engine.connect()
    try:
        deadline = _deadline(wait, timeout_s)
        while True:
            left = None if deadline is None else deadline - time.monotonic()
            step = None if not wait else log_every_s if left is None else max(0.0, min(log_every_s, left))
            if _pg_try(conn, step if step else None):
                break
            holder = _pg_holder(conn)
            if deadline is not None and time.monotonic() >= deadline:
                raise RunLocked(_message(engine, timeout_s, wait, holder))
            log.warning("waiting for the run lock held by %s", holder)
        try:
            yield
        finally:
            try:
                conn.rollback()  # ends the transaction, and with it the lock
            except Exception:
                # The session is gone, and with it the lock; never reuse this connection.
                conn.invalidate()
    finally:
        conn.close()


def _sqlite_holder(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip() or "pid ? since ?"
    except OSError:
        return "pid ? since ?"


@contextmanager
def _sqlite_lock(engine: Engine, wait: bool, timeout_s: float | None, log_every_s: float) -> Iterator[None]:
    path = sqlite_lock_path(engine)
    holder_path = path.with_name(path.name + ".holder")
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(str(path), thread_local=False)
    deadline = _deadline(wait, timeout_s)
    while True:
        left = None if deadline is None else deadline - time.monotonic()
        step = log_every_s if left is None else max(0.0, min(log_every_s, left))
        try:
            lock.acquire(timeout=step if wait else 0, poll_interval=_POLL_S)
            break
        except filelock.Timeout as e:
            holder = _sqlite_holder(holder_path)
            if deadline is not None and time.monotonic() >= deadline:
                raise RunLocked(_message(engine, timeout_s, wait, holder)) from e
            log.warning("waiting for the run lock held by %s", holder)
    try:
        with contextlib.suppress(OSError):  # only the waiting message would miss it
            holder_path.write_text(f"{_me()} since {_now()}\n", encoding="utf-8")
        yield
    finally:
        holder_path.unlink(missing_ok=True)
        lock.release()


@contextmanager
def run_lock(
    engine: Engine, wait: bool = True, timeout_s: float | None = None, log_every_s: float = LOG_EVERY_S
) -> Iterator[None]:
    """Hold the warehouse's run lock for the block; RunLocked if not obtained.

    While waiting, log "waiting for the run lock held by pid … since …" every log_every_s.
    """
    if dialect.is_postgres(engine):
        with _pg_lock(engine, wait, timeout_s, log_every_s):
            yield
    else:
        with _sqlite_lock(engine, wait, timeout_s, log_every_s):
            yield
