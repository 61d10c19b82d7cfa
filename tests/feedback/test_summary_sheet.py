"""The 审核结果 sheet as a county clerk reads it (issue 15, item 4).

In: a small submission built with openpyxl, fabricated findings (errors and warnings
interleaved, a long rule id, a long message), each feedback path (the annotated copy
through the XML patch, the openpyxl copy, the summary-only workbook).
Out: assertions that errors come before warnings, that a clean file's sheet does not
ask the clerk to fix anything, and that no text is clipped: a cell that does not wrap
fits its column (or runs on over an empty neighbour), a wrapping cell's row is tall
enough for its lines (merged cells included, which no office suite grows by itself).
"""

from __future__ import annotations

import math
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from fivestar.feedback import workbook as workbook_mod
from fivestar.feedback import write_feedback_workbook
from fivestar.feedback.common import SUMMARY_SHEET
from fivestar.feedback.xlsx_patch import Unsupported
from fivestar.findings import finding, make_findings

META = {"county_name": "林州市", "county_code": "410522", "period": "2026-11"}
LONG_RULE = "community_indicators.property_coverage_rate.type.not_number"
LONG_MESSAGE = (
    "物业服务覆盖率为“约八成”，本列应填写0到100之间的数值（百分数数值，如95表示95%），"
    "请改填数字，如80；如为小数0.8，请改填80。数据无误但与上月差异较大的，请在情况说明中写明原因。"
)


@pytest.fixture
def original(tmp_path: Path) -> Path:
    wb = openpyxl.Workbook()
    wb.active.title = "封面"
    roster = wb.create_sheet("支部名册")
    roster.append(
        ["支部代码", "支部名称", "类型", "乡镇（街道）", "党员人数", "户数", "书记姓名", "书记年龄"]
    )
    roster.append(["410522101201", "东村", "村", "城关镇", 30, 300, "张三", 45])
    community = wb.create_sheet("社区指标")
    community.append(["支部代码", "支部名称", "物业服务覆盖率（%）"])
    community.append(["410522102201", "东社区", "约八成"])
    path = tmp_path / "410522_林州市_2026-11.xlsx"
    wb.save(path)
    return path


def _findings() -> pd.DataFrame:
    return make_findings(
        [
            finding("warning", "roster.members.jump", "党员人数比上月变化较大，请核实", sheet="支部名册",
                    row=2, column_name="党员人数", cell="E2", value="30"),
            finding("error", LONG_RULE, LONG_MESSAGE, sheet="社区指标", row=2,
                    column_name="物业服务覆盖率（%）", cell="C2", value="约八成"),
            finding("warning", "roster.households.plausible", "户数请核实", sheet="支部名册", row=2,
                    column_name="户数", cell="F2", value="300"),
            finding("error", "roster.secretary_age.range", "书记年龄应在18到80之间", sheet="支部名册",
                    row=2, column_name="书记年龄", cell="H2", value="45"),
        ]
    )  # fmt: skip


def _table(ws) -> list[list]:
    rows, r = [], 11
    while isinstance(ws.cell(r, 1).value, int):
        rows.append([ws.cell(r, c).value for c in range(1, 10)])
        r += 1
    return rows


def _width(text: str) -> int:
    return max(sum(2 if ord(ch) > 255 else 1 for ch in line) for line in text.split("\n"))


def _col_width(ws, col: int) -> float:
    letter = openpyxl.utils.get_column_letter(col)
    for dim in ws.column_dimensions.values():
        if dim.min and dim.max and dim.min <= col <= dim.max:
            return dim.width or 8.43
    return ws.column_dimensions[letter].width or 8.43


def assert_nothing_clipped(ws) -> None:
    merged = {(m.min_row, m.min_col): (m.min_col, m.max_col) for m in ws.merged_cells.ranges}
    for row in ws.iter_rows():
        for c in row:
            if not isinstance(c.value, str) or not c.value:
                continue
            first, last = merged.get((c.row, c.column), (c.column, c.column))
            width = sum(_col_width(ws, j) for j in range(first, last + 1))
            if c.alignment.wrap_text:
                lines = sum(max(1, math.ceil(_width(p) / (width - 1))) for p in c.value.split("\n"))
                height = ws.row_dimensions[c.row].height or 15
                assert height >= 15 * lines, (c.coordinate, c.value, width, height, lines)
            else:
                beside = ws.cell(c.row, last + 1).value
                if beside in (None, "") and last < ws.max_column:
                    continue  # runs on over the empty cell beside it
                assert _width(c.value) <= width, (c.coordinate, c.value, width)


@pytest.mark.parametrize("path", ["patch", "openpyxl", "summary_only"])
def test_errors_first_and_nothing_clipped(tmp_path: Path, original: Path, path: str, monkeypatch) -> None:
    if path == "openpyxl":

        def refuse(*args, **kwargs):
            raise Unsupported("test: take the openpyxl copy")

        monkeypatch.setattr(workbook_mod, "write_patched_copy", refuse)
    out = write_feedback_workbook(
        original, tmp_path / "o.xlsx", _findings(), "rejected", copy_original=path != "summary_only", **META
    )
    ws = openpyxl.load_workbook(out)[SUMMARY_SHEET]
    rows = _table(ws)
    assert [r[1] for r in rows] == ["错误", "错误", "提示", "提示"]
    # within a severity: sheets in workbook order, the validator's order inside a sheet
    assert [r[8] for r in rows] == [
        "roster.secretary_age.range",
        LONG_RULE,
        "roster.members.jump",
        "roster.households.plausible",
    ]
    assert ws["B7"].value.startswith("本次填报有错误") and "\n1. " in ws["B7"].value
    assert_nothing_clipped(ws)


@pytest.mark.parametrize("status", ["accepted", "accepted_with_warnings"])
def test_clean_file_is_not_told_to_fix_things(tmp_path: Path, original: Path, status: str) -> None:
    findings = make_findings([])
    if status == "accepted_with_warnings":  # every warning explained in 情况说明
        f = finding("warning", "roster.members.jump", "党员人数比上月变化较大，请核实", sheet="支部名册",
                    row=2, column_name="党员人数", cell="E2", value="30")  # fmt: skip
        f["explained"] = True
        findings = make_findings([f])
    out = write_feedback_workbook(
        original, tmp_path / "o.xlsx", findings, status, copy_original=len(findings) > 0, **META
    )
    ws = openpyxl.load_workbook(out)[SUMMARY_SHEET]
    said = f"{ws['B7'].value}\n{ws['B8'].value}"
    assert "无需" in said
    for nag in ("请按下表", "请修改", "请核实", "修改后重新上报"):
        assert nag not in said, said
    assert_nothing_clipped(ws)
