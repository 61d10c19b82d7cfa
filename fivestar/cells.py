"""Cell normalisation: one raw cell value (as a reader returns it) → a typed value.

In: Python values from calamine/openpyxl (str, int, float, bool, date, datetime,
None). Out: codes as digit strings, numbers as floats, 是/否 as 1.0/0.0, dates,
periods 'YYYY-MM', plus an *issue* code (blocks: error) or a *warn* code
(does not block) that validation turns into findings. Resident-ID-like text is
detected, masked or hashed here so it never travels further.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import unicodedata
from typing import Any

# Issue codes (errors) and warn codes (warnings) attached to parsed cells.
BLANK = "blank"
NOT_NUMBER = "not_number"
NOT_INTEGER = "not_integer"
ERROR_VALUE = "error_value"
FORMULA_NO_VALUE = "formula_no_value"
NOT_YESNO = "not_yesno"
BAD_DATE = "bad_date"
TEXT_NUMBER = "text_number"
PCT_DECIMAL = "pct_decimal"
ID_MASKED = "id_masked"
ID_HASHED = "id_hashed"

EXCEL_ERRORS = frozenset(
    {"#DIV/0!", "#REF!", "#N/A", "#VALUE!", "#NAME?", "#NUM!", "#NULL!", "#GETTING_DATA", "#SPILL!", "#CALC!"}
)
_NUMBER_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_THOUSANDS_RE = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")
_ID_RE = re.compile(r"^\d{17}[\dXx]$")
_ID_ANYWHERE = re.compile(r"(?<![\dA-Za-z])(\d{6})(\d{8})(\d{3}[\dXx])(?![\dA-Za-z])")
_DATE_PATTERNS = (
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"),
    re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"),
    re.compile(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$"),
)
_PERIOD_PATTERNS = (
    re.compile(r"^(\d{4})-(\d{1,2})$"),
    re.compile(r"^(\d{4})/(\d{1,2})$"),
    re.compile(r"^(\d{4})\.(\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(?:份)?$"),
)
_EXCEL_EPOCH = dt.date(1899, 12, 30)
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def is_blank(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, str):
        return not clean_text(v)
    return isinstance(v, float) and v != v  # NaN


def clean_text(v: Any) -> str:
    """Text as a person typed it: BOM and surrounding whitespace removed."""
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, dt.datetime) and v.time() == dt.time(0):
        return v.date().isoformat()
    return str(v).replace("\ufeff", "").replace("\u200b", "").strip()


def normalise_header(text: Any) -> str:
    """Header text for tolerant matching: full/half width, spaces and line breaks ignored."""
    s = unicodedata.normalize("NFKC", clean_text(text))
    return re.sub(r"\s+", "", s).lower()


def to_code(v: Any) -> str:
    """A code cell (text or number) as its digits; never via float formatting."""
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    s = unicodedata.normalize("NFKC", clean_text(v))
    s = re.sub(r"\s+", "", s).lstrip("'")
    return s


# ---- resident IDs --------------------------------------------------------------
def is_resident_id(v: Any) -> bool:
    return bool(_ID_RE.match(unicodedata.normalize("NFKC", clean_text(v))))


def mask_id(s: str) -> str:
    s = unicodedata.normalize("NFKC", clean_text(s)).upper()
    return s[:6] + "********" + s[-4:]


def mask_ids_in(text: str) -> str:
    """Mask every resident-ID-like run inside free text (also in messages and logs)."""
    return _ID_ANYWHERE.sub(lambda m: m.group(1) + "********" + m.group(3).upper(), text)


def hash_id(s: str, key: str) -> str:
    digest = hmac.new(
        key.encode(), unicodedata.normalize("NFKC", clean_text(s)).upper().encode(), hashlib.sha256
    )
    return "IDH-" + digest.hexdigest()[:20]


def display(v: Any) -> str:
    """How a raw value is shown back to people: never a resident ID."""
    if v is None or (isinstance(v, float) and v != v):  # blank, NaN
        return ""
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        s = str(int(v))
    elif isinstance(v, dt.datetime):
        s = v.date().isoformat() if v.time() == dt.time(0) else v.isoformat(sep=" ")
    else:
        s = str(v)
    return mask_ids_in(s.replace("\ufeff", ""))


# ---- numbers -------------------------------------------------------------------
def parse_number(v: Any, *, integer: bool = False) -> tuple[float | None, str | None, str | None]:
    """→ (value, issue, warn). Text that is an unambiguous number is accepted with a warning."""
    warn = None
    if is_blank(v):
        return None, BLANK, None
    if isinstance(v, bool | dt.date | dt.time | dt.timedelta):
        return None, NOT_NUMBER, None
    if isinstance(v, int | float):
        x = float(v)
    else:
        s = clean_text(v)
        if s.upper() in EXCEL_ERRORS or (s.startswith("#") and s.endswith(("!", "?", "A"))):
            return None, ERROR_VALUE, None
        x = text_number(s)
        if x is None:
            return None, NOT_NUMBER, None
        warn = TEXT_NUMBER
    if x != x or x in (float("inf"), float("-inf")):
        return None, NOT_NUMBER, None
    if integer and not float(x).is_integer():
        return x, NOT_INTEGER, warn
    return x, None, warn


def text_number(s: str) -> float | None:
    """'95', '９５', '21,234', ' -3.5 ' → float; anything else → None."""
    t = unicodedata.normalize("NFKC", s).strip()
    if _NUMBER_RE.match(t):
        return float(t)
    if _THOUSANDS_RE.match(t):
        return float(t.replace(",", ""))
    return None


def parse_rate(v: Any, *, percent_cell: bool) -> tuple[float | None, str | None, str | None]:
    """Rates in percent points: 0.95 in a % cell → 95; text '95%' → 95; 95 → 95.

    A plain number ≤ 1 in a non-% cell is kept as written, with a warning.
    """
    if isinstance(v, str):
        t = unicodedata.normalize("NFKC", clean_text(v))
        if t.endswith("%"):
            x = text_number(t[:-1])
            return (x, None, None) if x is not None else (None, NOT_NUMBER, None)
    x, issue, warn = parse_number(v)
    if x is None or issue:
        return x, issue, warn
    if percent_cell and isinstance(v, int | float) and not isinstance(v, bool):
        return round(x * 100.0, 9), None, warn  # 0.864*100 is 86.39999…: keep the typed value
    if 0 <= x <= 1:
        # Also for text '0.95': "probably 95%" matters more than 文本型数字.
        warn = PCT_DECIMAL
    return x, None, warn


def parse_yesno(v: Any) -> tuple[float | None, str | None]:
    if is_blank(v):
        return None, BLANK
    s = unicodedata.normalize("NFKC", clean_text(v))
    if s == "是":
        return 1.0, None
    if s == "否":
        return 0.0, None
    return None, NOT_YESNO


# ---- dates and periods ---------------------------------------------------------
def parse_date(v: Any) -> tuple[dt.date | None, str | None]:
    if is_blank(v):
        return None, BLANK
    if isinstance(v, dt.datetime):
        return v.date(), None
    if isinstance(v, dt.date):
        return v, None
    if isinstance(v, int | float) and not isinstance(v, bool):
        # An Excel serial in a cell without a date format.
        if 1 <= v < 2958466 and float(v).is_integer():
            return _EXCEL_EPOCH + dt.timedelta(days=int(v)), None
        return None, BAD_DATE
    s = unicodedata.normalize("NFKC", clean_text(v))
    s = re.sub(r"(T|\s+)\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$", "", s).replace(" ", "")
    for pat in _DATE_PATTERNS:
        m = pat.match(s)
        if m:
            try:
                return dt.date(int(m[1]), int(m[2]), int(m[3])), None
            except ValueError:
                return None, BAD_DATE
    return None, BAD_DATE


def parse_period(v: Any) -> str | None:
    """'2026-11', '2026/11', '2026年11月' or a date cell → 'YYYY-MM'; else None."""
    if isinstance(v, dt.date | dt.datetime):
        return f"{v.year:04d}-{v.month:02d}"
    if not isinstance(v, str):
        return None  # a number cell (2026.1: January or October?) is not a period
    s = unicodedata.normalize("NFKC", clean_text(v)).replace(" ", "")
    for pat in _PERIOD_PATTERNS:
        m = pat.match(s)
        if m and 1 <= int(m[2]) <= 12:
            return f"{int(m[1]):04d}-{int(m[2]):02d}"
    d, issue = parse_date(s) if s and not s.replace(".", "").isdigit() else (None, BAD_DATE)
    return f"{d.year:04d}-{d.month:02d}" if d and not issue else None


def is_email(v: Any) -> bool:
    return bool(_EMAIL_RE.match(clean_text(v)))


def month_bounds(period: str) -> tuple[dt.date, dt.date]:
    y, m = (int(x) for x in period.split("-"))
    start = dt.date(y, m, 1)
    end = dt.date(y + (m == 12), m % 12 + 1, 1) - dt.timedelta(days=1)
    return start, end
