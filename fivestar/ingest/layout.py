"""What a sheet looks like around its table: where its header really is, which cells are
merged, which sheets the file has.

In: a received .xlsx path and sheet names / expected headers from the workbook contract.
Out: plain values (a row number, A1 ranges, names); nothing raises on a bad file (an
unreadable part reads as "nothing found"). Used by `fivestar.validate.root_causes`
only for sheets that already have symptoms, so a clean file costs nothing here.
"""

from __future__ import annotations

import re
from pathlib import Path

import python_calamine as pc

from fivestar import cells
from fivestar.ingest.xlsx_meta import XlsxParts

_A1 = re.compile(r"^([A-Z]+)([0-9]+):([A-Z]+)([0-9]+)$")


def sheet_names(path: Path) -> list[str]:
    try:
        return list(XlsxParts(path).sheet_parts())
    except Exception:  # a broken workbook part: the reader has reported it already
        return []


def actual_name(path: Path, sheet: str) -> str | None:
    """The file's own spelling of a contract sheet name (matched as the reader does)."""
    want = cells.normalise_header(sheet)
    return next((n for n in sheet_names(path) if cells.normalise_header(n) == want), None)


def vertical_merges(path: Path, sheet: str) -> list[tuple[str, str, int, int]]:
    """Merged ranges spanning more than one row below the header: (A1 range, column
    letters of the first column, first row, last row)."""
    want = cells.normalise_header(sheet)
    try:
        parts = XlsxParts(path)  # one parse of the workbook part for the name and the ranges
        name = next((n for n in parts.sheet_parts() if cells.normalise_header(n) == want), None)
        refs = parts.merged_ranges(name) if name is not None else []
    except Exception:  # a broken workbook part: the reader has reported it already
        return []
    out = []
    for ref in refs:
        m = _A1.match(ref)
        if m and int(m.group(4)) > int(m.group(2)) >= 2:
            out.append((ref, m.group(1), int(m.group(2)), int(m.group(4))))
    return out


def header_row(path: Path, sheet: str, headers: list[str], *, look: int = 20) -> int | None:
    """The row (1-based, > 1) among the first `look` rows holding most of `headers`, when
    row 1 does not; None when no row holds at least half of them."""
    name = actual_name(path, sheet)
    row = find_header(path, name, headers, look=look) if name else None
    return row if row and row > 1 else None


def find_header(path: Path, name: str, headers: list[str], *, look: int = 20) -> int | None:
    """The row (1-based) among the first `look` rows of sheet `name` (as spelt in the
    file) holding most of `headers`; None when no row holds at least half of them."""
    want = {cells.normalise_header(h) for h in headers}
    if not want:
        return None
    try:
        with pc.CalamineWorkbook.from_path(str(path)) as book:
            rows = book.get_sheet_by_name(name).to_python(skip_empty_area=False, nrows=look)
    except Exception:
        return None
    best, best_n = None, len(want) / 2
    for i, row in enumerate(rows, start=1):
        n = len(want & {cells.normalise_header(v) for v in row if not cells.is_blank(v)})
        if n > best_n:
            best, best_n = i, n
    return best
