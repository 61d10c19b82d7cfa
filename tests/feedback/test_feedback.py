"""Feedback workbook and HTML validation pages (fivestar.feedback).

In: small workbooks built with openpyxl in tmp_path and fabricated findings.
Out: assertions on the annotated copy, the 审核结果 sheet, the fallback workbook,
and the HTML pages.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from openpyxl.styles import Font, PatternFill

from fivestar.feedback import feedback_path, write_feedback_workbook, write_run_index, write_validation_html
from fivestar.feedback import workbook as workbook_mod
from fivestar.feedback.common import FEEDBACK_AUTHOR, SUMMARY_SHEET
from fivestar.feedback.xlsx_patch import Unsupported
from fivestar.findings import finding, make_findings

RED, YELLOW = "FFC7CE", "FFEB9C"
META = {"county_name": "林州市", "county_code": "410522", "period": "2026-11"}
FORMULA_VALUE = '=HYPERLINK("http://x","y")'
RESIDENT_ID = "41052219900101123X"


# ---- fixtures ------------------------------------------------------------------------


def _set_cached_value(path: Path, sheet_xml: str, formula: str, cached: str) -> None:
    """openpyxl never writes cached formula results; add one the way Excel would."""
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == sheet_xml:
                # openpyxl writes an empty value as <v /> or, with lxml, as <v></v>.
                old = f"<f>{formula}</f><v></v>".encode()
                if old not in data:
                    old = f"<f>{formula}</f><v />".encode()
                assert old in data
                data = data.replace(old, f"<f>{formula}</f><v>{cached}</v>".encode())
            zout.writestr(item, data)
    os.replace(tmp, path)


@pytest.fixture
def original(tmp_path: Path) -> Path:
    wb = openpyxl.Workbook()
    cover = wb.active
    cover.title = "封面"
    cover["A1"] = "五星支部月度填报"
    cover.merge_cells("A1:B1")
    cover["A1"].fill = PatternFill(fill_type="solid", start_color="DDEBF7", end_color="DDEBF7")
    cover.append(["县（市、区）代码", "410522"])
    cover.append(["填报期间", "2026-11"])

    roster = wb.create_sheet("支部名册")
    roster.append(
        ["支部代码", "支部名称", "类型", "乡镇（街道）", "党员人数", "户数", "书记姓名", "书记年龄"]
    )
    for c in roster[1]:
        c.font = Font(bold=True)
    roster.append(["410522101201", "东村", "村", "城关镇", 600, 300, "张三", 65])
    roster.append(["410522101202", "西村", "村", "城关镇", 40, 200, "李四", 45])

    village = wb.create_sheet("村指标")  # sheet3.xml
    village.append(
        [
            "支部代码",
            "支部名称",
            "主题党日开展次数",
            "刑事案件数",
            "党员参与率（%）",
            "三会一课完成率（%）",
            "合计",
        ]
    )
    village.append(["410522101201", "东村", 1, 2, 90, 95, "=SUM(C2:D2)"])
    village.append(["410522101202", "西村", 2, 0, 88, 120, "=SUM(C3:D3)"])
    village.column_dimensions["B"].width = 30
    village.merge_cells("I1:K1")
    village["I1"] = "备注区"

    ledger = wb.create_sheet("积分台账")
    ledger.append(["日期", "支部代码", "对象类型", "对象编号", "积分项目代码", "分值", "说明"])
    ledger.append(["2026-11-03", "410522101201", "户", "H0001", "JF01", 5, FORMULA_VALUE])
    ledger.append(["2026-11-04", "410522101201", "户", RESIDENT_ID, "JF01", 5, f"户主{RESIDENT_ID}"])
    wb.create_sheet("否决事项").append(["支部代码", "发生日期", "事项代码", "说明"])

    path = tmp_path / "in" / "410522_林州市_2026-11.xlsx"
    path.parent.mkdir()
    wb.save(path)
    _set_cached_value(path, "xl/worksheets/sheet3.xml", "SUM(C2:D2)", "3")
    return path


def _findings() -> pd.DataFrame:
    rows = [
        finding(
            "error",
            "village.rate.range",
            "三会一课完成率为120，超出0到100，请改为实际完成率（0–100）。",
            sheet="村指标",
            row=3,
            column_name="三会一课完成率（%）",
            cell="F3",
            value="120",
            branch_code="410522101202",
        ),
        finding(
            "warning",
            "village.rate.jump",
            "三会一课完成率比上月变化超过30个百分点，请核实。",
            sheet="村指标",
            row=3,
            column_name="三会一课完成率（%）",
            cell="F3",
            value="120",
            branch_code="410522101202",
        ),
        finding(
            "warning",
            "roster.members.high",
            "党员人数600超过500，请核实。",
            sheet="支部名册",
            row=2,
            column_name="党员人数",
            cell="E2",
            value="600",
            branch_code="410522101201",
        ),
        dict(
            finding(
                "warning",
                "roster.secretary_age.high",
                "书记年龄65岁超过60岁，请核实。",
                sheet="支部名册",
                row=2,
                column_name="书记年龄",
                cell="H2",
                value="65",
                branch_code="410522101201",
            ),
            explained=True,
        ),
        finding(
            "warning",
            "ledger.note.text",
            "说明以等号开头，将按文本处理。",
            sheet="积分台账",
            row=2,
            column_name="说明",
            cell="G2",
            value=FORMULA_VALUE,
        ),
        finding("error", "sheet.missing", "缺少工作表“社区指标”，请按模板补上。", sheet="社区指标"),
        finding(
            "error",
            "column.missing",
            "村指标缺少列“群众满意度（%）”，请按模板补上。",
            sheet="村指标",
            column_name="群众满意度（%）",
        ),
        finding("error", "file.county_mismatch", "封面县代码与文件名不一致，请改正文件名或封面。"),
    ]
    return make_findings(rows)


EXPLANATIONS = pd.DataFrame({"位置": ["支部名册!H2"], "说明": ["书记返聘，经组织部同意"]})
EXPECTED_FILLS = {
    ("村指标", "F3"): RED,
    ("支部名册", "E2"): YELLOW,
    ("支部名册", "H2"): YELLOW,
    ("积分台账", "G2"): YELLOW,
}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _rgb(cell) -> str | None:
    f = cell.fill
    if f is None or f.fill_type is None:
        return None
    return str(f.fgColor.rgb)[-6:].upper()


@pytest.fixture(params=["patch", "openpyxl"])
def copy_path(request, monkeypatch) -> str:
    """Run a test on both ways of making the copy: XML patching (fast) and openpyxl (fallback)."""
    if request.param == "openpyxl":

        def refuse(*args, **kwargs):
            raise Unsupported("forced by the test")

        monkeypatch.setattr(workbook_mod, "write_patched_copy", refuse)
    else:
        real = workbook_mod.write_patched_copy
        calls = []

        def spy(*args, **kwargs):
            real(*args, **kwargs)  # raises if the patch path cannot take the file
            calls.append(args[1])

        monkeypatch.setattr(workbook_mod, "write_patched_copy", spy)
        request.node.patched_calls = calls
    return request.param


@pytest.fixture
def written(tmp_path: Path, original: Path, copy_path: str) -> tuple[Path, Path, str]:
    before = _sha(original)
    out = feedback_path(tmp_path / "feedback", "2026-11", "410522", 1, "rejected")
    result = write_feedback_workbook(
        original, out, _findings(), "rejected", explanations=EXPLANATIONS, **META
    )
    assert result == out and out.exists()
    if copy_path == "patch":
        assert _first_sheet_part(out) != "xl/worksheets/sheet1.xml", "the patch path was not taken"
    return original, out, before


def _first_sheet_part(path: Path) -> str:
    """The zip part of the workbook's first sheet (workbook.xml + its rels)."""
    import re

    with zipfile.ZipFile(path) as zf:
        wb = zf.read("xl/workbook.xml").decode()
        rels = zf.read("xl/_rels/workbook.xml.rels").decode()
    rid = re.search(r'<(?:\w+:)?sheet\b[^>]*\br:id="([^"]+)"', wb).group(1)
    target = re.search(rf'<Relationship\b[^>]*Id="{rid}"[^>]*>', rels).group(0)
    t = re.search(r'Target="([^"]+)"', target).group(1)
    return t.lstrip("/") if t.startswith("/") else f"xl/{t}"


