"""Plain-Chinese wording of cell problems found at read time.

In: an issue or warn code from `fivestar.cells`, the column header, the value as
shown, and the column's own rule (`expected_text`: its type and range from
config/workbook.yaml and the roster ranges of the rulebook, e.g. 党员人数 不小于3).
Out: the message a submitter reads: what was found, the column's rule, what to write
instead. The templates are the catalogue's relay rows (`validate/catalogue/`).
"""

from __future__ import annotations

import re

from fivestar import cells
from fivestar.config import Column
from fivestar.validate import catalogue
from fivestar.validate.suites import TYPE_TEXT, column_ranges

_FMT = "{:g}"
# Warn codes → their relay group in rule ids (`<sheet>.<column>.<group>.<code>`).
_WARN_GROUP = {cells.ID_MASKED: "resident_id", cells.ID_HASHED: "resident_id"}
# A number typed with its unit ("45人", "3.5 万元"): the unit is the whole mistake.
_WITH_UNIT = re.compile(r"^\s*([-+]?\d+(?:\.\d+)?)\s*([^\d\s.+\-][^\d]*)$")
UNIT_TEXT = "“{header}”只填数字，不要带单位：当前为“{shown}”，请去掉“{unit}”，改填{number}；{expected}"
_TYPE_WORDS = {"int": "整数", "num": "数值", "rate": "数值（百分数）"}


def expected_text(sheet_key: str, col: Column) -> str:
    """The column's rule in words: 应填写不小于3的整数 / 应填写18–80之间的整数."""
    lo, hi = column_ranges(sheet_key, col)
    word = _TYPE_WORDS.get(col.type)
    if word is None or (lo is None and hi is None):
        return TYPE_TEXT.get(col.type, "")
    if lo is not None and hi is not None:
        return f"应填写{fmt_number(lo)}–{fmt_number(hi)}之间的{word}"
    if lo is not None:
        return f"应填写不小于{fmt_number(lo)}的{word}"
    return f"应填写不大于{fmt_number(hi)}的{word}"  # type: ignore[arg-type]


def issue_message(code: str, header: str, shown: str, expected: str) -> str:
    if code == cells.NOT_NUMBER:
        m = _WITH_UNIT.match(shown or "")
        if m:
            return UNIT_TEXT.format(
                header=header, shown=shown, unit=m.group(2).strip(), number=m.group(1), expected=expected
            )
    r = catalogue.find(f"{{sheet}}.{{column}}.type.{code}")
    if r is None:
        return f"“{header}”填写有误，当前为“{shown}”；{expected}"
    return r.message.format(header=header, shown=shown, expected=expected)


def warn_message(code: str, header: str, shown: str) -> str:
    r = catalogue.find(f"{{sheet}}.{{column}}.{_WARN_GROUP.get(code, 'format')}.{code}")
    if r is None:
        return f"“{header}”请核实：当前为“{shown}”"
    pct = ""
    if code == cells.PCT_DECIMAL:
        try:
            pct = fmt_number(round(float(shown) * 100, 6))
        except ValueError:
            pct = shown
    return r.message.format(header=header, shown=shown, pct=pct)


def fmt_number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else _FMT.format(x)
