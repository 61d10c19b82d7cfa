"""Feedback workbook for submitters: an annotated copy of their own file.

In: the received workbook (path; never modified), the Findings frame of that file
version, its status and the 情况说明 rows received.
Out: `<out>.xlsx` — the same workbook with every finding cell filled (red = 错误,
yellow = 提示) and commented in Chinese, plus a first sheet `审核结果` listing all
findings with links to their cells. When the original cannot be opened (corrupt,
encrypted, not xlsx, over the size limits) the output is a new workbook holding
only `审核结果`. Resident-ID-like values are masked in the copy (spec: they never
appear in feedback workbooks).

Cost: openpyxl load + save dominates (≈ 37 s for 100k rows × 20 columns, see
library-facts.md); setting fills and comments is negligible. Callers decide which
submissions need a copy (`copy_original=False` writes only the summary sheet).
"""

from __future__ import annotations

import logging
import math
import os
import time
import warnings
import zipfile
from pathlib import Path

import pandas as pd
from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import MergedCell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils.cell import get_column_letter
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.worksheet import Worksheet

from fivestar.feedback.common import (
    FEEDBACK_AUTHOR,
    SUMMARY_SHEET,
    clean_text,
    finding_line,
    marks_by_cell,
    mask_ids,
    normalise,
)
from fivestar.feedback.summary_sheet import (
    COPY_FIX,
    ERROR_RGB,
    HEADER_RGB,
    LINK_RGB,
    OK_RGB,
    WARNING_RGB,
    summary_layout,
)
from fivestar.feedback.xlsx_mask import mask_xlsx_file
from fivestar.feedback.xlsx_patch import Unsupported, write_patched_copy
from fivestar.feedback.xlsx_summary import write_summary_workbook
from fivestar.findings import ERROR

log = logging.getLogger(__name__)

ERROR_FILL = PatternFill(fill_type="solid", start_color=ERROR_RGB, end_color=ERROR_RGB)
WARNING_FILL = PatternFill(fill_type="solid", start_color=WARNING_RGB, end_color=WARNING_RGB)
OK_FILL = PatternFill(fill_type="solid", start_color=OK_RGB, end_color=OK_RGB)
HEADER_FILL = PatternFill(fill_type="solid", start_color=HEADER_RGB, end_color=HEADER_RGB)
LINK_FONT = Font(color=LINK_RGB, underline="single")
BOLD = Font(bold=True)
WRAP_TOP = Alignment(wrap_text=True, vertical="top")
TOP = Alignment(vertical="top")
_FORMULA_LEAD = ("=", "+", "-", "@")
# What the openpyxl fallback may load, uncompressed: it holds every cell as a Python object,
# ≈ 10-15 times the XML (a 14 MB workbook of 100 MB XML took 1.1 GB and 40 s); the fast
# XML patch path has no such cost and keeps the file-size limits.
DEFAULT_FALLBACK_MAX_BYTES = 20 * 1024 * 1024

REASON_UNREADABLE = (
    "所交文件无法作为 Excel 工作簿（.xlsx）打开（可能已损坏、加密，或并非 .xlsx 格式），"
    "因此未能在原表上逐格标注。请用 Excel 或 WPS 另存为 .xlsx 后，按下表修改并重新上报。"
)
REASON_TOO_BIG = "所交文件超过大小限制，未在原表上逐格标注。请按下表修改后重新上报。"
REASON_FALLBACK_TOO_BIG = (
    "所交文件内容较多，无法在原表副本上逐格标注，本文件只列出审核结果。请按下表在原填报文件中修改后重新上报。"
)
REASON_FAILED = "在原表副本上标注时出错，本文件只列出审核结果。请按下表修改。"
REASON_NO_COPY = "本文件只列出审核结果，未附原表副本。请按下表在原填报文件中修改。"
NOTE_COPY = (
    "本文件是所交文件的副本（原文件未改动）：标红的单元格有错误，标黄的有提示，"
    "鼠标移到单元格上可看批注；点“单元格”列可跳到该处。身份证号码已打码。" + COPY_FIX
)


