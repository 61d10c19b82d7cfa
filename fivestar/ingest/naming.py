"""Which county a workbook belongs to when its file name does not start with a county code.

In: the file (an .xlsx found in a period folder), the registered county codes and their
names. Out: the county found and every candidate seen. A county code written in the
first sheet (the cover's 县代码: any registered 6-digit code in its first rows) and a
registered county name inside the file name are the evidence; one county when all of
it agrees, else None (ambiguous or nothing found). Nothing raises on a bad file.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import python_calamine as pc

from fivestar import cells

_ROWS, _COLS = 20, 6


def codes_in_first_sheet(path: Path, county_codes: frozenset[str] | set[str]) -> set[str]:
    try:
        with pc.CalamineWorkbook.from_path(str(path)) as book:
            if not book.sheet_names:
                return set()
            rows = book.get_sheet_by_name(book.sheet_names[0]).to_python(nrows=_ROWS)
    except Exception:  # not a workbook we can read: the name alone decides
        return set()
    found = set()
    for row in rows:
        for v in row[:_COLS]:
            code = cells.to_code(v) if not cells.is_blank(v) else ""
            if code in county_codes:
                found.add(code)
    return found


def names_in_file_name(file_name: str, county_names: Mapping[str, str]) -> set[str]:
    """Codes of the registered county names the file name contains (the longest match
    wins: 林州市 over 林州)."""
    stem = cells.normalise_header(Path(file_name).stem)
    hits = {
        code: name for code, name in county_names.items() if name and cells.normalise_header(name) in stem
    }
    longest = max((len(n) for n in hits.values()), default=0)
    return {c for c, n in hits.items() if len(n) == longest}


def county_of_unnamed(
    path: Path, county_codes: frozenset[str] | set[str], county_names: Mapping[str, str]
) -> tuple[str | None, list[str]]:
    """(the county, or None when none or several are found; the candidates, sorted)."""
    by_name = names_in_file_name(path.name, county_names)
    by_cover = codes_in_first_sheet(path, county_codes) if path.suffix.lower() == ".xlsx" else set()
    candidates = sorted(by_name | by_cover)
    if len(candidates) == 1:
        return candidates[0], candidates
    return None, candidates


def suggested_name(code: str, file_name: str) -> str:
    return f"{code}_{file_name}"
