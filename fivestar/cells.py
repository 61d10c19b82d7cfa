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
TOO_LONG = "too_long"  # a number of 15 or more digits (an ID typed as a number)

EXCEL_ERRORS = frozenset(
    {"#DIV/0!", "#REF!", "#N/A", "#VALUE!", "#NAME?", "#NUM!", "#NULL!", "#GETTING_DATA", "#SPILL!", "#CALC!"}
)
_NUMBER_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_THOUSANDS_RE = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")
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
# A resident ID (居民身份证号) is 17 digits + a digit or X (18 characters), or 15 digits
# (old style). People type it half- or full-width (１２３, Ｘ), with a prefix
# (SFZ410621…), or in groups with spaces, dashes or dots (410621 19700505 1118). Every such
# form is masked to one canonical shape, 410621********1118; so is any other run of
# 15 or more digits (an ID typed as a number, an ID missing a digit): nothing with 15
# digits in a row travels further. `\d` is any Unicode decimal digit (full-width too).
_X = "XxＸｘ"
# Spaces, line breaks, dashes, underscores and dots between digit groups (ASCII or not).
_SEP = r"[ \t\r\n\u00a0\u3000\-\u2010-\u2015\u2212\uff0d\ufe63_.\uff0e\u00b7\u30fb]"
_ID_TEXT = re.compile(
    # Not the fractional part of a decimal number (0.30000000000000004 is no ID).
    r"(?<!\d[.．])(?<!\d)"
    rf"(?:\d{{17}}[\d{_X}]|\d{{15,}}"  # contiguous: an 18-character ID or any long digit run
    rf"|\d(?:{_SEP}{{1,3}}\d|\d){{16}}{_SEP}{{0,3}}[\d{_X}]"  # 18 characters in groups
    rf"|\d(?:{_SEP}{{1,3}}\d|\d){{14}})"  # 15 digits in groups
    r"(?!\d)"
)
# A number of 15+ digits in scientific notation (4.106212001010145e+17, as Python or
# pandas print a float): its mantissa shows most of the ID.
_SCI = re.compile(r"(?<![\d.])(\d[.．]\d{13,}[eE]\+?(\d{1,3}))(?![\d.])")
_SEP_RE = re.compile(_SEP)
# A superset of everything masked: 15 digits, at most 3 other characters between two.
# Cheap to search (no look-behind at every position); most texts stop here.
_CANDIDATE = re.compile(r"\d(?:\D{0,3}\d){14}")
_WHOLE_ID = re.compile(r"^(\d{17}[\dX]|\d{15})$")


def _digits(s: str) -> str:
    """A matched run as ASCII: full-width digits and Ｘ folded, separators dropped."""
    return _SEP_RE.sub("", unicodedata.normalize("NFKC", s)).upper()


# First two digits of an ID: the province (GB/T 2260), Taiwan, Hong Kong, Macao.
_PROVINCES = frozenset(
    str(n) for n in (11, 12, 13, 14, 15, 21, 22, 23, *range(31, 38), *range(41, 47), *range(50, 55))
) | frozenset(str(n) for n in (*range(61, 66), 71, 81, 82))


def _plausible(d: str) -> bool:
    """Grouped digits are masked only when they look like an ID: a province code first, a
    birth date where an ID has one. Two phone numbers side by side (0372-1234567
    13800138000) or a date and a time (2026-11_20261105_1530) are not an ID."""
    if d[:2] not in _PROVINCES:
        return False
    if len(d) == 18:
        y, m, day = int(d[6:10]), int(d[10:12]), int(d[12:14])
        ok_year = 1850 <= y <= 2100
    elif len(d) == 15:
        m, day = int(d[8:10]), int(d[10:12])
        ok_year = True
    else:
        return False
    return ok_year and 1 <= m <= 12 and 1 <= day <= 31


def _mask_all(text: str, start: int = 0) -> str:
    out: list[str] = []
    pos, done = start, 0
    while (m := _ID_TEXT.search(text, pos)) is not None:
        d = _digits(m.group(0))
        if len(d) != len(m.group(0)) and not _plausible(d):
            # Grouped digits without a birth date: no ID from this digit, maybe from the next.
            pos = m.start() + 1
            continue
        out += [text[done : m.start()], mask_digits(d)]
        pos = done = m.end()
    return "".join(out) + text[done:] if out else text


def mask_digits(d: str) -> str:
    """'410621197005051118' → '410621********1118': first 6 and last 4 kept (spec)."""
    return d[:6] + "*" * max(len(d) - 10, 4) + d[-4:]


def mask_ids_in(text: str) -> str:
    """Mask every resident-ID-like run inside free text (also in messages and logs)."""
    # Cheap exits first: most texts have fewer than 15 digits in all.
    if len(text) < 15 or sum(map(str.isdigit, text)) < 15:
        return text
    first = _CANDIDATE.search(text)
    if first is None:
        return text
    if "e" in text or "E" in text:
        sci = _SCI.sub(_mask_sci, text)
        if sci != text:
            return _mask_all(sci)
    return _mask_all(text, first.start())


def _mask_sci(m: re.Match[str]) -> str:
    if int(m.group(2)) < 14:
        return m.group(0)  # under 10^14: an ordinary number
    return mask_digits(str(int(float(unicodedata.normalize("NFKC", m.group(1))))))


def normalise_id(s: Any) -> str:
    """An ID-like text in one canonical form (NFKC, upper case, no spaces or dashes, no
    letter prefix), so a person gets the same keyed hash however the ID was typed."""
    t = _SEP_RE.sub("", unicodedata.normalize("NFKC", clean_text(s))).upper()
    core = t.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ:：")
    return core if _WHOLE_ID.match(core) else t


def is_resident_id(v: Any) -> bool:
    """The whole value is an ID (any width, any grouping, an optional letter prefix)."""
    t = v if isinstance(v, str) else clean_text(v)
    if len(t) < 15 or sum(map(str.isdigit, t)) < 15:  # the common case, decided cheaply
        return False
    return bool(_WHOLE_ID.match(normalise_id(t)))


def mask_id(s: str) -> str:
    t = clean_text(s)
    masked = mask_ids_in(t)
    return masked if masked != t else mask_digits(normalise_id(t))


def hash_id(s: str, key: str) -> str:
    digest = hmac.new(key.encode(), normalise_id(s).encode(), hashlib.sha256)
    return "IDH-" + digest.hexdigest()[:20]


LONG_NUMBER = 10**14  # a number with 15 or more digits before the point: never shown in full


def display(v: Any) -> str:
    """How a raw value is shown back to people: never a resident ID."""
    if v is None or (isinstance(v, float) and v != v):  # blank, NaN
        return ""
    if isinstance(v, int | float) and not isinstance(v, bool) and abs(v) >= LONG_NUMBER:
        if isinstance(v, float) and v in (float("inf"), float("-inf")):
            return str(v)
        # An ID typed as a number: 4.106212001010145e+17 would show 16 of its digits.
        return ("-" if v < 0 else "") + mask_digits(str(abs(int(v))))
    if isinstance(v, float) and v.is_integer():
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
    if abs(x) >= LONG_NUMBER:  # 15+ digits: an ID typed as a number; never stored
        return None, TOO_LONG, None
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
            if x is not None and abs(x) >= LONG_NUMBER:
                return None, TOO_LONG, None
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