def feedback_path(feedback_dir: Path, period: str, county_code: str, version: int, status: str) -> Path:
    """`<feedback_dir>/<period>/<county_code>_<period>_v<version>_审核结果.xlsx`.

    `status` is accepted for symmetry with the writer; the name does not depend on it,
    so a file version always has one feedback path.
    """
    del status
    return Path(feedback_dir) / period / f"{county_code}_{period}_v{int(version)}_{SUMMARY_SHEET}.xlsx"


def write_feedback_workbook(
    original: Path,
    out: Path,
    findings: pd.DataFrame,
    status: str,
    *,
    county_name: str,
    county_code: str,
    period: str,
    explanations: pd.DataFrame | None = None,
    copy_original: bool = True,
    max_uncompressed_bytes: int = 100 * 1024 * 1024,
    max_compression_ratio: float = 100.0,
    max_fallback_bytes: int = DEFAULT_FALLBACK_MAX_BYTES,
) -> Path:
    """Write the submitter's feedback workbook to `out` and return `out`.

    Never raises for a bad original: it falls back to a summary-only workbook.
    Only an unwritable `out` (disk, permissions) raises. The openpyxl copy (for
    originals the XML patch cannot take) loads at most `max_fallback_bytes` of
    uncompressed parts; a larger original gets the summary-only workbook, saying why.
    """
    original, out = Path(original), Path(out)
    if out.resolve() == original.resolve():
        raise ValueError("feedback must not overwrite the received file")
    meta = {"status": status, "county_name": county_name, "county_code": county_code, "period": period}

    reason = REASON_NO_COPY
    if copy_original and _within_limits(original, max_uncompressed_bytes, max_compression_ratio):
        t0 = time.perf_counter()
        try:
            write_patched_copy(original, out, findings, explanations, meta, NOTE_COPY)
            log.info("feedback %s: patched in %.2fs", out.name, time.perf_counter() - t0)
            return out
        except Unsupported as exc:
            log.info("feedback %s: %s; copying through openpyxl", out.name, exc)
        except OSError:
            raise  # the output side (disk, permissions): the caller must know
        except Exception:  # noqa: BLE001 — odd originals go the slower, proven way
            log.exception("patching %s failed; copying through openpyxl", original)
    if copy_original:
        t0 = time.perf_counter()
        limit = min(max_uncompressed_bytes, max_fallback_bytes)
        wb, reason = _open_original(original, limit, max_compression_ratio)
        if reason == REASON_TOO_BIG and _within_limits(
            original, max_uncompressed_bytes, max_compression_ratio
        ):
            reason = REASON_FALLBACK_TOO_BIG
            log.warning(
                "feedback %s: the original needs the openpyxl copy, which would load %.1f MB uncompressed, "
                "over its %.1f MB bound; writing summary-only feedback",
                out.name,
                _uncompressed(original) / 1048576,
                max_fallback_bytes / 1048576,
            )
        t_load = time.perf_counter() - t0
        if wb is not None:
            try:
                t1 = time.perf_counter()
                _annotate_copy(wb, findings, explanations, meta)
                t2 = time.perf_counter()
                _save(wb, out)
                # openpyxl keeps what _scrub does not reach (properties, names, validations…).
                mask_xlsx_file(out)
                log.info(
                    "feedback %s: load %.1fs, annotate %.2fs, save %.1fs",
                    out.name,
                    t_load,
                    t2 - t1,
                    time.perf_counter() - t2,
                )
                return out
            except Exception:  # noqa: BLE001 — any odd original must still yield feedback
                log.exception("annotating %s failed; writing summary-only feedback", original)
                reason = REASON_FAILED

    df = normalise(findings)
    try:
        write_summary_workbook(out, summary_layout(df, explanations, meta, note=reason, link_sheets=set()))
        mask_xlsx_file(out)
        return out
    except OSError:
        raise
    except Exception:  # noqa: BLE001 — the proven openpyxl writer as the last resort
        log.exception("writing the summary workbook as XML failed; using openpyxl")
    wb = Workbook()
    ws = wb.active
    ws.title = SUMMARY_SHEET
    _fill_summary(ws, df, explanations, meta, note=reason, link_sheets=set())
    _save(wb, out)
    mask_xlsx_file(out)
    return out


