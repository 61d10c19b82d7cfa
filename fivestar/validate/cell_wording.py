"""Plain-Chinese wording of cell problems found at read time.

In: an issue or warn code from `fivestar.cells`, the column header, the value as
shown, and the expected-type text. Out: the message a submitter reads. The templates
are the catalogue's relay rows (`validate/catalogue/`).
"""

from __future__ import annotations

from fivestar import cells
from fivestar.validate import catalogue

_FMT = "{:g}"
# Warn codes → their relay group in rule ids (`<sheet>.<column>.<group>.<code>`).
_WARN_GROUP = {cells.ID_MASKED: "resident_id", cells.ID_HASHED: "resident_id"}


def issue_message(code: str, header: str, shown: str, expected: str) -> str:
    r = catalogue.find(f"{{sheet}}.{{column}}.type.{code}")
    if r is None:
        return f"“{header}”填写有误，当前为“{shown}”；{expected}"
    return r.message.format(header=header, shown=shown, expected=expected)


def warn_message(code: str, header: str, shown: str) -> str:
    r = catalogue.find(f"{{sheet}}.{{column}}.{_WARN_GROUP.get(code, 'format')}.{code}")
    if r is None:
        return f"“{header}”请核实：当前为“{shown}”"
    return r.message.format(header=header, shown=shown)


def fmt_number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else _FMT.format(x)
