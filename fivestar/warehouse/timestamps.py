"""The warehouse's timestamp convention, shared by the modules that write rows.

In: Python/pandas datetimes (aware or naive) and SQL text with timestamp parameters.
Out: naive UTC values at second precision (TIMESTAMP columns hold no zone; the rpt_*
views show them in Asia/Shanghai), and `text()` clauses whose named parameters bind as
timestamps (SQLite stores ISO text). Before revision 0004 rows held the machine's local
time (the same on a machine running on UTC).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
from sqlalchemy import DateTime, bindparam, text


def now() -> dt.datetime:
    """Naive UTC, second precision: the warehouse's timestamp convention."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0, tzinfo=None)


def utc_naive(value: Any) -> Any:
    """A datetime (aware: converted; naive: taken as UTC) as stored: naive UTC, or None."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, str):
        value = pd.Timestamp(value)
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        # TIMESTAMP columns hold no zone: store UTC.
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def timestamp_text(sql: str, *names: str) -> Any:
    """text() whose named parameters are timestamps (SQLite stores them as ISO text)."""
    return text(sql).bindparams(*(bindparam(n, type_=DateTime()) for n in names))
