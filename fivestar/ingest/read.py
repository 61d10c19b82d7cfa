"""Read one county workbook into typed frames with cell provenance.

In: a received file (path), the Rulebook's workbook layout and the file limits.
Out: a `ParsedWorkbook`: the cover values (with their B-column cells), one typed
DataFrame per sheet key (`_row` = Excel row; per column the value plus
`<key>__issue` / `<key>__warn` codes and `<key>__raw` text for flagged cells),
each column's letter, and the structural findings (whole file, sheet, column).
Cell-level rules are left to validation; nothing here raises on bad input.

Cost: python-calamine reads the cells; parsing is per cell in Python, so each column
is transposed once, repeated values (codes, choices, names) are parsed once per column,
numbers and dates take direct paths, and the sheet XML is consulted only for columns
that have blank cells (error cells and formulas without a cached value read as blank).
"""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import python_calamine as pc

from fivestar import cells
from fivestar.config import Limits, Rulebook, SheetSpec
from fivestar.findings import ERROR, WARNING, col_letter, finding, make_findings
from fivestar.ingest.columns import TYPED, empty_sheet_frame, is_blank, parse_column, transpose_rows
from fivestar.ingest.xlsx_meta import XlsxParts, check_container

log = logging.getLogger(__name__)

FILE_MESSAGES = {
    "empty": ("文件为空（0字节），请重新导出后上报", "empty file (0 bytes)"),
    "encrypted": ("文件设置了打开密码（已加密），请取消密码后重新上报", "password-encrypted workbook"),
    "xls": (
        "文件是旧版Excel格式（.xls），请在Excel或WPS中“另存为”.xlsx格式后重新上报",
        "legacy .xls (BIFF) file",
    ),
    "not_xlsx": (
        "文件不是有效的Excel工作簿（.xlsx），请使用省级统一模板并另存为.xlsx后上报",
        "not an .xlsx workbook",
    ),
    "truncated": ("文件已损坏或不完整，无法打开，请重新保存后上报", "corrupt or truncated zip"),
    "too_large": ("文件解压后超过大小上限，请删除无关内容后重新上报", "uncompressed size over the limit"),
    "ratio": ("文件压缩比异常（疑似压缩炸弹），已拒收，请重新保存后上报", "compression ratio over the limit"),
    "timeout": (
        "文件处理超时，请检查文件是否异常（如大量空白格式行、超大图片）后重新保存上报",
        "reading exceeded the per-file timeout",
    ),
    "unreadable": ("文件无法读取，请用Excel或WPS重新保存为.xlsx后上报", "reader failed"),
}


@dataclass
class CoverCell:
    key: str
    label: str
    row: int | None
    cell: str
    raw: Any
    text: str


@dataclass
class ParsedWorkbook:
    file_key: str
    path: Path
    cover: dict[str, CoverCell] = field(default_factory=dict)
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    letters: dict[str, dict[str, str]] = field(default_factory=dict)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    findings: pd.DataFrame = field(default_factory=lambda: make_findings([]))
    fatal: bool = False
    detail: str = ""  # English, for IT staff logs
    # What a check run beside the reading returned (fivestar.ingest.parallel `then`);
    # None when none ran or it failed, so the caller runs it itself.
    checked: Any = None

    def sheet_name(self, rb: Rulebook, key: str) -> str:
        return rb.cover_sheet if key == "cover" else rb.sheets[key].sheet


def file_error(file_key: str, code: str, detail: str = "") -> ParsedWorkbook:
    zh, en = FILE_MESSAGES.get(code, FILE_MESSAGES["unreadable"])
    # detail goes to logs: exception texts may quote the file name, which may hold an ID.
    detail = cells.mask_ids_in(f"{en} {detail}".strip())
    pw = ParsedWorkbook(file_key=file_key, path=Path(), fatal=True, detail=detail)
    pw.findings = make_findings([finding(ERROR, f"file.{code}", zh, file_key=file_key)])
    return pw


def read_workbook(path: Path, rb: Rulebook, limits: Limits, *, file_key: str, id_key: str) -> ParsedWorkbook:
    """Never raises for bad input: problems come back as findings."""
    problem = check_container(path, limits)
    if problem:
        pw = file_error(file_key, problem.code, problem.detail)
        pw.path = path
        return pw
    try:
        book = pc.CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises several error types for broken parts
        pw = file_error(file_key, "truncated" if "zip" in str(exc).lower() else "unreadable", str(exc)[:200])
        pw.path = path
        return pw
    reader = _Reader(path, book, rb, limits, file_key, id_key)
    try:
        return reader.read()
    except Exception as exc:  # a reader bug on one odd file must not stop the run
        # The traceback, masked: its texts may quote a file name holding a resident ID.
        log.error(
            "reading %s failed\n%s", cells.mask_ids_in(path.name), cells.mask_ids_in(traceback.format_exc())
        )
        pw = file_error(file_key, "unreadable", f"{type(exc).__name__}: {exc}"[:300])
        pw.path = path
        return pw
    finally:
        book.close()