# ---- opening the original ---------------------------------------------------------


def _too_big(path: Path, max_bytes: int, max_ratio: float) -> bool:
    """Zip-bomb guard from the central directory, before anything is inflated.

    Raises for a file that is not a zip (callers treat that as unreadable)."""
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
    total = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos)
    return total > max_bytes or total / max(packed, 1) > max_ratio


def _uncompressed(path: Path) -> int:
    with zipfile.ZipFile(path) as zf:
        return sum(i.file_size for i in zf.infolist())


def _within_limits(path: Path, max_bytes: int, max_ratio: float) -> bool:
    """A zip within the size limits; False for anything else."""
    try:
        return not _too_big(path, max_bytes, max_ratio)
    except (OSError, zipfile.BadZipFile, ValueError):
        return False


def _open_original(path: Path, max_bytes: int, max_ratio: float) -> tuple[Workbook | None, str]:
    """Load for editing (formulas kept: never data_only), or explain why not."""
    try:
        if _too_big(path, max_bytes, max_ratio):
            return None, REASON_TOO_BIG
        # A file object skips openpyxl's extension check (archived copies may be named by hash).
        with open(path, "rb") as fh, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "extension is not supported" noise from openpyxl
            wb = load_workbook(fh, keep_vba=False, data_only=False, keep_links=True, rich_text=True)
        return wb, NOTE_COPY
    except Exception as exc:  # noqa: BLE001 — corrupt/encrypted/not-xlsx are expected inputs
        log.info("feedback: cannot open %s as xlsx (%s: %s)", path, type(exc).__name__, exc)
        return None, REASON_UNREADABLE


# ---- annotating the copy ----------------------------------------------------------


def _annotate_copy(
    wb: Workbook, findings: pd.DataFrame, explanations: pd.DataFrame | None, meta: dict
) -> None:
    if SUMMARY_SHEET in wb.sheetnames:
        # A resubmitted feedback copy: our old summary is not the submitter's data.
        del wb[SUMMARY_SHEET]
    df = normalise(findings, wb.sheetnames)
    worksheets = {ws.title: ws for ws in wb.worksheets}
    for ws in worksheets.values():
        _scrub(ws)

    by_cell, sheet_severity = marks_by_cell(df, worksheets)

    for (sheet, ref), recs in by_cell.items():
        target = _writable_cell(worksheets[sheet], ref)
        has_error = any(r["severity"] == ERROR for r in recs)
        target.fill = ERROR_FILL if has_error else WARNING_FILL  # red wins over yellow
        text = "\n".join(finding_line(r) for r in recs)  # already errors-first (normalise)
        if target.comment is not None:  # keep the submitter's own note below ours
            text += "\n——原批注——\n" + clean_text(target.comment.text)
        target.comment = _comment(text)

    for sheet, sevs in sheet_severity.items():
        # Tab colour shows at a glance which sheets need attention.
        worksheets[sheet].sheet_properties.tabColor = "FF0000" if ERROR in sevs else "FFC000"

    summary = wb.create_sheet(SUMMARY_SHEET, 0)
    _fill_summary(summary, df, explanations, meta, note=NOTE_COPY, link_sheets=set(worksheets))
    for ws in wb.worksheets:
        # Several selected tabs would open as a "group" in Excel; select only ours.
        ws.sheet_view.tabSelected = False
    summary.sheet_view.tabSelected = True
    wb.active = 0


