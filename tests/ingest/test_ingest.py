"""Reading county workbooks: fivestar.ingest.read.read_workbook and xlsx_meta.

In: small workbooks built with openpyxl (tests/wbfactory.py), edited to carry one
layout quirk or one broken container each. Out: assertions on the ParsedWorkbook:
typed frames, per-cell issue/warn codes, and the structural findings (whole file,
sheet, column) with their sheet/column/cell and plain-Chinese messages.
No Great Expectations here: reading alone must tell all of this.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from openpyxl.styles import Border, Font, PatternFill, Side

import wbfactory as W
from fivestar import cells
from fivestar.config import Limits, Rulebook
from fivestar.ingest.read import ParsedWorkbook, read_workbook
from fivestar.ingest.xlsx_meta import XlsxParts, check_container, is_percent_format
from fivestar.validate.messages import issue_message

COUNTY = "410522"
PERIOD = "2026-11"
BRS = W.branches(COUNTY)
V1 = BRS[0]["code"]  # first 村, row 2 of 村指标 and of 支部名册
ID = "41052219900101123X"
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def build(tmp_path: Path, rb: Rulebook, edit: Callable[[Any], None] | None = None, **kw: Any) -> Path:
    return W.write_workbook(
        tmp_path / f"{COUNTY}_林州市.xlsx", rb, COUNTY, "林州市", PERIOD, BRS, edit=edit, **kw
    )


def read(path: Path, rb: Rulebook, limits: Limits | None = None) -> ParsedWorkbook:
    return read_workbook(path, rb, limits or Limits(), file_key="fk", id_key="test-key")


def header_index(ws: Any, header: str) -> int:
    for c in ws[1]:
        if c.value == header:
            return c.column
    raise KeyError(header)


def frame_row(pw: ParsedWorkbook, key: str, excel_row: int) -> pd.Series:
    f = pw.frames[key]
    return f[f["_row"] == excel_row].iloc[0]


# ---- a clean workbook ----------------------------------------------------------
def test_clean_workbook_reads_without_findings(tmp_path: Path, rulebook: Rulebook) -> None:
    pw = read(build(tmp_path, rulebook), rulebook)
    assert not pw.fatal
    assert pw.findings.empty
    assert set(pw.frames) == set(rulebook.sheets)
    roster = pw.frames["roster"]
    assert roster["branch_code"].tolist() == [b["code"] for b in BRS]
    assert roster["_row"].tolist() == [2, 3, 4, 5]
    assert roster["members"].tolist() == [30.0] * 4
    v = pw.frames["village_indicators"]
    assert v["meeting_rate"].tolist() == [96.0] * 3
    assert v["is_weak"].tolist() == [0.0] * 3
    assert v["has_civilization_station"].tolist() == [1.0] * 3
    led = pw.frames["ledger"]
    assert led["event_date"].iloc[0] == pd.Timestamp("2026-11-03")
    assert pw.frames["vetoes"].empty
    assert pw.frames["explanations"].empty  # optional sheet absent
    assert pw.cover["county_code"].text == COUNTY
    assert pw.cover["county_code"].cell == "B1"
    assert pw.cover["period"].cell == "B3"
    assert pw.letters["village_indicators"]["meeting_rate"] == "C"


# ---- header tolerance ------------------------------------------------------------
def test_header_variants_are_matched(tmp_path: Path, rulebook: Rulebook) -> None:
    def edit(wb: Any) -> None:
        ws = wb["村指标"]
        ws.cell(1, header_index(ws, "三会一课完成率（%）")).value = "三会一课完成率(%)"
        ws.cell(1, header_index(ws, "党员参与率（%）")).value = "党员参与率（％）"
        ws.cell(1, header_index(ws, "卫生厕所普及率（%）")).value = " 卫生厕所\n普及率 ( ％ ) "
        ws.cell(1, header_index(ws, "村集体经济收入（万元）")).value = "村集体经济收入(万元)\r\n"
        ws = wb["支部名册"]
        ws.cell(1, header_index(ws, "乡镇（街道）")).value = "乡镇(街道)"
        ws.cell(1, header_index(ws, "支部代码")).value = "  支部代码  "
        cover = wb["封面"]
        cover["A1"] = "县(市、区)代码"
        wb.move_sheet("封面", offset=3)  # sheet order does not matter

    pw = read(build(tmp_path, rulebook, edit), rulebook)
    assert not pw.fatal
    assert pw.findings.empty
    v = pw.frames["village_indicators"]
    assert v["meeting_rate"].tolist() == [96.0] * 3
    assert v["toilet_rate"].tolist() == [96.0] * 3
    assert pw.frames["roster"]["township"].iloc[0] == "城关镇"
    assert pw.cover["county_code"].text == COUNTY


def test_sheet_name_tolerance(tmp_path: Path, rulebook: Rulebook) -> None:
    def edit(wb: Any) -> None:
        wb["支部名册"].title = " 支部名册 "

    pw = read(build(tmp_path, rulebook, edit), rulebook)
    assert not pw.fatal and pw.findings.empty
    assert len(pw.frames["roster"]) == 4


def test_columns_in_another_order(tmp_path: Path, rulebook: Rulebook) -> None:
    def edit(wb: Any) -> None:
        ws = wb["支部名册"]
        for row in ws.iter_rows():
            a, h = row[0].value, row[7].value
            row[0].value, row[7].value = h, a

    pw = read(build(tmp_path, rulebook, edit), rulebook)
    assert not pw.fatal and pw.findings.empty
    assert pw.letters["roster"]["branch_code"] == "H"
    assert pw.frames["roster"]["branch_code"].iloc[0] == V1
    assert pw.frames["roster"]["secretary_age"].iloc[0] == 45


def test_extra_columns_are_ignored_with_a_warning(tmp_path: Path, rulebook: Rulebook) -> None:
    def edit(wb: Any) -> None:
        ws = wb["村指标"]
        col = ws.max_column + 1
        ws.cell(1, col).value = "备注"
        ws.cell(2, col).value = "随便写写"
        ws = wb["支部名册"]
        ws.cell(1, ws.max_column + 2).value = "联系人\n电话"

    pw = read(build(tmp_path, rulebook, edit), rulebook)
    assert not pw.fatal
    f = pw.findings.set_index("sheet")
    assert len(pw.findings) == 2
    assert (pw.findings["severity"] == "warning").all()
    village = f.loc["村指标"]
    assert village["column_name"] == "备注"
    assert village["cell"] == f"{openpyxl.utils.get_column_letter(23)}1"
    assert "备注" in village["message"] and "忽略" in village["message"]
    assert f.loc["支部名册", "cell"] == "J1"
    assert "备注" not in pw.frames["village_indicators"].columns


def test_duplicate_column_is_an_error(tmp_path: Path, rulebook: Rulebook) -> None:
    def edit(wb: Any) -> None:
        ws = wb["支部名册"]
        ws.cell(1, 10).value = "党员人数"

    pw = read(build(tmp_path, rulebook, edit), rulebook)
    assert pw.fatal
    (rec,) = pw.findings.to_dict("records")
    assert (rec["severity"], rec["sheet"], rec["column_name"], rec["cell"]) == (
        "error",
        "支部名册",
        "党员人数",
        "J1",
    )


# ---- missing sheets and columns ----------------------------------------------------
@pytest.mark.parametrize("sheet", ["支部名册", "村指标", "社区指标", "积分台账", "否决事项", "封面"])
def test_missing_sheet_is_fatal(tmp_path: Path, rulebook: Rulebook, sheet: str) -> None:
    def edit(wb: Any) -> None:
        del wb[sheet]

    pw = read(build(tmp_path, rulebook, edit), rulebook)
    assert pw.fatal
    (rec,) = pw.findings.to_dict("records")
    assert rec["severity"] == "error"
    assert rec["rule"] == "file.missing_sheet"
    assert rec["sheet"] == sheet
    assert rec["cell"] == "" and rec["column_name"] == "" and pd.isna(rec["row"])
    assert sheet in rec["message"] and CHINESE.search(rec["message"])


def test_missing_columns_one_finding_each(tmp_path: Path, rulebook: Rulebook) -> None:
    def edit(wb: Any) -> None:
        ws = wb["支部名册"]
        ws.delete_cols(header_index(ws, "户数"))
        ws.delete_cols(header_index(ws, "书记年龄"))
        ws = wb["积分台账"]
        ws.cell(1, header_index(ws, "分值")).value = "积分"

    pw = read(build(tmp_path, rulebook, edit), rulebook)
    assert pw.fatal
    missing = pw.findings[pw.findings["rule"] == "file.missing_column"]
    got = set(zip(missing["sheet"], missing["column_name"], strict=True))
    assert got == {("支部名册", "户数"), ("支部名册", "书记年龄"), ("积分台账", "分值")}
    assert (missing["cell"] == "").all()
    assert (missing["severity"] == "error").all()
    assert all("户数" in m or "书记年龄" in m or "分值" in m for m in missing["message"])
    # The renamed header is an extra column (warning); the other sheets still read.
    assert "积分" in set(pw.findings.loc[pw.findings["severity"] == "warning", "column_name"])
    assert "village_indicators" in pw.frames


# ---- whole-file problems -------------------------------------------------------------
def _assert_file_error(pw: ParsedWorkbook, rule: str, *words: str) -> None:
    assert pw.fatal
    (rec,) = pw.findings.to_dict("records")
    assert rec["severity"] == "error"
    assert rec["rule"] == rule
    assert rec["sheet"] == "" and rec["cell"] == "" and rec["column_name"] == ""
    assert rec["file_key"] == "fk"
    assert CHINESE.search(rec["message"])
    for w in words:
        assert w in rec["message"]
    assert pw.detail  # English detail for IT staff


def test_zero_byte_file(tmp_path: Path, rulebook: Rulebook) -> None:
    p = tmp_path / "410522.xlsx"
    p.write_bytes(b"")
    _assert_file_error(read(p, rulebook), "file.empty", "0字节")


def test_random_bytes(tmp_path: Path, rulebook: Rulebook) -> None:
    p = tmp_path / "410522.xlsx"
    p.write_bytes(bytes(range(256)) * 40)
    _assert_file_error(read(p, rulebook), "file.not_xlsx", ".xlsx")


def test_csv_renamed_xlsx(tmp_path: Path, rulebook: Rulebook) -> None:
    p = tmp_path / "410522.xlsx"
    p.write_text("支部代码,支部名称\n410522101201,测试1村\n", encoding="utf-8-sig")
    _assert_file_error(read(p, rulebook), "file.not_xlsx", ".xlsx")


def test_legacy_xls(tmp_path: Path, rulebook: Rulebook) -> None:
    p = tmp_path / "410522.xls"
    p.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 4000)
    _assert_file_error(read(p, rulebook), "file.xls", ".xls", "另存为")


def test_encrypted_workbook(tmp_path: Path, rulebook: Rulebook) -> None:
    p = tmp_path / "410522.xlsx"
    p.write_bytes(
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100 + "EncryptedPackage".encode("utf-16-le")
    )
    _assert_file_error(read(p, rulebook), "file.encrypted", "密码")


def test_truncated_zip(tmp_path: Path, rulebook: Rulebook) -> None:
    good = build(tmp_path, rulebook).read_bytes()
    p = tmp_path / "cut" / "410522.xlsx"
    p.parent.mkdir()
    p.write_bytes(good[: len(good) // 2])
    _assert_file_error(read(p, rulebook), "file.truncated", "损坏")


def test_zip_that_is_not_a_workbook(tmp_path: Path, rulebook: Rulebook) -> None:
    p = tmp_path / "410522.xlsx"
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("word/document.xml", "<w/>")
    _assert_file_error(read(p, rulebook), "file.not_xlsx")


def test_compression_bomb_is_refused_before_inflating(tmp_path: Path, rulebook: Rulebook) -> None:
    p = tmp_path / "410522.xlsx"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/workbook.xml", "<workbook/>")
        zf.writestr("xl/worksheets/sheet1.xml", b"0" * 5_000_000)
    _assert_file_error(read(p, rulebook), "file.ratio")
    big = Limits(max_uncompressed_mb=1, max_compression_ratio=10_000)
    _assert_file_error(read(p, rulebook, big), "file.too_large")


def test_a_folder_is_not_a_crash(tmp_path: Path, rulebook: Rulebook) -> None:
    p = tmp_path / "410522.xlsx"
    p.mkdir()
    pw = read(p, rulebook)
    assert pw.fatal and len(pw.findings) == 1


def test_check_container_accepts_a_good_file(tmp_path: Path, rulebook: Rulebook) -> None:
    assert check_container(build(tmp_path, rulebook), Limits()) is None


# ---- cells: percent formats, formulas, error values -------------------------------------
def test_percent_formatted_cells_are_times_100(tmp_path: Path, rulebook: Rulebook) -> None:
    def edit(wb: Any) -> None:
        ws = wb["村指标"]
        ws["C2"] = 0.95
        ws["C2"].number_format = "0%"
        ws["C3"] = 0.955
        ws["C3"].number_format = "0.0%"
        ws["C4"] = 1
        ws["C4"].number_format = "0.00%"
        ws["E2"] = 0.95  # General cell: kept as written, with a warning
        ws["E3"] = "95%"
        ws["E4"] = "０.９％"
        ws["K2"] = 95
        ws["K2"].number_format = '0"%"'  # a literal % sign: no scaling

    pw = read(build(tmp_path, rulebook, edit), rulebook)
    assert not pw.fatal
    v = pw.frames["village_indicators"].set_index("_row")
    assert v.at[2, "meeting_rate"] == pytest.approx(95)
    assert v.at[3, "meeting_rate"] == pytest.approx(95.5)
    assert v.at[4, "meeting_rate"] == pytest.approx(100)
    assert v.loc[[2, 3, 4], "meeting_rate__warn"].isna().all()
    assert v.at[2, "member_participation_rate"] == pytest.approx(0.95)
    assert v.at[2, "member_participation_rate__warn"] == cells.PCT_DECIMAL
    assert v.at[2, "member_participation_rate__raw"] == "0.95"
    assert v.at[3, "member_participation_rate"] == pytest.approx(95)
    assert v.at[4, "member_participation_rate"] == pytest.approx(0.9)
    assert v.loc[[3, 4], "member_participation_rate__warn"].isna().all()
    assert pw.letters["village_indicators"]["toilet_rate"] == "K"
    assert v.at[2, "toilet_rate"] == pytest.approx(95)


def test_is_percent_format() -> None:
    assert is_percent_format("0%")
    assert is_percent_format("0.00%")
    assert is_percent_format("#,##0.0%;[Red]-0.0%")
    assert not is_percent_format('0"%"')
    assert not is_percent_format("0\\%")
    assert not is_percent_format("General")


def test_formula_without_cached_value(tmp_path: Path, rulebook: Rulebook) -> None:
    def edit(wb: Any) -> None:
        ws = wb["村指标"]
        ws["C2"] = "=90+6"  # openpyxl saves formulas without a calculated value
        ws["D3"] = "=SUM(D2:D2)"
        ws = wb["积分台账"]
        ws["A2"] = "=DATE(2026,11,3)"

    path = build(tmp_path, rulebook, edit)
    assert XlsxParts(path).formula_cells_without_value("村指标") == {(2, "C"), (3, "D")}
    pw = read(path, rulebook)
    assert not pw.fatal
    v = pw.frames["village_indicators"].set_index("_row")
    assert v.at[2, "meeting_rate__issue"] == cells.FORMULA_NO_VALUE
    assert v.at[3, "theme_days__issue"] == cells.FORMULA_NO_VALUE
    assert pd.isna(v.at[3, "meeting_rate__issue"])
    assert pw.frames["ledger"]["event_date__issue"].iloc[0] == cells.FORMULA_NO_VALUE
    msg = issue_message(cells.FORMULA_NO_VALUE, "三会一课完成率（%）", "", "")
    assert "请在Excel中重新计算后保存" in msg


def test_excel_error_values_are_not_blanks(tmp_path: Path, rulebook: Rulebook) -> None:
    def edit(wb: Any) -> None:
        ws = wb["村指标"]
        ws["C2"] = "#DIV/0!"  # openpyxl writes a real error cell (t="e")
        ws["D2"] = "#N/A"
        ws["C3"] = "=1/0"
        ws["A4"] = "#REF!"  # in a code column: shown as the error, not as blank

    pw = read(build(tmp_path, rulebook, edit), rulebook)
    v = pw.frames["village_indicators"].set_index("_row")
    assert v.at[2, "meeting_rate__issue"] == cells.ERROR_VALUE
    assert v.at[2, "meeting_rate__raw"] == "#DIV/0!"
    assert v.at[2, "theme_days__issue"] == cells.ERROR_VALUE
    assert v.at[2, "theme_days__raw"] == "#N/A"
    assert v.at[3, "meeting_rate__issue"] == cells.FORMULA_NO_VALUE
    assert v.at[4, "branch_code"] == "#REF!"


def test_text_numbers_and_non_numbers(tmp_path: Path, rulebook: Rulebook) -> None:
    def edit(wb: Any) -> None:
        ws = wb["村指标"]
        ws["D2"] = "９５"
        ws["G2"] = "21,234"
        ws["D3"] = " 3 "
        ws["D4"] = "一百"
        ws["G3"] = 2.5  # 村集体经济收入: a number, fractions fine
        ws["H3"] = 2.5  # 主导产业数: integer required
        ws["F2"] = "有"  # 是否软弱涣散

    pw = read(build(tmp_path, rulebook, edit), rulebook)
    v = pw.frames["village_indicators"].set_index("_row")
    assert (v.at[2, "theme_days"], v.at[2, "theme_days__warn"]) == (95.0, cells.TEXT_NUMBER)
    assert v.at[2, "theme_days__raw"] == "９５"
    assert (v.at[2, "collective_income"], v.at[2, "collective_income__warn"]) == (21234.0, cells.TEXT_NUMBER)
    assert (v.at[3, "theme_days"], v.at[3, "theme_days__warn"]) == (3.0, cells.TEXT_NUMBER)
    assert v.at[4, "theme_days__issue"] == cells.NOT_NUMBER
    assert v.at[4, "theme_days__raw"] == "一百"
    assert pd.isna(v.at[3, "collective_income__issue"])
    assert v.at[3, "leading_industries__issue"] == cells.NOT_INTEGER
    assert v.at[2, "is_weak__issue"] == cells.NOT_YESNO


def test_codes_as_number_cells(tmp_path: Path, rulebook: Rulebook) -> None:
    def edit(wb: Any) -> None:
        for name in ("支部名册", "村指标"):
            ws = wb[name]
            for r in range(2, ws.max_row + 1):
                ws.cell(r, 1).value = int(ws.cell(r, 1).value)
        wb["积分台账"]["B2"] = float(V1)
        wb["封面"]["B1"] = int(COUNTY)

    pw = read(build(tmp_path, rulebook, edit), rulebook)
    assert not pw.fatal and pw.findings.empty
    assert pw.frames["roster"]["branch_code"].tolist() == [b["code"] for b in BRS]
    assert pw.frames["village_indicators"]["branch_code"].iloc[0] == V1
    assert pw.frames["ledger"]["branch_code"].iloc[0] == V1
    assert pw.cover["county_code"].text == COUNTY


def test_dates_in_text_and_date_cells(tmp_path: Path, rulebook: Rulebook) -> None:
    rows = [
        [dt.date(2026, 11, 3), V1, "支部", "", "ZB01", 2, "a"],
        ["2026/11/4", V1, "支部", "", "ZB02", 2, "b"],
        ["2026年11月5日", V1, "支部", "", "PA01", 1, "c"],
        ["2026.11.06", V1, "支部", "", "PA01", 1, "d"],
        [dt.datetime(2026, 11, 7, 9, 30), V1, "支部", "", "PA01", 1, "e"],
        ["11月8日", V1, "支部", "", "PA01", 1, "f"],
    ]
    pw = read(build(tmp_path, rulebook, ledger=rows), rulebook)
    led = pw.frames["ledger"]
    assert led["event_date"].iloc[:5].dt.day.tolist() == [3, 4, 5, 6, 7]
    assert led["event_date__issue"].iloc[:5].isna().all()
    assert led["event_date__issue"].iloc[5] == cells.BAD_DATE
    assert led["event_date__raw"].iloc[5] == "11月8日"


# ---- blank rows, hidden sheets, limits ---------------------------------------------------
def test_blank_styled_rows_are_ignored(tmp_path: Path, rulebook: Rulebook) -> None:
    fill = PatternFill("solid", fgColor="FFFF00")
    thin = Side(style="thin")

    def edit(wb: Any) -> None:
        ws = wb["支部名册"]
        ws.insert_rows(3, amount=2)  # rows 3-4 blank, data continue in rows 5-7
        for r in (3, 4, 8, 9, 30):
            for c in range(1, 9):
                cell = ws.cell(r, c)
                cell.fill = fill
                cell.border = Border(left=thin, right=thin, top=thin, bottom=thin)
                cell.font = Font(bold=True)
        ws.cell(4, 2).value = "   "  # only spaces: still blank
        ws.cell(30, 3).value = ""

    pw = read(build(tmp_path, rulebook, edit), rulebook)
    assert not pw.fatal and pw.findings.empty
    roster = pw.frames["roster"]
    assert roster["_row"].tolist() == [2, 5, 6, 7]
    assert roster["branch_code"].tolist() == [b["code"] for b in BRS]


def test_a_table_not_starting_in_column_a_keeps_its_letters(tmp_path: Path, rulebook: Rulebook) -> None:
    def edit(wb: Any) -> None:
        ws = wb["支部名册"]
        ws.insert_cols(1)

    pw = read(build(tmp_path, rulebook, edit), rulebook)
    assert not pw.fatal
    assert pw.letters["roster"]["branch_code"] == "B"
    assert pw.frames["roster"]["branch_code"].iloc[0] == V1


def test_hidden_sheets_are_read(tmp_path: Path, rulebook: Rulebook) -> None:
    def edit(wb: Any) -> None:
        wb["社区指标"].sheet_state = "hidden"
        wb["否决事项"].sheet_state = "veryHidden"
        wb["否决事项"].append([V1, dt.date(2026, 11, 5), "V01", "安全事故"])

    pw = read(build(tmp_path, rulebook, edit), rulebook)
    assert not pw.fatal and pw.findings.empty
    assert pw.frames["community_indicators"]["branch_code"].tolist() == [BRS[3]["code"]]
    assert pw.frames["vetoes"]["veto_code"].tolist() == ["V01"]


def _ledger_rows(n: int) -> list[list[Any]]:
    return [[dt.date(2026, 11, 1 + i), V1, "支部", "", "PA01", 1, ""] for i in range(n)]


def test_row_limit_exceeded(tmp_path: Path, rulebook: Rulebook) -> None:
    pw = read(build(tmp_path, rulebook, ledger=_ledger_rows(6)), rulebook, Limits(max_rows_per_sheet=5))
    assert pw.fatal
    rec = pw.findings[pw.findings["rule"] == "file.too_many_rows"].iloc[0]
    assert rec["severity"] == "error"
    assert rec["sheet"] == "积分台账" and rec["cell"] == ""
    assert "5" in rec["message"] and CHINESE.search(rec["message"])


def test_row_limit_counts_non_blank_rows_only(tmp_path: Path, rulebook: Rulebook) -> None:
    def edit(wb: Any) -> None:
        wb["积分台账"].insert_rows(3, amount=4)  # 4 blank rows inside the data

    pw = read(build(tmp_path, rulebook, edit, ledger=_ledger_rows(5)), rulebook, Limits(max_rows_per_sheet=5))
    assert not pw.fatal
    led = pw.frames["ledger"]
    assert led["_row"].tolist() == [2, 7, 8, 9, 10]  # nothing after the blank rows is lost
    assert led["event_date"].dt.day.tolist() == [1, 2, 3, 4, 5]


# ---- veto and explanation sheets --------------------------------------------------------
def test_veto_sheet_header_only_and_completely_empty(tmp_path: Path, rulebook: Rulebook) -> None:
    pw = read(build(tmp_path, rulebook), rulebook)
    assert pw.frames["vetoes"].empty and not pw.fatal

    def edit(wb: Any) -> None:
        wb["否决事项"].delete_rows(1)

    pw = read(build(tmp_path / "b", rulebook, edit), rulebook)
    assert not pw.fatal and pw.findings.empty
    assert pw.frames["vetoes"].empty
    assert "veto_code" in pw.frames["vetoes"].columns


def test_explanations_sheet(tmp_path: Path, rulebook: Rulebook) -> None:
    pw = read(
        build(tmp_path, rulebook, explanations=[["村指标!C2", "已核实"], [int(V1), "新建村"]]), rulebook
    )
    assert not pw.fatal and pw.findings.empty
    assert pw.frames["explanations"]["location"].tolist() == ["村指标!C2", V1]


# ---- resident IDs -------------------------------------------------------------------------
def test_resident_ids_are_masked_or_hashed_at_read(tmp_path: Path, rulebook: Rulebook) -> None:
    ledger = [
        [dt.date(2026, 11, 3), V1, "户", ID, "HH01", 2, "美丽庭院"],
        [dt.date(2026, 11, 4), V1, "户", ID.lower(), "HH02", 3, f"户主身份证{ID}"],
    ]

    def edit(wb: Any) -> None:
        wb["支部名册"]["G2"] = ID
        wb["封面"]["B4"] = f"张三{ID}"

    pw = read(build(tmp_path, rulebook, edit, ledger=ledger), rulebook)
    assert not pw.fatal
    roster = pw.frames["roster"]
    assert roster.at[0, "secretary_name"] == "410522********123X"
    assert roster.at[0, "secretary_name__warn"] == cells.ID_MASKED
    led = pw.frames["ledger"]
    h = cells.hash_id(ID, "test-key")
    assert led["subject_id"].tolist() == [h, h]
    assert (led["subject_id__warn"] == cells.ID_HASHED).all()
    assert led.at[1, "note"] == "户主身份证410522********123X"
    assert led.at[1, "note__warn"] == cells.ID_MASKED
    assert pw.cover["submitter"].text == "张三410522********123X"
    cover_warn = pw.findings[pw.findings["sheet"] == "封面"].iloc[0]
    assert (cover_warn["severity"], cover_warn["cell"]) == ("warning", "B4")
    # Nothing read from the file carries the ID any more (raw copies are masked too).
    for key, f in pw.frames.items():
        text = f.astype(str).to_string()
        assert "19900101" not in text, key
    assert "19900101" not in pw.findings.astype(str).to_string()
    assert "19900101" not in pw.cover["submitter"].text


def test_read_never_raises_on_a_reader_failure(tmp_path: Path, rulebook: Rulebook, monkeypatch: Any) -> None:
    from fivestar.ingest import read as read_mod

    def boom(self: Any) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(read_mod._Reader, "read", boom)
    pw = read(build(tmp_path, rulebook), rulebook)
    assert pw.fatal
    assert pw.findings["rule"].tolist() == ["file.unreadable"]


def test_an_id_in_the_file_name_stays_out_of_details_and_logs(
    tmp_path: Path, rulebook: Rulebook, monkeypatch: Any, caplog: Any
) -> None:
    from fivestar.ingest import read as read_mod

    def boom(self: Any) -> None:
        raise RuntimeError(f"cannot parse {self.path}")

    monkeypatch.setattr(read_mod._Reader, "read", boom)
    good = build(tmp_path, rulebook)
    p = good.rename(tmp_path / f"{COUNTY}_{ID}.xlsx")
    pw = read(p, rulebook)
    assert pw.fatal
    assert "19900101" not in pw.detail and "410522********123X" in pw.detail
    assert "19900101" not in caplog.text
    bad = tmp_path / f"{COUNTY}_{ID}_2.xlsx"
    bad.write_bytes(b"PK\x03\x04 truncated")
    assert "19900101" not in read(bad, rulebook).detail