def _summary_rows(ws) -> list[list]:
    """Finding rows of 审核结果 (header in row 10) until the first blank 序号."""
    rows = []
    r = 11
    while isinstance(ws.cell(r, 1).value, int):
        rows.append([ws.cell(r, c).value for c in range(1, 10)])
        r += 1
    return rows


# ---- paths ----------------------------------------------------------------------------


def test_feedback_path(tmp_path: Path) -> None:
    p = feedback_path(tmp_path, "2026-11", "410522", 3, "accepted")
    assert p == tmp_path / "2026-11" / "410522_2026-11_v3_审核结果.xlsx"


# ---- annotated copy -------------------------------------------------------------------


def test_original_untouched(written) -> None:
    original, _, before = written
    assert _sha(original) == before


def test_fills_only_on_finding_cells(written) -> None:
    original, out, _ = written
    src = openpyxl.load_workbook(original)
    dst = openpyxl.load_workbook(out)
    seen = set()
    for ws in src.worksheets:
        copy = dst[ws.title]
        max_row = max(ws.max_row, copy.max_row)
        max_col = max(ws.max_column, copy.max_column)
        for row in range(1, max_row + 1):
            for col in range(1, max_col + 1):
                c = copy.cell(row, col)
                key = (ws.title, c.coordinate)
                if key in EXPECTED_FILLS:
                    assert _rgb(c) == EXPECTED_FILLS[key], key
                    seen.add(key)
                else:
                    assert _rgb(c) == _rgb(ws.cell(row, col)), key
    assert seen == set(EXPECTED_FILLS)
    assert _rgb(dst["封面"]["A1"]) == "DDEBF7"  # existing formatting kept