class _Reader:
    def __init__(
        self, path: Path, book: Any, rb: Rulebook, limits: Limits, file_key: str, id_key: str
    ) -> None:
        self.path = path
        self.book = book
        self.rb = rb
        self.limits = limits
        self.file_key = file_key
        self.id_key = id_key
        self.parts = XlsxParts(path)
        self.out = ParsedWorkbook(file_key=file_key, path=path)
        self.found: list[dict[str, Any]] = []
        self.names = {cells.normalise_header(n): n for n in book.sheet_names}

    def _f(self, severity: str, rule: str, message: str, **kw: Any) -> None:
        self.found.append(finding(severity, rule, message, file_key=self.file_key, **kw))

    def _sheet_rows(self, sheet_name: str) -> tuple[list[Any], list[tuple[int, list[Any]]]] | None:
        """(header row, [(Excel row, cells)] of the non-blank data rows), or None over the limit.

        Streams the rows and stops as soon as the sheet has more non-blank data rows than
        the limit; blank rows (also styled ones) are skipped wherever they are.
        """
        sheet = self.book.get_sheet_by_name(sheet_name)
        if sheet.start is None:  # nothing in the sheet at all
            return [], []
        # calamine's iter_rows yields every row from row 1 (empty ones padded) but the
        # cells of each row only from the first used column: pad those back.
        pad: list[Any] = [""] * sheet.start[1]
        limit = self.limits.max_rows_per_sheet
        header: list[Any] = []
        data: list[tuple[int, list[Any]]] = []
        for n, row in enumerate(sheet.iter_rows(), start=1):
            if n == 1:
                header = pad + list(row)
            elif not all(map(is_blank, row)):
                data.append((n, pad + row if pad else list(row)))
                if len(data) > limit:
                    self._f(
                        ERROR,
                        "file.too_many_rows",
                        f"工作表“{sheet_name}”的数据超过{limit}行上限，请删除多余的行后重新上报",
                        sheet=sheet_name,
                    )
                    self.out.detail = f"sheet {sheet_name!r} has more than {limit} rows"
                    return None
        return header, data

    def read(self) -> ParsedWorkbook:
        self._read_cover()
        for key, spec in self.rb.sheets.items():
            actual = self.names.get(cells.normalise_header(spec.sheet))
            if actual is None:
                if spec.required:
                    self._f(
                        ERROR,
                        "file.missing_sheet",
                        f"缺少工作表“{spec.sheet}”，请使用省级统一模板填报",
                        sheet=spec.sheet,
                    )
                    self.out.fatal = True
                else:
                    self.out.frames[key] = empty_sheet_frame(spec)
                continue
            rows = self._sheet_rows(actual)
            if rows is None:
                self.out.fatal = True
                continue
            frame = self._read_sheet(key, spec, *rows)
            if frame is not None:
                self.out.frames[key] = frame
        self.out.findings = make_findings(self.found)
        return self.out

    # ---- cover -----------------------------------------------------------------
    def _read_cover(self) -> None:
        sheet = self.rb.cover_sheet
        actual = self.names.get(cells.normalise_header(sheet))
        if actual is None:
            self._f(ERROR, "file.missing_sheet", f"缺少工作表“{sheet}”，请使用省级统一模板填报", sheet=sheet)
            self.out.fatal = True
            return
        rows = self.book.get_sheet_by_name(actual).to_python(skip_empty_area=False, nrows=500)
        wanted = {cells.normalise_header(f["label"]): f for f in self.rb.cover_fields}
        for i, r in enumerate(rows):
            if not r:
                continue
            f = wanted.get(cells.normalise_header(r[0]))
            if f and f["key"] not in self.out.cover:
                raw = r[1] if len(r) > 1 else None
                text = cells.to_code(raw) if f["key"] == "county_code" else cells.clean_text(raw)
                if cells.mask_ids_in(text) != text:
                    text = cells.mask_ids_in(text)
                    self._f(
                        WARNING,
                        f"cover.{f['key']}.resident_id.id_masked",
                        f"“{f['label']}”中疑似含有身份证号，已隐藏处理；请勿填写身份证号",
                        sheet=sheet,
                        row=i + 1,
                        column_name=f["label"],
                        cell=f"B{i + 1}",
                        value=text,
                    )
                self.out.cover[f["key"]] = CoverCell(f["key"], f["label"], i + 1, f"B{i + 1}", raw, text)
        for f in self.rb.cover_fields:
            if f["key"] not in self.out.cover:
                self.out.cover[f["key"]] = CoverCell(f["key"], f["label"], None, "", None, "")

    # ---- data sheets -----------------------------------------------------------
    def _read_sheet(
        self, key: str, spec: SheetSpec, header: list[Any], data: list[tuple[int, list[Any]]]
    ) -> pd.DataFrame | None:
        sheet = spec.sheet
        if all(cells.is_blank(v) for v in header) and spec.may_be_empty and not data:
            return empty_sheet_frame(spec)
        by_norm: dict[str, list[int]] = {}
        for i, h in enumerate(header):
            if not cells.is_blank(h):
                by_norm.setdefault(cells.normalise_header(h), []).append(i)
        positions: dict[str, int] = {}
        missing = False
        known = set()
        for col in spec.columns:
            norm = cells.normalise_header(col.header)
            known.add(norm)
            hits = by_norm.get(norm, [])
            if not hits:
                self._f(
                    ERROR,
                    "file.missing_column",
                    f"工作表“{sheet}”缺少列“{col.header}”，请使用统一模板，不要删除或修改表头",
                    sheet=sheet,
                    column_name=col.header,
                )
                missing = True
                continue
            if len(hits) > 1:
                self._f(
                    ERROR,
                    "file.duplicate_column",
                    f"列标题“{col.header}”出现了{len(hits)}次，请删除多余的列",
                    sheet=sheet,
                    column_name=col.header,
                    cell=f"{col_letter(hits[1])}1",
                )
                missing = True
            positions[col.key] = hits[0]
        for norm, idxs in by_norm.items():
            if norm not in known:
                for i in idxs:
                    text = cells.display(header[i])
                    self._f(
                        WARNING,
                        f"{key}.extra_column",
                        f"列“{text}”不在统一模板中，已忽略该列",
                        sheet=sheet,
                        column_name=text,
                        cell=f"{col_letter(i)}1",
                    )
        if missing:
            self.out.fatal = True
            return None
        self.out.letters[key] = {k: col_letter(i) for k, i in positions.items()}
        self.out.headers[key] = {c.key: c.header for c in spec.columns}
        excel_rows = [n for n, _ in data]
        frame: dict[str, Any] = {"_row": pd.array(excel_rows, dtype="int64")}
        pct = (
            self.parts.percent_cells(self._actual(sheet))
            if any(c.type == "rate" for c in spec.columns)
            else set()
        )
        problems: dict[tuple[int, str], str | None] | None = None
        columns = transpose_rows([r for _, r in data])
        for col in spec.columns:
            i = positions[col.key]
            raw = columns(i)
            letter = col_letter(i)
            values, issues, warns = parse_column(col, raw, excel_rows, letter, pct, key, self.id_key)
            blank = (cells.BLANK in issues) if col.type in TYPED else (None in values)
            if blank:  # exactly the columns with a blank cell (each parser reports those)
                # The fast reader returns error cells (#DIV/0!) and formulas without a
                # cached value as empty cells; the sheet XML tells them apart.
                if problems is None:
                    problems = self.parts.cell_problems(self._actual(sheet))
                if problems and any(problems.get((n, letter)) for n in excel_rows):
                    # An error cell reads as its text ('#DIV/0!'); formulas stay blank.
                    raw = [
                        (problems.get((n, letter)) or v) if is_blank(v) else v
                        for v, n in zip(raw, excel_rows, strict=True)
                    ]
                    values, issues, warns = parse_column(col, raw, excel_rows, letter, pct, key, self.id_key)
            if problems and col.type in TYPED:
                issues = [
                    cells.FORMULA_NO_VALUE
                    if x == cells.BLANK and (n, letter) in problems and problems[(n, letter)] is None
                    else x
                    for x, n in zip(issues, excel_rows, strict=True)
                ]
            frame[col.key] = values if col.type in TYPED else pd.array(values, dtype=object)
            frame[f"{col.key}__issue"] = pd.array(issues, dtype=object)
            frame[f"{col.key}__warn"] = pd.array(warns, dtype=object)
            flagged = any(issues) or any(warns)
            frame[f"{col.key}__raw"] = pd.array(
                [cells.display(v) if (a or b) else None for v, a, b in zip(raw, issues, warns, strict=True)]
                if flagged
                else [None] * len(raw),
                dtype=object,
            )
        df = pd.DataFrame(frame)
        for col in spec.columns:
            if col.type == "date":
                df[col.key] = pd.to_datetime(df[col.key])
        return df

    def _actual(self, sheet: str) -> str:
        return self.names.get(cells.normalise_header(sheet), sheet)