def _scrub(ws: Worksheet) -> None:
    """Mask resident IDs; drop stale annotations of ours (a resubmitted feedback copy)."""
    # Iterate stored cells only: ws.iter_rows() would create every empty cell in the range.
    for cell in list(ws._cells.values()):
        value = cell.value
        if isinstance(value, str):
            # Formulas are left to the package pass (xlsx_mask), which renames a sheet
            # holding an ID in its name and every reference to it alike.
            if len(value) >= 15 and cell.data_type != "f":
                masked = mask_ids(value)
                if masked != value:
                    # Keep the cell's kind: assigning '=…' would turn a text cell into a formula.
                    kind = cell.data_type
                    cell.value = masked
                    cell.data_type = kind
        elif (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and math.isfinite(value)
            and abs(value) >= 10**14  # an ID typed into a number cell (15+ digits)
            and float(value).is_integer()
        ):
            digits = str(int(value))
            masked = mask_ids(digits)
            if masked != digits:
                cell.value = masked
        if cell.comment is not None and cell.comment.author == FEEDBACK_AUTHOR:
            cell.comment = None
            rgb = str(cell.fill.fgColor.rgb or "") if cell.fill is not None else ""
            if rgb[-6:].upper() in (ERROR_RGB, WARNING_RGB):
                cell.fill = PatternFill(fill_type=None)


def _writable_cell(ws: Worksheet, ref: str):
    """The cell at `ref`, or the top-left cell of the merged range covering it."""
    cell = ws[ref]
    if isinstance(cell, MergedCell):
        for rng in ws.merged_cells.ranges:
            if ref in rng:
                return ws.cell(rng.min_row, rng.min_col)
    return cell


def _comment(text: str) -> Comment:
    # Size the box so a few Chinese sentences are readable without resizing (≈ 22 CJK per line).
    lines = sum(max(1, math.ceil(len(line) / 22)) for line in text.split("\n"))
    c = Comment(text, FEEDBACK_AUTHOR, height=min(400, 24 + 16 * lines), width=320)
    return c


# ---- the 审核结果 sheet ------------------------------------------------------------

_FONTS = {
    "bold": BOLD,
    "bold12": Font(bold=True, size=12),
    "bold14": Font(bold=True, size=14),
    "link": LINK_FONT,
}
_FILLS = {"error": ERROR_FILL, "warning": WARNING_FILL, "ok": OK_FILL, "header": HEADER_FILL}
_ALIGNS = {
    "top": TOP,
    "wrap_top": WRAP_TOP,
    "left_wrap_top": Alignment(horizontal="left", vertical="top", wrap_text=True),
    "center": Alignment(horizontal="center", vertical="center"),
}


def _fill_summary(
    ws: Worksheet,
    df: pd.DataFrame,
    explanations: pd.DataFrame | None,
    meta: dict,
    *,
    note: str,
    link_sheets: set[str],
) -> None:
    lay = summary_layout(df, explanations, meta, note=note, link_sheets=link_sheets)
    for (r, c), (value, style) in lay.cells.items():
        cell = ws.cell(r, c)
        if isinstance(value, str):
            # Text is always text: a leading = + - @ never becomes a formula.
            cell.value = value
            cell.data_type = "s"
            if value.startswith(_FORMULA_LEAD):
                cell.quotePrefix = True  # Excel keeps it text even after the user edits the cell
        else:
            cell.value = value
        if style.font:
            cell.font = _FONTS[style.font]
        if style.fill:
            cell.fill = _FILLS[style.fill]
        if style.align:
            cell.alignment = _ALIGNS[style.align]
    for (r, c), target in lay.links.items():
        cell = ws.cell(r, c)
        cell.hyperlink = Hyperlink(ref=cell.coordinate, location=target)
    for rng in lay.merges:
        ws.merge_cells(rng)
    for c, width in lay.widths.items():
        ws.column_dimensions[get_column_letter(c)].width = width
    for r, height in lay.heights.items():
        ws.row_dimensions[r].height = height
    ws.freeze_panes = ws.cell(lay.freeze_row, 1)
    if lay.auto_filter:
        ws.auto_filter.ref = lay.auto_filter
    # Printable on one page width (PDF/print for the county office).
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = f"{lay.print_title_row}:{lay.print_title_row}"


def _save(wb: Workbook, out: Path) -> None:
    """Save via a temporary file + rename: readers never see a half-written workbook."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        wb.save(tmp)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