def test_comments(written) -> None:
    _, out, _ = written
    wb = openpyxl.load_workbook(out)
    f3 = wb["村指标"]["F3"].comment
    assert f3 is not None and f3.author == FEEDBACK_AUTHOR
    lines = f3.text.split("\n")
    assert lines[0].startswith("【错误】") and "三会一课完成率为120" in lines[0]
    assert lines[1].startswith("【提示】") and "变化超过30个百分点" in lines[1]
    h2 = wb["支部名册"]["H2"].comment
    assert "【提示】" in h2.text and "（已说明）" in h2.text
    assert "（已说明）" not in wb["支部名册"]["E2"].comment.text
    commented = {
        (ws.title, c.coordinate) for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.comment
    }
    assert commented == set(EXPECTED_FILLS)


def test_summary_sheet(written) -> None:
    _, out, _ = written
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == [SUMMARY_SHEET, "封面", "支部名册", "村指标", "积分台账", "否决事项"]
    assert wb.active.title == SUMMARY_SHEET
    ws = wb[SUMMARY_SHEET]
    assert "审核结果" in ws["A1"].value
    assert ws["B2"].value == "林州市（410522）"
    assert ws["B3"].value == "2026-11"
    assert ws["B4"].value == "退回"
    assert (ws["A5"].value, ws["B5"].value) == ("错误（项）", 4)
    assert (ws["A6"].value, ws["B6"].value) == ("提示（项）", 4)
    assert ws["A8"].value == "标注说明" and "原文件未改动" in ws["B8"].value  # how the copy was made
    assert ws["B7"].value.startswith("本次填报有错误")
    header = [ws.cell(10, c).value for c in range(1, 10)]
    assert header[:8] == ["序号", "严重程度", "工作表", "单元格", "列", "填写值", "问题说明", "是否已说明"]
    assert all(ws.cell(10, c).font.b for c in range(1, 10))
    assert ws.freeze_panes == "A11"
    assert ws.column_dimensions["G"].width >= 40

    rows = _summary_rows(ws)
    assert len(rows) == 8
    assert [r[0] for r in rows] == list(range(1, 9))
    # whole-file first, then workbook sheet order (sheets absent from the file after known ones)
    assert rows[0][2] == "（整个文件）" and rows[0][1] == "错误"
    by_loc = {r[3]: r for r in reversed(rows) if r[3]}  # first row per cell
    f3 = [r for r in rows if r[3] == "村指标!F3"]
    assert [r[1] for r in f3] == ["错误", "提示"]  # errors first within a cell
    assert f3[0][5] == "120" and f3[0][7] is None  # an error is never "explained"
    assert by_loc["支部名册!E2"][1] == "提示" and by_loc["支部名册!E2"][7] == "否"
    assert by_loc["支部名册!H2"][7] == "是"

    links = {
        ws.cell(r, 4).value: ws.cell(r, 4).hyperlink.location
        for r in range(11, 19)
        if ws.cell(r, 4).hyperlink
    }
    assert links["村指标!F3"] == "'村指标'!F3"
    assert links["支部名册!E2"] == "'支部名册'!E2"
    # column-level finding on a present sheet links the sheet; a missing sheet has no link
    sheet_level = {r: ws.cell(r, 3) for r in range(11, 19) if not ws.cell(r, 4).value}
    linked = {c.value: (c.hyperlink.location if c.hyperlink else None) for c in sheet_level.values()}
    assert linked["村指标"] == "'村指标'!A1"
    assert linked["社区指标"] is None

    texts = [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert "收到的情况说明" in texts and "书记返聘，经组织部同意" in texts


def test_formula_like_value_stays_text(written) -> None:
    _, out, _ = written
    ws = openpyxl.load_workbook(out)[SUMMARY_SHEET]
    cells = [c for row in ws.iter_rows(min_row=11) for c in row if c.value == FORMULA_VALUE]
    assert cells, "the '=' value must be listed"
    for c in cells:
        assert c.data_type == "s"
    with zipfile.ZipFile(out) as zf:
        sheet1 = zf.read(_first_sheet_part(out)).decode()
    assert "<f>" not in sheet1  # no formula anywhere in 审核结果


def test_original_structure_preserved(written) -> None:
    original, out, _ = written
    src = openpyxl.load_workbook(original)
    dst = openpyxl.load_workbook(out)
    assert dst["村指标"]["G2"].value == "=SUM(C2:D2)"
    assert dst["村指标"]["G3"].value == "=SUM(C3:D3)"
    # the original still carries the cached formula result (it was never re-saved)
    assert openpyxl.load_workbook(original, data_only=True)["村指标"]["G2"].value == 3
    for name in src.sheetnames:
        assert {str(r) for r in dst[name].merged_cells.ranges} == {
            str(r) for r in src[name].merged_cells.ranges
        }
    assert {str(r) for r in dst["封面"].merged_cells.ranges} == {"A1:B1"}
    assert dst["村指标"].column_dimensions["B"].width == 30
    assert all(c.font.b for c in dst["支部名册"][1])
    assert dst["支部名册"]["E2"].value == 600 and dst["支部名册"]["A2"].value == "410522101201"


def test_resident_ids_masked_in_copy(written) -> None:
    _, out, _ = written
    ws = openpyxl.load_workbook(out)["积分台账"]
    assert ws["D3"].value == "410522********123X"
    assert ws["G3"].value == "户主410522********123X"
    with zipfile.ZipFile(out) as zf:
        assert not any(RESIDENT_ID.encode() in zf.read(n) for n in zf.namelist())


def test_merged_cell_finding_goes_to_top_left(tmp_path: Path, original: Path) -> None:
    f = make_findings([finding("warning", "x", "请核实。", sheet="封面", row=1, cell="B1", value="")])
    out = write_feedback_workbook(original, tmp_path / "o.xlsx", f, "accepted_with_warnings", **META)
    wb = openpyxl.load_workbook(out)
    assert _rgb(wb["封面"]["A1"]) == YELLOW and wb["封面"]["A1"].comment is not None
    assert wb[SUMMARY_SHEET]["B4"].value == "通过（有提示）"


def test_accepted_without_findings(tmp_path: Path, original: Path) -> None:
    out = write_feedback_workbook(original, tmp_path / "o.xlsx", make_findings([]), "accepted", **META)
    ws = openpyxl.load_workbook(out)[SUMMARY_SHEET]
    assert (ws["B4"].value, ws["B5"].value, ws["B6"].value) == ("通过", 0, 0)


def test_resubmitted_feedback_copy_is_cleaned(tmp_path: Path, written) -> None:
    _, first, _ = written
    again = write_feedback_workbook(first, tmp_path / "again.xlsx", make_findings([]), "accepted", **META)
    wb = openpyxl.load_workbook(again)
    assert wb.sheetnames.count(SUMMARY_SHEET) == 1 and wb.sheetnames[0] == SUMMARY_SHEET
    for ws in wb.worksheets[1:]:
        for row in ws.iter_rows():
            for c in row:
                assert c.comment is None
                assert _rgb(c) not in (RED, YELLOW)


def test_archived_copy_without_extension(tmp_path: Path, original: Path) -> None:
    archived = tmp_path / "archive" / "ab12cd"
    archived.parent.mkdir()
    shutil.copy(original, archived)
    out = write_feedback_workbook(archived, tmp_path / "o.xlsx", _findings(), "rejected", **META)
    assert "村指标" in openpyxl.load_workbook(out).sheetnames


def test_refuses_to_overwrite_original(original: Path) -> None:
    with pytest.raises(ValueError):
        write_feedback_workbook(original, original, _findings(), "rejected", **META)


# ---- fallback -------------------------------------------------------------------------


def _whole_file() -> pd.DataFrame:
    return make_findings(
        [finding("error", "file.not_xlsx", "文件不是有效的 .xlsx 工作簿，请另存为 .xlsx 后重新上报。")]
    )


@pytest.mark.parametrize("name", ["410522_bad.xlsx", "410522_bad.xls", "missing.xlsx"])
def test_fallback_for_unreadable_original(tmp_path: Path, name: str) -> None:
    bad = tmp_path / name
    if name != "missing.xlsx":
        bad.write_bytes(os.urandom(4096))
    before = bad.read_bytes() if bad.exists() else None
    out = write_feedback_workbook(bad, tmp_path / "fb" / "o.xlsx", _whole_file(), "rejected", **META)
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == [SUMMARY_SHEET]
    ws = wb[SUMMARY_SHEET]
    assert ws["B4"].value == "退回" and ws["B5"].value == 1
    assert "无法作为 Excel 工作簿" in ws["B8"].value
    assert _summary_rows(ws)[0][6].startswith("文件不是有效的")
    if before is not None:
        assert bad.read_bytes() == before


def test_fallback_when_over_limits(tmp_path: Path, original: Path) -> None:
    out = write_feedback_workbook(
        original, tmp_path / "o.xlsx", _findings(), "rejected", max_uncompressed_bytes=100, **META
    )
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == [SUMMARY_SHEET]
    assert "大小限制" in wb[SUMMARY_SHEET]["B8"].value
    assert len(_summary_rows(wb[SUMMARY_SHEET])) == 8


def test_summary_only_on_request(tmp_path: Path, original: Path) -> None:
    out = write_feedback_workbook(
        original, tmp_path / "o.xlsx", _findings(), "rejected", copy_original=False, **META
    )
    assert openpyxl.load_workbook(out).sheetnames == [SUMMARY_SHEET]


# ---- LibreOffice ----------------------------------------------------------------------


def _soffice_required() -> bool:
    return os.environ.get("CI", "").lower() == "true" and os.environ.get("FIVESTAR_REQUIRE_SOFFICE") == "1"


@pytest.mark.system  # drives a real browser or office suite
def test_soffice_converts_feedback_to_pdf(tmp_path: Path, written) -> None:
    soffice = shutil.which("soffice")
    if soffice is None:
        if _soffice_required():
            pytest.fail("soffice is required (CI=true, FIVESTAR_REQUIRE_SOFFICE=1) but not on PATH")
        pytest.skip("soffice not on PATH")
    _, out, _ = written
    # and a summary-only workbook (written from scratch, not from the submitter's file)
    alone = write_feedback_workbook(
        tmp_path / "missing.xlsx", tmp_path / "alone.xlsx", _whole_file(), "rejected", **META
    )
    pdf_dir = tmp_path / "pdf"
    env = dict(os.environ, HOME=str(tmp_path))  # a private LibreOffice profile
    proc = subprocess.run(
        [soffice, "--headless", "--convert-to", "pdf", "--outdir", str(pdf_dir), str(out), str(alone)],
        capture_output=True,
        timeout=180,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    for book in (out, alone):
        pdf = pdf_dir / (book.stem + ".pdf")
        assert pdf.exists() and pdf.read_bytes().startswith(b"%PDF")


# ---- HTML -----------------------------------------------------------------------------


def test_validation_html(tmp_path: Path) -> None:
    f = make_findings(
        [
            finding(
                "error",
                "x.y",
                "值<b>不对</b>",
                sheet="村指标",
                row=3,
                cell="F3",
                value="<script>alert(1)</script>",
            ),
            finding("warning", "x.z", "请核实", sheet="支部名册", row=2, cell="E2", value=RESIDENT_ID),
            finding("error", "file.bad", "整个文件有问题"),
        ]
    )
    out = write_validation_html(
        tmp_path / "html" / "410522_2026-11_v1.html",
        f,
        county_code="410522",
        county_name="林州市",
        period="2026-11",
        version=1,
        status="rejected",
        file_name="410522_<i>x</i>.xlsx",
        file_sha256="ab" * 32,
    )
    html = out.read_text(encoding="utf-8")
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>不对</b>" not in html and "<i>x</i>" not in html
    assert '<b id="n-errors">2</b>' in html and '<b id="n-warnings">1</b>' in html
    assert "村指标!F3" in html and "退回" in html and "ab" * 32 in html
    assert RESIDENT_ID not in html and "410522********123X" in html
    assert "http://" not in html and "https://" not in html and "<link" not in html and "src=" not in html


def test_run_index(tmp_path: Path) -> None:
    run = tmp_path / "run"
    page = run / "2026-11" / "410522_2026-11_v1.html"
    page.parent.mkdir(parents=True)
    page.write_text("x", encoding="utf-8")
    rows = [
        {
            "county_code": "410522",
            "county_name": "林州市",
            "period": "2026-11",
            "version": 1,
            "status": "rejected",
            "errors": 3,
            "warnings": 1,
            "file_name": "<b>a</b>.xlsx",
            "html_path": page,
            "feedback_path": run / "fb" / "410522_2026-11_v1_审核结果.xlsx",
        },
        {"county_code": "410523", "status": "accepted", "errors": 0, "warnings": 0},
    ]
    out = write_run_index(run / "index.html", rows)
    html = out.read_text(encoding="utf-8")
    assert 'href="2026-11/410522_2026-11_v1.html"' in html
    assert "fb/410522_2026-11_v1_%E5%AE%A1%E6%A0%B8%E7%BB%93%E6%9E%9C.xlsx" in html
    assert "&lt;b&gt;a&lt;/b&gt;.xlsx" in html
    assert "退回" in html and "通过" in html


# ---- the XML patch path ---------------------------------------------------------------


def test_patch_keeps_unmarked_sheets_byte_identical(tmp_path: Path, original: Path) -> None:
    out = write_feedback_workbook(original, tmp_path / "o.xlsx", _findings(), "rejected", **META)
    assert _first_sheet_part(out) != "xl/worksheets/sheet1.xml", "the patch path was not taken"
    with zipfile.ZipFile(original) as a, zipfile.ZipFile(out) as b:
        # 否决事项 (sheet5) has no finding and no ID: copied as is, like every part nobody marks.
        assert a.read("xl/worksheets/sheet5.xml") == b.read("xl/worksheets/sheet5.xml")
        assert a.read("xl/theme/theme1.xml") == b.read("xl/theme/theme1.xml")
        # the original's formula keeps its cached result (openpyxl would drop it)
        assert b"<f>SUM(C2:D2)</f><v>3</v>" in b.read("xl/worksheets/sheet3.xml")


def test_existing_notes_are_kept_and_merged(tmp_path: Path, copy_path: str) -> None:
    from openpyxl.comments import Comment

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "支部名册"
    ws.append(["支部代码", "党员人数"])
    ws.append(["410522101201", 600])
    ws["B1"].comment = Comment("填写在册党员人数", "模板")
    ws["B2"].comment = Comment("上月为580", "模板")
    src = tmp_path / "tpl.xlsx"
    wb.save(src)
    f = make_findings(
        [
            finding(
                "warning",
                "roster.members.high",
                "党员人数600超过500，请核实。",
                sheet="支部名册",
                row=2,
                cell="B2",
            )
        ]
    )
    out = write_feedback_workbook(src, tmp_path / "o.xlsx", f, "accepted_with_warnings", **META)
    got = openpyxl.load_workbook(out)["支部名册"]
    assert got["B1"].comment.text == "填写在册党员人数"
    assert got["B1"].comment.author == "模板"
    lines = got["B2"].comment.text.split("\n")
    assert lines[0].startswith("【提示】党员人数600超过500")
    assert lines[-2:] == ["——原批注——", "上月为580"]
    assert _rgb(got["B2"]) == YELLOW and _rgb(got["B1"]) is None


def test_ids_in_numbers_and_formulas_are_masked(tmp_path: Path, copy_path: str) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "积分台账"
    ws.append(["对象编号", "说明", "分值"])
    ws.append([410522199001011234, f'=CONCAT("户主","{RESIDENT_ID}")', 5])
    ws.append(["ok", "ok", 1])
    src = tmp_path / "ids.xlsx"
    wb.save(src)
    f = make_findings([finding("warning", "x", "请核实。", sheet="积分台账", row=3, cell="C3", value="1")])
    out = write_feedback_workbook(src, tmp_path / "o.xlsx", f, "accepted_with_warnings", **META)
    got = openpyxl.load_workbook(out)["积分台账"]
    a2 = got["A2"].value  # the number as a double holds it (…1328), masked as text
    assert isinstance(a2, str) and a2.startswith("410522********") and len(a2) == 18
    assert RESIDENT_ID not in str(got["B2"].value) and "410522********123X" in str(got["B2"].value)
    with zipfile.ZipFile(out) as zf:
        blob = b"".join(zf.read(n) for n in zf.namelist())
    assert b"41052219900101" not in blob


def test_both_copy_paths_mark_cells_the_same_way(tmp_path: Path, original: Path, monkeypatch) -> None:
    """Fill and tab colours read back identically (ARGB strings included) from both paths."""

    def marks(path: Path) -> dict:
        wb = openpyxl.load_workbook(path)
        out = {}
        for sheet, ref in EXPECTED_FILLS:
            c = wb[sheet][ref]
            out[(sheet, ref)] = (
                c.fill.fill_type,
                c.fill.fgColor.rgb,
                c.comment.author if c.comment else None,
            )
        for ws in wb.worksheets[1:]:
            tab = ws.sheet_properties.tabColor
            out[ws.title] = tab.rgb if tab is not None else None
        return out

    fast = write_feedback_workbook(original, tmp_path / "fast.xlsx", _findings(), "rejected", **META)
    assert _first_sheet_part(fast) != "xl/worksheets/sheet1.xml"
    monkeypatch.setattr(
        workbook_mod, "write_patched_copy", lambda *a, **k: (_ for _ in ()).throw(Unsupported("x"))
    )
    slow = write_feedback_workbook(original, tmp_path / "slow.xlsx", _findings(), "rejected", **META)
    assert _first_sheet_part(slow) == "xl/worksheets/sheet1.xml"
    assert marks(fast) == marks(slow)
