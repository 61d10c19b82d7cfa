"""The leaders' report as an XLSX workbook: the same tables as the HTML page, one per sheet.

In: the dict of `data.build_report_data`. Out: an .xlsx file (openpyxl) with a 说明 sheet
(headline sentences, sources) and one sheet per table: title, subtitle, frozen header row,
filters, number formats (shares '0.0%'), column widths, landscape A4 printing fitted to
the page width. Text is always written as text: a name starting with '=', '+', '-' or '@'
never becomes a formula (data type forced to string, quote prefix set).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from fivestar.report.html import SOURCE_LABELS, report_tables
from fivestar.report.table_specs import Col

FORMULA_CHARS = ("=", "+", "-", "@")
NUMBER_FORMATS = {
    "int": "0",
    "rank": "0",
    "num": "0.00",
    "money": "#,##0",
    "pct": "0.0%",
    "dpct": "+0.0;-0.0;0.0",  # percentage points (value × 100)
    "int_delta": "+0;-0;0",
    "drank": "+0;-0;0",
}
TEXT_KINDS = ("text", "long", "code")
HEADER_ROW = 3
_THIN = Side(style="thin", color="BFBFBF")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_HEADER_FILL = PatternFill("solid", fgColor="F3E5E5")
_WEAK_FILL = PatternFill("solid", fgColor="FFCDD2")


def set_text(cell: Cell, value: Any) -> None:
    """Write `value` as a string cell, never as a formula."""
    s = "" if value is None else str(value)
    cell.value = s
    cell.data_type = "s"  # openpyxl turns any '=…' string into a formula otherwise
    if s.startswith(FORMULA_CHARS):
        cell.quotePrefix = True  # Excel/WPS keep it text when the cell is edited


def _display_width(s: str) -> int:
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in s)


NOTES_TEXT_WIDTH = 110  # column B of the 说明 sheet, in character units
LINE_POINTS = 16  # one line of 11 pt CJK text, with leading


def wrapped_height(text: str, width: float) -> float:
    """Row height (points) that shows all of `text` wrapped in a column `width` characters wide.

    Excel and LibreOffice keep a row's stored height when printing, and openpyxl stores
    none, so a long headline would print as one clipped line. A CJK character is about two
    width units (a bit more in some fonts: 10% slack), each line break starts a new line.
    """
    per_line = max(1.0, width / 1.1)
    lines = sum(max(1, math.ceil(_display_width(part) / per_line)) for part in text.split("\n"))
    return lines * LINE_POINTS + 4


def _number(v: Any, kind: str) -> float | int | None:
    if v is None or v == "":
        return None
    if kind == "dpct":
        return round(float(v) * 100, 4)
    if kind in ("int", "rank", "int_delta", "drank"):
        return int(v)
    return float(v)


def write_table(
    ws: Worksheet,
    title: str,
    subtitle: str,
    cols: tuple[Col, ...],
    rows: list[dict[str, Any]],
    *,
    weak: str | None = None,
) -> None:
    """Title (row 1), subtitle (row 2), header (row 3, frozen, filtered) and the rows below."""
    set_text(ws.cell(1, 1), title)
    ws.cell(1, 1).font = Font(bold=True, size=14)
    set_text(ws.cell(2, 1), subtitle)
    ws.cell(2, 1).font = Font(color="666666", size=10)
    widths = [_display_width(c.header) + 2 for c in cols]
    for j, c in enumerate(cols, start=1):
        cell = ws.cell(HEADER_ROW, j)
        set_text(cell, c.header)
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
        cell.border = _BORDER
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for i, r in enumerate(rows, start=HEADER_ROW + 1):
        weak_codes = set(r.get(weak) or []) if weak else set()
        for j, c in enumerate(cols, start=1):
            cell = ws.cell(i, j)
            v = r.get(c.key)
            if c.kind in TEXT_KINDS:
                set_text(cell, v)
                if c.kind == "long":
                    cell.alignment = Alignment(wrap_text=True, vertical="top")
                widths[j - 1] = max(widths[j - 1], _display_width("" if v is None else str(v)) + 2)
            else:
                cell.value = _number(v, c.kind)
                cell.number_format = NUMBER_FORMATS.get(c.kind, "General")
                widths[j - 1] = max(widths[j - 1], 10)
            cell.border = _BORDER
            if weak_codes and c.key.split("_", 1)[-1] in weak_codes and c.key.startswith(("held_", "share_")):
                cell.fill = _WEAK_FILL
    for j, c in enumerate(cols, start=1):
        ws.column_dimensions[get_column_letter(j)].width = min(
            60 if c.kind == "long" else 40, max(6, widths[j - 1])
        )
    ws.freeze_panes = ws.cell(HEADER_ROW + 1, 1)
    last = get_column_letter(len(cols))
    ws.auto_filter.ref = f"A{HEADER_ROW}:{last}{HEADER_ROW + max(len(rows), 1)}"
    _print_setup(ws)
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"


def _print_setup(ws: Worksheet) -> None:
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0  # as many pages tall as needed
    ws.sheet_properties.pageSetUpPr.fitToPage = True


def _notes_sheet(ws: Worksheet, d: dict[str, Any], title: str, subtitle: str) -> None:
    set_text(ws.cell(1, 1), title)
    ws.cell(1, 1).font = Font(bold=True, size=16, color="B71C1C")
    set_text(ws.cell(2, 1), subtitle)
    row = 4
    set_text(ws.cell(row, 1), "总体情况")
    ws.cell(row, 1).font = Font(bold=True, size=12)
    for h in [*d["headline"]["province"], *d["headline"]["cities"]]:
        row += 1
        set_text(ws.cell(row, 1), h["area_name"])
        sentence = h["text"] + (h.get("five_star_note") or "")
        set_text(ws.cell(row, 2), sentence)
        ws.cell(row, 2).alignment = Alignment(wrap_text=True, vertical="top")
        ws.cell(row, 1).alignment = Alignment(vertical="top")
        ws.row_dimensions[row].height = wrapped_height(sentence, NOTES_TEXT_WIDTH)
    row += 2
    set_text(ws.cell(row, 1), "数据来源")
    ws.cell(row, 1).font = Font(bold=True, size=12)
    for k, v in d["sources"].items():
        row += 1
        set_text(ws.cell(row, 1), SOURCE_LABELS.get(k, k))
        set_text(ws.cell(row, 2), v)
        ws.cell(row, 2).alignment = Alignment(wrap_text=True, vertical="top")
        ws.cell(row, 1).alignment = Alignment(vertical="top")
        ws.row_dimensions[row].height = wrapped_height(str(v), NOTES_TEXT_WIDTH)
    ws.column_dimensions["A"].width = 14
    ws.column_dimensions["B"].width = NOTES_TEXT_WIDTH
    _print_setup(ws)


def write_report_xlsx(d: dict[str, Any], path: Path) -> Path:
    """Write the workbook for a `build_report_data` dict to `path` and return it."""
    title = f"“五星”支部创建工作报告（{d['year']}年）"
    subtitle = f"数据截至 {d['as_of']}（{'年终评定' if d['is_final'] else '年度至今评定'}）；生成时间 {d['generated_at']}"
    wb = Workbook()
    notes = wb.active
    notes.title = "说明"
    _notes_sheet(notes, d, title, subtitle)
    used: set[str] = {"说明"}
    for key, (sheet, cols, rows) in report_tables(d).items():
        name = sheet[:31]
        k = 2
        while name in used:  # sheet names must be unique
            name = f"{sheet[:28]}_{k}"
            k += 1
        used.add(name)
        ws = wb.create_sheet(name)
        write_table(
            ws,
            f"{title} · {sheet}",
            subtitle,
            cols,
            rows,
            weak="weakest_codes" if key == "per_star" else None,
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path
