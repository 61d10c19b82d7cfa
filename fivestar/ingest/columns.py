"""One sheet column's raw cells → typed values, with the issue and warning code of each cell.

In: the column's spec (type, key), its raw cell values as python-calamine gives them,
their Excel rows and letter, whether the cells were formatted as percentages, and the
resident-ID hash key. Out: the values (numbers as a float array, text as objects) and
per cell an issue code (error) and a warning code, or None. Also the empty frame of a
sheet and the row → column transposition the reader uses.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from fivestar import cells
from fivestar.config import Column, SheetSpec


def empty_sheet_frame(spec: SheetSpec) -> pd.DataFrame:
    cols: dict[str, Any] = {"_row": pd.array([], dtype="int64")}
    for c in spec.columns:
        if c.type in ("int", "num", "rate", "yesno"):
            cols[c.key] = pd.array([], dtype="float64")
        elif c.type == "date":
            cols[c.key] = pd.array([], dtype="datetime64[ns]")
        else:
            cols[c.key] = pd.array([], dtype=object)
        for suffix in ("__issue", "__warn", "__raw"):
            cols[c.key + suffix] = pd.array([], dtype=object)
    return pd.DataFrame(cols)


TYPED = ("int", "num", "rate", "yesno", "date")  # parsed to a value; the rest is text


def transpose_rows(rows: list[list[Any]]) -> Any:
    """Column getter over the data rows: i → that column's cells (None past a row's end).

    calamine gives rows of one width, so one transposition serves every column.
    """
    widths = {len(r) for r in rows}
    if len(widths) == 1:
        width = widths.pop()
        transposed = list(zip(*rows, strict=True))
        return lambda i: list(transposed[i]) if i < width else [None] * len(rows)
    return lambda i: [r[i] if i < len(r) else None for r in rows]


def is_blank(v: Any) -> bool:
    """cells.is_blank, with the common cases decided without a call or a copy."""
    if v is None:
        return True
    if v.__class__ is str:
        if not v:
            return True
        c = v[0]
        # A first character that survives clean_text (not space, BOM or zero-width) decides it.
        if not c.isspace() and c != "\ufeff" and c != "\u200b":
            return False
    elif v.__class__ is float:
        return v != v
    elif v.__class__ in (int, bool, dt.datetime, dt.date):
        return False
    return cells.is_blank(v)


def _text_cell(v: Any, t: str, key: str, id_key: str) -> tuple[str | None, str | None]:
    """(text, warn) of one code/choice/text cell; None for a blank one."""
    if is_blank(v):
        return None, None
    if t == "code":
        if v.__class__ is str and v.isascii() and v.isdigit() and len(v) < 15:
            return v, None  # already what to_code would give
        code = cells.to_code(v)
        # No code has 15 digits: one that does is an ID typed into the code column.
        masked = cells.mask_ids_in(code)
        return (code, None) if masked == code else (masked, cells.ID_MASKED)
    s = cells.clean_text(v)
    masked = cells.mask_id(s) if cells.is_resident_id(s) else cells.mask_ids_in(s)
    if masked == s:
        return s, None
    # An ID never travels further: the subject's id becomes a keyed hash,
    # any other text keeps its masked form.
    if key == "subject_id":
        return cells.hash_id(s, id_key), cells.ID_HASHED
    return masked, cells.ID_MASKED


def parse_column(
    col: Column,
    raw: list[Any],
    rows: list[int],
    letter: str,
    pct: set[tuple[int, str]],
    sheet_key: str,
    id_key: str,
) -> tuple[Any, list[str | None], list[str | None]]:
    """Typed values (float64 array, dates, or a list of texts), issue and warn codes.

    Every parse is a pure function of the cell value (and, for rates, of the cell's %
    format), so repeated values (codes, choices, names, item codes) are parsed once per
    column and looked up after that; plain numbers and dates take a direct path.
    """
    n = len(raw)
    issues: list[str | None] = [None] * n
    warns: list[str | None] = [None] * n
    t = col.type
    memo: dict[Any, Any] = {}
    if t in ("int", "num", "rate"):
        out: list[float | None] = [None] * n
        integer = t == "int"
        for j, v in enumerate(raw):
            tv = v.__class__
            if (tv is float or tv is int) and t != "rate":
                x = float(v)
                if abs(x) >= cells.LONG_NUMBER:  # an ID typed as a number: never stored
                    issues[j] = cells.TOO_LONG
                    continue
                out[j] = x
                if integer and not x.is_integer():
                    issues[j] = cells.NOT_INTEGER
                continue
            if t == "rate":
                pc_ = (rows[j], letter) in pct if pct else False
                k = (tv, v, pc_)
                try:
                    hit = memo.get(k)
                except TypeError:  # an unhashable value: parse it directly
                    hit, k = None, None
                if hit is None:
                    hit = cells.parse_rate(v, percent_cell=pc_)
                    if k is not None:
                        memo[k] = hit
            else:
                k = (tv, v)
                try:
                    hit = memo.get(k)
                except TypeError:
                    hit, k = None, None
                if hit is None:
                    hit = cells.parse_number(v, integer=integer)
                    if k is not None:
                        memo[k] = hit
            out[j], issues[j], warns[j] = hit
        return _floats(out), issues, warns
    if t == "yesno":
        out = [None] * n
        for j, v in enumerate(raw):
            k = (v.__class__, v)
            hit = memo.get(k)
            if hit is None:
                hit = memo[k] = cells.parse_yesno(v)
            out[j], issues[j] = hit
        return _floats(out), issues, warns
    if t == "date":
        dates: list[dt.date | None] = [None] * n
        for j, v in enumerate(raw):
            tv = v.__class__
            if tv is dt.datetime:
                dates[j] = v.date()
            elif tv is dt.date:
                dates[j] = v
            else:
                k = (tv, v)
                hit = memo.get(k)
                if hit is None:
                    hit = memo[k] = cells.parse_date(v)
                dates[j], issues[j] = hit
        return dates, issues, warns
    # Text-like columns: codes, choices, free text.
    texts: list[str | None] = [None] * n
    for j, v in enumerate(raw):
        k = (v.__class__, v)
        hit = memo.get(k)
        if hit is None:
            hit = memo[k] = _text_cell(v, t, col.key, id_key)
        texts[j], warns[j] = hit
    return texts, issues, warns


def _floats(values: list[float | None]) -> Any:
    """float64 array with NaN for None."""
    return np.array([np.nan if x is None else x for x in values], dtype="float64")
