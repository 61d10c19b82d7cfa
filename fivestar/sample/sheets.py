"""In-memory sheets of one workbook, and writing them as a reproducible .xlsx.

In: `Sheet`s (a title, an optional header row, data `Row`s whose cells are plain
values or `Styled(value, number_format)`). Out: an .xlsx written with openpyxl's
write-only mode (streaming, so a province of 52k branches is feasible), with fixed
document properties and fixed zip timestamps, so the same content gives the same bytes.

Rows are lists that also carry `meta` (the record they render), so injected problems
can point at a row object and get its Excel row number only when the file is final.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.writer.excel import ExcelWriter

ZIP_TIME = (2026, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Styled:
    """A cell value with a number format (percent rates, date cells)."""

    value: Any
    number_format: str


class BlankStyled:
    """A styled empty cell (a formatted but unused template row)."""


BLANK_STYLED = BlankStyled()


class Row(list):
    """A worksheet row (list of cell values) with the record it renders in `meta`."""

    __slots__ = ("meta",)

    def __init__(self, values: list[Any], meta: Any = None) -> None:
        super().__init__(values)
        self.meta = meta

    def copy_row(self) -> Row:
        return Row(list(self), self.meta)


@dataclass
class Sheet:
    title: str
    header: list[str] | None  # None: the cover (labels in A, values in B, from row 1)
    rows: list[Row] = field(default_factory=list)
    widths: list[int] = field(default_factory=list)
    display_header: list[str] | None = None  # header as written, when a variant is used

    @property
    def first_row(self) -> int:
        return 1 if self.header is None else 2

    def col(self, header: str) -> int:
        assert self.header is not None
        return self.header.index(header)

    def excel_row(self, row: Row) -> int:
        for i, r in enumerate(self.rows):
            if r is row:
                return i + self.first_row
        raise LookupError("row no longer in sheet")

    def cell_ref(self, row: Row, header: str | None) -> str:
        """A1 reference; on the cover (no header) always the value cell in column B."""
        col = 2 if self.header is None or header is None else self.col(header) + 1
        return f"{get_column_letter(col)}{self.excel_row(row)}"


class _FixedTimeZip(zipfile.ZipFile):
    """A ZipFile that stamps every member with the same time (reproducible bytes)."""

    def writestr(self, zinfo_or_arcname, data, compress_type=None, compresslevel=None):  # type: ignore[override]
        if not isinstance(zinfo_or_arcname, zipfile.ZipInfo):
            info = zipfile.ZipInfo(zinfo_or_arcname, date_time=ZIP_TIME)
            info.compress_type = self.compression
            info.external_attr = 0o600 << 16
            zinfo_or_arcname = info
        super().writestr(zinfo_or_arcname, data, compress_type, compresslevel)

    def write(self, filename, arcname=None, compress_type=None, compresslevel=None):  # type: ignore[override]
        # openpyxl streams write-only sheets through temp files; their mtime would leak in.
        with open(filename, "rb") as f:
            self.writestr(arcname or Path(filename).name, f.read(), compress_type, compresslevel)


_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_WRAP = Alignment(wrap_text=True, vertical="center")
_BLANK_FILL = PatternFill("solid", fgColor="FFF2CC")


def _cell(ws: Any, value: Any) -> Any:
    if isinstance(value, Styled):
        c = WriteOnlyCell(ws, value=value.value)
        c.number_format = value.number_format
        return c
    if isinstance(value, BlankStyled):
        c = WriteOnlyCell(ws, value=None)
        c.fill = _BLANK_FILL
        return c
    return value


def write_xlsx(path: Path, sheets: list[Sheet], when: dt.datetime, author: str) -> None:
    wb = Workbook(write_only=True)
    wb.properties.created = when
    wb.properties.modified = when
    wb.properties.creator = author
    wb.properties.lastModifiedBy = author
    for sh in sheets:
        ws = wb.create_sheet(sh.title)
        for i, w in enumerate(sh.widths, 1):
            ws.column_dimensions[get_column_letter(i)].width = w
        if sh.header is not None:
            header = sh.display_header or sh.header
            cells = []
            for h in header:
                c = WriteOnlyCell(ws, value=h)
                c.font = _HEADER_FONT
                c.fill = _HEADER_FILL
                c.alignment = _WRAP
                cells.append(c)
            ws.append(cells)
        for row in sh.rows:
            ws.append([_cell(ws, v) for v in row])
    path.parent.mkdir(parents=True, exist_ok=True)
    # openpyxl's save_workbook() stamps `modified` with the wall clock; drive ExcelWriter directly.
    with _FixedTimeZip(path, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        ExcelWriter(wb, archive).save()
