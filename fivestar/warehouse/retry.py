"""Retry of transient database errors.

In: a callable doing one whole warehouse transaction. Out: its result, after up to
`tries` attempts with exponential backoff when the database reports a transient
OperationalError (SQLite "database is locked", a dropped PostgreSQL connection, a
deadlock or serialization failure). Each attempt must be a complete transaction, so
a retry never sees half of an earlier attempt.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from sqlalchemy import exc as sa_exc

P = ParamSpec("P")
T = TypeVar("T")
log = logging.getLogger(__name__)

TRIES = 3
BASE_DELAY_S = 0.5


def is_transient(error: BaseException) -> bool:
    if isinstance(error, sa_exc.OperationalError):
        return True
    return isinstance(error, sa_exc.DBAPIError) and bool(error.connection_invalidated)


def with_retry(fn: Callable[[], T], *, tries: int = TRIES, base_delay_s: float = BASE_DELAY_S) -> T:
    """Call fn(); on a transient error wait base_delay_s * 2**attempt and try again."""
    for attempt in range(tries):
        try:
            return fn()
        except sa_exc.DBAPIError as e:
            if attempt == tries - 1 or not is_transient(e):
                raise
            delay = base_delay_s * 2**attempt
            log.warning(
                "transient warehouse error (attempt %d/%d), retrying in %.1fs: %s",
                attempt + 1,
                tries,
                delay,
                e.orig,
            )
            time.sleep(delay)
    raise AssertionError("unreachable")


def retrying(fn: Callable[P, T]) -> Callable[P, T]:
    """Decorator form of with_retry (3 tries, backoff 0.5 s, 1 s)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        return with_retry(lambda: fn(*args, **kwargs))

    return wrapper
