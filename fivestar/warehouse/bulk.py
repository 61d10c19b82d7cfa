"""Fast bulk insert of a DataFrame into a warehouse table.

In: an open SQLAlchemy Connection (inside the caller's transaction), a table name and a
DataFrame whose columns are table columns. Out: the rows inserted, in the same
transaction. PostgreSQL uses psycopg COPY FROM STDIN (~10x faster than to_sql);
SQLite one executemany. pandas NA/NaN/NaT become NULL, numpy scalars Python values,
dates ISO text on SQLite (its stdlib date adapters are deprecated).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.engine import Connection

from fivestar.warehouse import dialect

_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


def _ident(name: str) -> str:
    # Names are interpolated into SQL: accept only plain lower-case identifiers.
    if not _IDENT.match(name):
        raise ValueError(f"Not a plain SQL identifier: {name!r}")
    return name


def _plain(v: Any, sqlite: bool) -> Any:
    """One value of an object column as a DB-ready Python value."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and v != v:  # NaN hiding in an object column
        return None
    if isinstance(v, pd.Timestamp):
        v = None if pd.isna(v) else v.to_pydatetime()
    if sqlite and isinstance(v, dt.datetime):
        return v.isoformat(sep=" ")
    if sqlite and isinstance(v, dt.date):
        return v.isoformat()
    return v


def _column_values(s: pd.Series, sqlite: bool) -> list[Any]:
    """One column as a list of plain Python values with None for missing."""
    mask = s.isna().to_numpy()
    if isinstance(s.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(s.dtype):
        stamps = [None if m else v.to_pydatetime() for v, m in zip(s, mask, strict=True)]
        return [_plain(v, sqlite) for v in stamps]
    if isinstance(s.dtype, np.dtype) and s.dtype.kind in "biuf":
        vals: list[Any] = s.tolist()  # numpy -> Python scalars in C
    else:
        vals = s.astype(object).tolist()
        if s.dtype == object:
            vals = [_plain(v, sqlite) for v in vals]
    if mask.any():
        vals = [None if m else v for v, m in zip(vals, mask, strict=True)]
    return vals


def frame_rows(df: pd.DataFrame, *, sqlite: bool = False) -> Iterator[tuple[Any, ...]]:
    """Rows of df as tuples of DB-ready Python values."""
    cols = [_column_values(df.iloc[:, i], sqlite) for i in range(df.shape[1])]
    return zip(*cols, strict=True) if cols else iter(())


def insert_frame(conn: Connection, table: str, df: pd.DataFrame) -> int:
    """Insert every row of df into table (columns by name); returns the row count."""
    if df is None or len(df) == 0:
        return 0
    cols = [_ident(str(c)) for c in df.columns]
    col_list = ", ".join(cols)
    raw = conn.connection.driver_connection
    if dialect.is_postgres(conn):
        with raw.cursor() as cur, cur.copy(f"COPY {_ident(table)} ({col_list}) FROM STDIN") as copy:
            for row in frame_rows(df):
                copy.write_row(row)
    else:
        marks = ", ".join("?" for _ in cols)
        cur = raw.cursor()
        try:
            cur.executemany(
                f"INSERT INTO {_ident(table)} ({col_list}) VALUES ({marks})", frame_rows(df, sqlite=True)
            )
        finally:
            cur.close()
    return len(df)
