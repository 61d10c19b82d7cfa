"""The 审核结果 sheet as a renderer-neutral layout.

In: the normalised Findings frame of one file version, the 情况说明 rows, the
status/county/period and the note on how the copy was made. Out: a `Layout` —
cells (value + style keys), merges, hyperlinks, widths, heights, filter and print
settings — that `workbook.py` renders through openpyxl and `xlsx_patch.py` renders
as raw sheet XML, so both feedback paths show the same sheet.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from openpyxl.utils.cell import column_index_from_string, get_column_letter

from fivestar.feedback.common import (
    cell_ref,
    clean_text,
    counts,
    explanation_rows,
    location,
    severity_label,
)
from fivestar.findings import ERROR, WARNING
from fivestar.status import status_zh

ERROR_RGB = "FFC7CE"
WARNING_RGB = "FFEB9C"
OK_RGB = "C6EFCE"
HEADER_RGB = "D9D9D9"
LINK_RGB = "0563C1"
FILL_RGB = {"error": ERROR_RGB, "warning": WARNING_RGB, "ok": OK_RGB, "header": HEADER_RGB}

# 审核结果 table: header, column width (Excel character units; a CJK character ≈ 2).
TABLE_COLUMNS = (
    ("序号", 12),
    ("严重程度", 10),
    ("工作表", 14),
    ("单元格", 16),
    ("列", 24),
    ("填写值", 20),
    ("问题说明", 64),
    ("是否已说明", 12),
    ("规则编号", 30),
)
WRAPPED = (5, 6, 7)  # 列, 填写值, 问题说明 wrap; the other columns are as wide as their text
TABLE_HEADER_ROW = 10
WHOLE_FILE = "（整个文件）"
LAST_COL = get_column_letter(len(TABLE_COLUMNS))

# 处理意见 per status: a headline, then the steps (the HTML page shows the same steps).
GUIDANCE_STEPS: dict[str, tuple[str, ...]] = {
    "rejected": (
        "本次填报有错误，数据未入库。",
        "按下表逐项修改全部错误（标红）；标黄的提示请一并核实。",
        "在原填报文件中修改，不要上报本反馈文件；改好后保存，按原文件名重新上报。",
    ),
    "accepted_with_warnings": (
        "数据已通过审核并入库。",
        "请核实下表标黄的提示：数据有误的，在原填报文件中改正后重新上报；",
        "数据无误的，可在“情况说明”工作表中写明原因（位置填单元格如 村指标!F12，或填支部代码），"
        "随下次上报一并提交。",
    ),
    "accepted": ("数据已通过审核并入库，未发现问题，无需修改。",),
    "superseded": ("该版本已被之后通过审核的新版本替代，无需处理。",),
}
# A file with no finding at all: nothing to fix, whatever the copy note would say.
CLEAN_NOTE = "未发现问题，无需修改，也无需重新上报。"
CLEAN_EXPLAINED = "提示均已在“情况说明”中说明，无需再处理。"
# The annotated copy's note ends with what to do: resubmit only when there are errors.
COPY_FIX = "请在原填报文件中修改后重新上报，不要直接上报本文件。"
COPY_NO_FIX = "数据已入库；如需改正，请在原填报文件中修改，不要直接上报本文件。"


def guidance_steps(status: str, n: dict[str, int]) -> list[str]:
    """The 处理意见 of a status: headline first, then the steps; a file whose warnings
    are all explained is not asked to check them again."""
    steps = list(GUIDANCE_STEPS.get(status, ()))
    if status == "accepted_with_warnings" and n["errors"] == 0 and n["warnings"] == n["explained"]:
        steps = [steps[0], CLEAN_EXPLAINED]
    return steps


def guidance_text(steps: list[str]) -> str:
    """Steps as the cell text: the headline, then numbered steps on their own lines."""
    if len(steps) <= 1:
        return "".join(steps)
    return "\n".join([steps[0], *(f"{i}. {t}" for i, t in enumerate(steps[1:], start=1))])


# Excel width units: a CJK character is about two digits wide in the default font.
LINE_HEIGHT = 15.0
MAX_WIDTH = 60.0


def text_width(text: str) -> float:
    """Width of the longest line of `text` in Excel character units (CJK ≈ 2)."""
    return max((sum(2 if ord(ch) > 255 else 1 for ch in line) for line in str(text).split("\n")), default=0)


def wrapped_lines(text: str, width: float) -> int:
    """How many lines `text` takes in a wrapping cell `width` units wide."""
    room = max(1.0, width - 1)
    return sum(max(1, math.ceil(text_width(line) / room)) for line in str(text).split("\n"))


@dataclass(frozen=True)
class Style:
    """Style keys both renderers understand (None = default)."""

    font: str | None = None  # bold, bold12, bold14, link
    fill: str | None = None  # error, warning, ok, header
    align: str | None = None  # top, wrap_top, left_wrap_top, center


@dataclass
class Layout:
    cells: dict[tuple[int, int], tuple[Any, Style]] = field(default_factory=dict)
    merges: list[str] = field(default_factory=list)
    links: dict[tuple[int, int], str] = field(default_factory=dict)  # (row, col) → "'sheet'!A1"
    widths: dict[int, float] = field(default_factory=dict)  # column index → width
    heights: dict[int, float] = field(default_factory=dict)
    auto_filter: str | None = None
    freeze_row: int = TABLE_HEADER_ROW + 1
    print_title_row: int = TABLE_HEADER_ROW

    def put(self, row: int, col: int, value: Any, style: Style = Style()) -> None:
        if isinstance(value, str) or value is not None and not isinstance(value, bool | int | float):
            value = clean_text(value)
        self.cells[(row, col)] = (value, style)

    def restyle(self, row: int, col: int, **changes: str | None) -> None:
        value, style = self.cells.get((row, col), (None, Style()))
        self.cells[(row, col)] = (value, Style(**{**style.__dict__, **changes}))

    def link(self, row: int, col: int, sheet: str, ref: str) -> None:
        quoted = sheet.replace("'", "''")
        self.links[(row, col)] = f"'{quoted}'!{ref}"
        self.restyle(row, col, font="link")


def summary_layout(
    df: pd.DataFrame,
    explanations: pd.DataFrame | None,
    meta: dict,
    *,
    note: str,
    link_sheets: set[str],
) -> Layout:
    """The 审核结果 sheet for normalised findings `df` (see common.normalise)."""
    lay = Layout()
    status = str(meta["status"])
    n = counts(df)
    if len(df) == 0 and status != "rejected":
        note = CLEAN_NOTE  # the copy notes ("请按下表修改…") would ask to fix what is fine
    elif n["errors"] == 0 and status != "rejected":
        note = note.replace(COPY_FIX, COPY_NO_FIX)

    lay.put(1, 1, "五星支部月度填报审核结果", Style(font="bold14"))
    lay.merges.append(f"A1:{LAST_COL}1")
    lay.heights[1] = 24

    county = f"{meta['county_name']}（{meta['county_code']}）" if meta["county_name"] else meta["county_code"]
    warn_text = f"其中已说明 {n['explained']} 项" if n["explained"] else ""
    info = [
        (2, "县（市、区）", county, None),
        (3, "填报期间", str(meta["period"]), None),
        (4, "审核结论", status_zh(status), None),
        (5, "错误（项）", n["errors"], None),
        (6, "提示（项）", n["warnings"], warn_text),
        (7, "处理意见", guidance_text(guidance_steps(status, n)), None),
        (8, "标注说明", note, None),
    ]
    for r, label, value, extra in info:
        lay.put(r, 1, label, Style(font="bold", align="top"))
        lay.put(r, 2, value, Style(align="left_wrap_top"))
        if extra:
            lay.put(r, 3, extra)
        if r in (2, 3, 7, 8):  # long text across the sheet (a county name never breaks)
            lay.merges.append(f"B{r}:{LAST_COL}{r}")
        elif r == 4:
            lay.merges.append(f"B{r}:C{r}")
    verdict = {"rejected": "error", "accepted_with_warnings": "warning"}.get(status, "ok")
    lay.restyle(4, 2, font="bold12", fill=verdict)

    hr = TABLE_HEADER_ROW
    for c, (header, width) in enumerate(TABLE_COLUMNS, start=1):
        lay.put(hr, c, header, Style(font="bold", fill="header", align="center"))
        lay.widths[c] = width

    r = hr
    for i, rec in enumerate(df.to_dict("records"), start=1):
        r = hr + i
        sheet, ref = str(rec["sheet"]), cell_ref(rec["cell"])
        sev = str(rec["severity"])
        explained = "" if sev == ERROR else ("是" if bool(rec["explained"]) else "否")
        values = [
            i,
            severity_label(sev),
            sheet or WHOLE_FILE,
            location(sheet, ref) if ref else "",
            rec["column_name"],
            rec["value"],
            rec["message"],
            explained,
            rec["rule"],
        ]
        for c, v in enumerate(values, start=1):
            lay.put(r, c, v, Style(align="wrap_top" if c in WRAPPED else "top"))
        sev_fill = "error" if sev == ERROR else "warning" if sev == WARNING else None
        lay.restyle(r, 2, fill=sev_fill)
        if sheet in link_sheets:
            if ref:
                lay.link(r, 4, sheet, ref)
            else:  # a sheet- or column-level finding: jump to the sheet's header
                lay.link(r, 3, sheet, "A1")
    if len(df):
        lay.auto_filter = f"A{hr}:{LAST_COL}{r}"
    else:
        r += 1
        lay.put(r, 1, "（未发现问题）")

    # Explanations received (情况说明), so the submitter sees what was taken into account.
    r += 2
    lay.put(r, 1, "收到的情况说明", Style(font="bold"))
    r += 1
    for c, header in ((1, "序号"), (4, "位置"), (7, "说明")):
        lay.put(r, c, header, Style(font="bold", fill="header"))
    rows = explanation_rows(explanations)
    if not rows:
        lay.put(r + 1, 1, "（无）")
    for i, (loc, text) in enumerate(rows, start=1):
        row = r + i
        lay.put(row, 1, i)
        lay.put(row, 4, loc)
        lay.put(row, 7, text, Style(align="wrap_top"))
        sheet, _, ref = loc.replace("！", "!").partition("!")
        ref = cell_ref(ref)
        if ref and sheet.strip() in link_sheets:
            lay.link(row, 4, sheet.strip(), ref)
    fit(lay, first_row=hr)
    return lay


def fit(lay: Layout, *, first_row: int) -> None:
    """No clipped text: unwrapped table columns as wide as their longest text (up to
    MAX_WIDTH, wrapping beyond), and every row tall enough for its wrapped lines
    (Excel never grows a merged cell, and grows other rows only when it recalculates)."""
    for (r, c), (value, style) in list(lay.cells.items()):
        if r < first_row or value is None or (style.align or "").endswith("wrap_top"):
            continue
        right = lay.cells.get((r, c + 1), (None, None))[0]
        if c < len(TABLE_COLUMNS) and right in (None, ""):
            continue  # the text runs on over the empty cell beside it
        need = text_width(str(value)) + 2
        if need > MAX_WIDTH:
            lay.restyle(r, c, align="wrap_top")
        lay.widths[c] = max(lay.widths.get(c, 8.43), min(need, MAX_WIDTH))
    merged = {}
    for m in lay.merges:
        a, b = m.split(":")
        r0 = int("".join(ch for ch in a if ch.isdigit()))
        c0, c1 = (
            column_index_from_string(a.rstrip("0123456789")),
            column_index_from_string(b.rstrip("0123456789")),
        )
        merged[(r0, c0)] = sum(lay.widths.get(c, 8.43) for c in range(c0, c1 + 1))
    for (r, c), (value, style) in lay.cells.items():
        if value is None or not (style.align or "").endswith("wrap_top"):
            continue
        width = merged.get((r, c), lay.widths.get(c, 8.43))
        lines = wrapped_lines(str(value), width)
        if lines > 1 or (r, c) in merged:
            lay.heights[r] = max(lay.heights.get(r, 0.0), LINE_HEIGHT * lines + 4)
