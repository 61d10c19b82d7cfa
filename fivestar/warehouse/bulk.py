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


_NO_CONVERSION = frozenset({str, int, bool, float, type(None)})


def _column_values(s: pd.Series, sqlite: bool) -> list[Any]:
    """One column as a list of plain Python values with None for missing.

    Vectorised where the dtype allows; a per-value pass only for mixed object columns.
    """
    mask = s.isna().to_numpy()
    if pd.api.types.is_datetime64_dtype(s.dtype):  # naive datetimes
        if sqlite and not (s.dt.microsecond.fillna(0) != 0).any():
            vals: list[Any] = s.dt.strftime("%Y-%m-%d %H:%M:%S").tolist()
        else:
            vals = [_plain(v, sqlite) for v in s.dt.to_pydatetime().tolist()]
    elif isinstance(s.dtype, np.dtype) and s.dtype.kind in "biuf":
        vals = s.tolist()  # numpy -> Python scalars in C
    elif isinstance(s.dtype, pd.StringDtype):
        vals = s.tolist()  # str, or a missing value the mask replaces
    else:
        vals = s.astype(object).tolist()
        kinds = set(map(type, vals))
        if kinds <= _NO_CONVERSION or (not sqlite and kinds <= {dt.date, type(None)}):
            pass  # psycopg adapts dates itself
        elif sqlite and kinds <= {dt.date, type(None)}:
            vals = [None if v is None else v.isoformat() for v in vals]
        else:
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
