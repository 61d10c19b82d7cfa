"""Root causes first (issue 15): one structural mistake of a clerk → one finding that names it.

Each case is a valid workbook of 410621 浚县 2026-11 (tests/wbfactory.py, the contract
layout) changed the way clerks change files; the cases marked LO are saved through
LibreOffice first (`soffice --headless --convert-to xlsx`, one process for all of them).
Each test asserts the first finding of the sheet, its wording and the total count.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest

import wbfactory as W
from fivestar.config import Limits, Registry, Rulebook
from fivestar.feedback.common import normalise
from fivestar.ingest.read import read_workbook
from fivestar.submission import status_of
from fivestar.validate.batch import validate_period
from fivestar.validate.inputs import Prior, Submission
from testenv import require_tool

PERIOD = "2026-11"
COUNTY, OTHER = "410621", "410523"
NAMES = {COUNTY: "浚县", OTHER: "汤阴县"}


def _branches(county: str, n: int) -> list[dict[str, str]]:
    out = W.branches(county, n_village=n, n_community=1)
    for i, b in enumerate(out[:n]):
        b["township"] = "城关镇" if i < n // 2 else "白寺镇"
    return out


BRS = {COUNTY: _branches(COUNTY, 8), OTHER: _branches(OTHER, 4)}
REGISTRY = Registry(
    regions=W.registry_frame(NAMES, BRS),
    submitters=pd.DataFrame(columns=["county_code", "name", "email", "webhook_url"]),
)
Edit = Callable[[Any], None]


@dataclass
class Case:
    edit: Edit
    office: bool = False  # saved through LibreOffice before reading


def title_row(wb: Any) -> None:
    wb["村指标"].insert_rows(1)
    wb["村指标"]["A1"] = "浚县2026年11月五星支部村指标"


def title_every_sheet(wb: Any) -> None:
    for ws in wb.worksheets[1:]:  # every data sheet after the cover
        ws.insert_rows(1)
        ws["A1"] = f"浚县2026年11月{ws.title}"


def repeated_header(wb: Any) -> None:
    ws = wb["支部名册"]
    ws.insert_rows(5)
    for i, c in enumerate(ws[1], start=1):
        ws.cell(5, i, c.value)


def merged_township(wb: Any) -> None:
    ws = wb["支部名册"]  # rows 2-5 城关镇, rows 6-9 白寺镇 (column D)
    ws.merge_cells("D2:D5")
    ws.merge_cells("D6:D9")


def merged_optional(wb: Any) -> None:
    wb["村指标"].merge_cells("B2:B3")  # 支部名称 may be blank there: nothing else complains


def merged_values_kept(wb: Any) -> None:
    ws = wb["支部名册"]  # merged, but every covered cell still holds its value (as LibreOffice may keep)
    ws.merge_cells("D2:D5")
    for r in range(3, 6):
        ws._cells[(r, 4)] = openpyxl.cell.cell.Cell(ws, row=r, column=4, value="城关镇")


def totals_rows(wb: Any) -> None:
    wb["支部名册"].append(["", "合计", "", "", 250, 2500, "", ""])
    ws = wb["村指标"]
    ws.append(["", "合计", *[96.0] * (ws.max_column - 2)])


def notes_under(wb: Any) -> None:
    ws = wb["支部名册"]
    ws.append([])
    ws.append(["注：本表党员人数截至2026年11月30日"])
    ws.append(["填表人：张三"])


def notes_three_cells(wb: Any) -> None:
    ws = wb["支部名册"]
    ws.append([])
    ws.append(["填表人：张三", "", "审核人：李四", "", "日期：2026-12-01"])


def township_subtotals(wb: Any) -> None:
    ws = wb["支部名册"]
    for label in ("城关镇小计", "白寺镇小计", "社区小计", "合计"):
        ws.append(["", label, "", "", 120, 1200, "", ""])


def blank_row(wb: Any) -> None:
    wb["支部名册"].insert_rows(5)


def other_county(wb: Any) -> None:
    for b in BRS[OTHER]:
        wb["支部名册"].append([b["code"], b["name"], b["type"], b["township"], 30, 300, "王五", 50])
    ws = wb["村指标"]
    first = [c.value for c in ws[2]]
    for b in BRS[OTHER]:
        if b["type"] == "村":
            ws.append([b["code"], b["name"], *first[2:]])


def renamed_sheet(wb: Any) -> None:
    wb["村指标"].title = "村指标(11月)"


def renamed_to_sheet1(wb: Any) -> None:
    wb["村指标"].title = "Sheet1"


def deleted_vetoes(wb: Any) -> None:
    del wb["否决事项"]


def last_month(wb: Any) -> None:
    wb["封面"]["B3"] = "2026-10"
    for row in wb["积分台账"].iter_rows(min_row=2):
        row[0].value = dt.date(2026, 10, 3)


def members_blank(wb: Any) -> None:
    wb["支部名册"]["E3"] = None


def ages_left_blank(wb: Any) -> None:
    for row in wb["支部名册"].iter_rows(min_row=2):
        row[7].value = None  # 书记年龄


def members_with_unit(wb: Any) -> None:
    wb["支部名册"]["E3"] = "45人"


def rate_fractions(wb: Any) -> None:
    ws = wb["村指标"]
    rate_cols = [c.column for c in ws[1] if "率" in str(c.value)]
    for row in ws.iter_rows(min_row=2):
        for c in row:
            if c.column in rate_cols:
                c.value = round(c.value / 100 * 0.81, 3)


CASES = {
    "clean": Case(lambda wb: None, office=True),
    "title_row": Case(title_row, office=True),
    "title_every_sheet": Case(title_every_sheet, office=True),
    "repeated_header": Case(repeated_header),
    "merged_township": Case(merged_township, office=True),
    "merged_optional": Case(merged_optional),
    "merged_values_kept": Case(merged_values_kept),
    "totals_rows": Case(totals_rows, office=True),
    "notes_under": Case(notes_under),
    "notes_three_cells": Case(notes_three_cells),
    "township_subtotals": Case(township_subtotals),
    "blank_row": Case(blank_row),
    "other_county": Case(other_county, office=True),
    "renamed_sheet": Case(renamed_sheet, office=True),
    "renamed_to_sheet1": Case(renamed_to_sheet1),
    "deleted_vetoes": Case(deleted_vetoes),
    "last_month": Case(last_month),
    "members_blank": Case(members_blank),
    "members_with_unit": Case(members_with_unit),
    "ages_left_blank": Case(ages_left_blank, office=True),
    "rate_fractions": Case(rate_fractions, office=True),
}


def _office_round_trip(paths: list[Path], tmp: Path) -> list[Path]:
    soffice = require_tool("soffice", package="libreoffice-calc-nogui")
    out = tmp / "office"
    env = dict(os.environ, HOME=str(tmp))  # a private LibreOffice profile
    proc = subprocess.run(
        [soffice, "--headless", "--convert-to", "xlsx", "--outdir", str(out), *map(str, paths)],
        capture_output=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    return [out / p.name for p in paths]


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory, rulebook: Rulebook) -> dict[str, pd.DataFrame]:
    tmp = tmp_path_factory.mktemp("roots")
    paths = {}
    for name, case in CASES.items():
        path = tmp / "built" / name / f"{COUNTY}_{NAMES[COUNTY]}.xlsx"
        W.write_workbook(path, rulebook, COUNTY, NAMES[COUNTY], PERIOD, BRS[COUNTY], edit=case.edit)
        paths[name] = path
    office = [n for n, c in CASES.items() if c.office]
    flat = []
    for n in office:  # one soffice process converts every file (names must differ)
        flat.append(paths[n].with_name(f"{n}.xlsx"))
        paths[n].rename(flat[-1])
    for n, p in zip(office, _office_round_trip(flat, tmp), strict=True):
        paths[n] = p
    subs = [
        Submission(read_workbook(p, rulebook, Limits(), file_key=n, id_key="k"), COUNTY, PERIOD)
        for n, p in paths.items()
    ]
    out = validate_period(subs, rulebook, REGISTRY, {COUNTY: Prior()})
    return {n: normalise(df) for n, df in out.items()}


def first_of(df: pd.DataFrame, sheet: str) -> dict[str, Any]:
    rows = df[df["sheet"] == sheet]
    assert len(rows), f"no finding on {sheet}:\n{df[['sheet', 'cell', 'rule', 'message']]}"
    return rows.iloc[0].to_dict()


def check(
    results: dict[str, pd.DataFrame], case: str, sheet: str, rule: str, words: list[str], total: int
) -> dict[str, Any]:
    df = results[case]
    f = first_of(df, sheet)
    assert f["rule"] == rule, df[["sheet", "cell", "rule", "message"]].to_string()
    for w in words:
        assert w in f["message"], f["message"]
    assert len(df) == total, df[["sheet", "cell", "rule", "message"]].to_string()
    for bad in ("上报目录", "layout", "_"):
        assert bad not in f["message"]
    return f


def test_clean_file_after_office_has_no_findings(results: dict[str, pd.DataFrame]) -> None:
    assert len(results["clean"]) == 0, results["clean"].to_string()


def test_title_row_above_header(results: dict[str, pd.DataFrame]) -> None:
    f = check(results, "title_row", "村指标", "layout.header_row", ["第2行找到", "删除", "第1行"], 1)
    assert f["severity"] == "error"  # rejected as before


def test_one_habit_on_every_sheet_is_one_finding(results: dict[str, pd.DataFrame]) -> None:
    df = results["title_every_sheet"]
    assert len(df) == 1, df[["sheet", "cell", "rule", "message"]].to_string()
    f = df.iloc[0]
    assert f["rule"] == "layout.same_on_sheets" and f["severity"] == "error"
    assert "张工作表" in f["message"] and "支部名册" in f["message"] and "删除表头上方" in f["message"]
    assert "layout" not in f["message"] and "_" not in f["message"]


def test_repeated_header_row(results: dict[str, pd.DataFrame]) -> None:
    check(results, "repeated_header", "支部名册", "layout.repeated_header", ["第5行", "表头"], 1)


def test_merged_township_cells(results: dict[str, pd.DataFrame]) -> None:
    f = check(
        results,
        "merged_township",
        "支部名册",
        "layout.merged_cells",
        ["乡镇（街道）", "D2:D5、D6:D9", "取消合并"],
        1,
    )
    assert f["severity"] == "error"


def test_merged_optional_column_is_a_warning(results: dict[str, pd.DataFrame]) -> None:
    f = check(results, "merged_optional", "村指标", "layout.merged_cells_optional", ["支部名称", "B2:B3"], 1)
    assert f["severity"] == "warning"  # accepted as before: only the merged name is lost


def test_merged_cells_that_kept_their_values_lose_nothing(results: dict[str, pd.DataFrame]) -> None:
    assert len(results["merged_values_kept"]) == 0, results["merged_values_kept"].to_string()


def test_totals_rows(results: dict[str, pd.DataFrame]) -> None:
    check(results, "totals_rows", "支部名册", "layout.totals_row", ["第11行", "合计"], 2)
    check(results, "totals_rows", "村指标", "layout.totals_row", ["第10行", "合计"], 2)


def test_notes_typed_under_the_data(results: dict[str, pd.DataFrame]) -> None:
    check(
        results,
        "notes_under",
        "支部名册",
        "layout.notes_row",
        ["第12–13行", "本表党员人数截至", "情况说明"],
        1,
    )


def test_notes_spread_over_cells(results: dict[str, pd.DataFrame]) -> None:
    check(results, "notes_three_cells", "支部名册", "layout.notes_row", ["第12行", "填表人"], 1)


def test_many_subtotal_rows_are_one_finding(results: dict[str, pd.DataFrame]) -> None:
    check(results, "township_subtotals", "支部名册", "layout.totals_row", ["第11–14行", "“小计”"], 1)


def test_blank_row_splitting_the_data_is_ignored(results: dict[str, pd.DataFrame]) -> None:
    # submission.md: fully blank rows are ignored, so the file is accepted as before and a
    # blank row before notes or totals is never a finding of its own (see notes_under).
    assert len(results["blank_row"]) == 0, results["blank_row"].to_string()


def test_another_countys_rows(results: dict[str, pd.DataFrame]) -> None:
    f = check(
        results,
        "other_county",
        "支部名册",
        "layout.other_county",
        ["410523汤阴县", "“支部名册”第11–15行（共5行）", "“村指标”第10–13行（共4行）", "删除这些行"],
        1,
    )
    assert f["severity"] == "error"


def test_renamed_sheet(results: dict[str, pd.DataFrame]) -> None:
    check(
        results,
        "renamed_sheet",
        "村指标",
        "layout.sheet_renamed",
        ["找到了“村指标(11月)”", "改名为“村指标”"],
        1,
    )


def test_sheet_renamed_to_anything_found_by_its_header(results: dict[str, pd.DataFrame]) -> None:
    check(
        results,
        "renamed_to_sheet1",
        "村指标",
        "layout.sheet_renamed",
        ["找到了“Sheet1”", "改名为“村指标”"],
        1,
    )


def test_deleted_empty_optional_sheet(results: dict[str, pd.DataFrame]) -> None:
    check(
        results, "deleted_vetoes", "否决事项", "layout.empty_sheet_deleted", ["保留这张工作表和它的表头行"], 1
    )


def test_last_months_file(results: dict[str, pd.DataFrame]) -> None:
    check(
        results,
        "last_month",
        "封面",
        "cover.period.folder",
        ["这个文件是2026-10的报表", "本月应报的是2026-11"],
        1,
    )


def test_members_blank_says_the_columns_rule(results: dict[str, pd.DataFrame]) -> None:
    check(results, "members_blank", "支部名册", "roster.members.type.blank", ["党员人数", "不小于3的整数"], 1)


def test_column_left_blank_is_one_finding(results: dict[str, pd.DataFrame]) -> None:
    check(
        results,
        "ages_left_blank",
        "支部名册",
        "layout.empty_column",
        ["“书记年龄”整列都没有填写（9行）", "18–80之间的整数"],
        1,
    )


def test_members_with_unit(results: dict[str, pd.DataFrame]) -> None:
    check(
        results,
        "members_with_unit",
        "支部名册",
        "roster.members.type.not_number",
        ["去掉“人”", "改填45", "不小于3的整数"],
        1,
    )


def test_rates_pasted_as_fractions(results: dict[str, pd.DataFrame]) -> None:
    check(results, "rate_fractions", "村指标", "layout.rate_fractions", ["如实为77.8%，请改填77.8"], 1)


def test_verdicts_stay(results: dict[str, pd.DataFrame]) -> None:
    accepted = {"clean", "blank_row", "rate_fractions", "merged_optional", "merged_values_kept"}
    for name, df in results.items():
        assert (status_of(df).value != "rejected") == (name in accepted), name


# ---- a file named without a county code (fivestar.ingest.naming via discover) -----------
COUNTY_NAMES = dict(NAMES)


def _raw(tmp: Path, rulebook: Rulebook, name: str, cover_code: str = COUNTY) -> Path:
    path = tmp / "raw" / PERIOD / name
    W.write_workbook(path, rulebook, cover_code, NAMES[cover_code], PERIOD, BRS[cover_code])
    return path


def _discover(tmp: Path) -> Any:
    from fivestar.ingest.discover import discover

    known = pd.DataFrame(columns=["county_code", "period", "version", "file_sha256"])
    return discover(tmp / "raw", frozenset(NAMES), known, county_names=COUNTY_NAMES)


def test_file_named_without_code_is_taken_for_its_county(tmp_path: Path, rulebook: Rulebook) -> None:
    from fivestar.alerts.compose import digest_message
    from fivestar.validate.root_causes import unnamed_file

    _raw(tmp_path, rulebook, "浚县11月五星支部报表(修改版).xlsx")
    found = _discover(tmp_path)
    assert [(v.county_code, v.file_name) for v in found.versions] == [
        (COUNTY, "浚县11月五星支部报表(修改版).xlsx")
    ]
    assert found.unrecognised == []
    f = unnamed_file("k", "浚县11月五星支部报表(修改版).xlsx", COUNTY, "浚县")
    assert (f["severity"], f["rule"]) == ("warning", "file.name_without_code")
    assert "以后请把文件命名为“410621_浚县11月五星支部报表(修改版).xlsx”" in f["message"]
    row = {"county_code": COUNTY, "county_name": "浚县", "file_name": "浚县11月五星支部报表(修改版).xlsx"}
    msg = digest_message(PERIOD, [], None, [], unnamed=[row])
    assert "文件名缺少县代码" in msg.text and "应命名为410621_浚县11月" in msg.text


def test_file_named_without_code_by_cover_code_only(tmp_path: Path, rulebook: Rulebook) -> None:
    _raw(tmp_path, rulebook, "11月五星支部报表.xlsx")
    assert [v.county_code for v in _discover(tmp_path).versions] == [COUNTY]


def test_ambiguous_file_name_tells_the_name_to_use(tmp_path: Path, rulebook: Rulebook) -> None:
    _raw(tmp_path, rulebook, "汤阴县11月报表.xlsx", cover_code=COUNTY)  # name and cover disagree
    found = _discover(tmp_path)
    assert found.versions == []
    (line,) = found.unrecognised
    assert "文件名缺少县代码" in line and "请改名为410621_汤阴县11月报表.xlsx" in line
    assert "请改名为410523_汤阴县11月报表.xlsx" in line
    ((period, name, candidates),) = [(u.period, u.file_name, u.candidates) for u in found.unnamed]
    assert (period, name, candidates) == (PERIOD, "汤阴县11月报表.xlsx", ("410523", "410621"))
