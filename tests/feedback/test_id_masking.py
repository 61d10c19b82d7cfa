"""Resident IDs in every form are masked: cells, the reader, findings, logs, feedback copies.

In: ID texts as people type them (half/full width, X/x/Ｘ, letter prefix, spaces or
dashes, 15-digit old style, typed as numbers), small workbooks built with wbfactory
and openpyxl, log records. Out: assertions that no 15 digits of an ID survive, that
ordinary numbers, phones, dates and decimals are left alone, that numbers of 15+
digits are an error in count columns, and that both feedback paths mask every
text-bearing part (properties, comments, names, validations, headers, sheet names,
rich-text runs, character references). The whole run is swept in test_id_sweep.py.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import re
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont
from openpyxl.comments import Comment
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation

import wbfactory as W
from fivestar import cells
from fivestar.config import Limits, Rulebook
from fivestar.feedback.workbook import write_feedback_workbook
from fivestar.findings import finding, make_findings
from fivestar.ingest.read import read_workbook
from fivestar.logmask import mask_record
from fivestar.validate.messages import issue_message

FORMS = {
    "half": "410621197005051118",
    "lower x": "41062119550505777x",
    "full width Ｘ": "４１０６２１１９８００２０２１２３Ｘ",
    "prefixed": "SFZ410621195505057779",
    "spaced": "410621 19700505 1118",
    "dashed": "410621-19700505-1118",
    "em dashes": "410621—19700505—1118",
    "full-width spaces": "410621\u300019700505\u30001118",
    "line breaks": "410621\n19700505\n1118",
    "old 15-digit": "410621700505111",
    "in a sentence": "身份证号410621197005051118，已核实",
}


def digits_left(text: str) -> str | None:
    """The longest run of digits (however written) in `text` when it is 15 or more."""
    t = re.sub(r"[\s\-‐-―−－_]", "", cells.unicodedata.normalize("NFKC", text))
    runs = re.findall(r"\d{15,}", t)
    return max(runs, key=len) if runs else None


@pytest.mark.parametrize("form", list(FORMS))
def test_every_form_is_masked(form: str) -> None:
    masked = cells.mask_ids_in(FORMS[form])
    assert digits_left(masked) is None, masked
    assert re.search(r"410621\*{4,}\d{3}[\dX]", masked), masked
    assert cells.display(FORMS[form]) == masked


@pytest.mark.parametrize(
    "text",
    [
        "0372-1234567 13800138000",  # two phone numbers side by side
        "2026-11-03",
        "0.30000000000000004",  # a float's long fraction is no ID
        "410522101201",  # a branch code
        "{6A3E4B1C-1234-5678-9012-345678901234}",
        "共 12 345 678 元",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert cells.mask_ids_in(text) == text


def test_an_id_after_a_short_number_is_still_found() -> None:
    assert cells.mask_ids_in("电话 7 410621 19700505 1118") == "电话 7 410621********1118"


def test_same_person_same_hash_however_typed() -> None:
    forms = [
        "410621197005051118",
        "SFZ410621197005051118",
        "410621 19700505 1118",
        "４１０６２１１９７００５０５１１１８",
    ]
    assert len({cells.hash_id(f, "k") for f in forms}) == 1
    assert all(cells.is_resident_id(FORMS[f]) for f in ("half", "full width Ｘ", "prefixed", "spaced"))


@pytest.mark.parametrize("value", [410621200101014442, 4.106212001010145e17, 123456789012345.0, -4.1e17])
def test_long_numbers_are_never_shown_in_full(value: Any) -> None:
    shown = cells.display(value)
    assert "e+" not in shown and digits_left(shown) is None, shown


def test_long_numbers_in_scientific_notation_are_masked_in_text() -> None:
    assert cells.mask_ids_in("值为4.106212001010145e+17") == "值为410621********4528"
    assert cells.mask_ids_in("比率1.2345678901234567e-05") == "比率1.2345678901234567e-05"


def test_long_numbers_are_an_error_not_a_value() -> None:
    assert cells.parse_number(410621200101014442.0, integer=True) == (None, cells.TOO_LONG, None)
    assert cells.parse_number("410621200101014442")[1] == cells.TOO_LONG
    assert cells.parse_rate("410621200101014442%", percent_cell=False)[1] == cells.TOO_LONG
    assert cells.parse_number(99999999999999.0)[1] is None  # 14 digits: still a number
    msg = issue_message(cells.TOO_LONG, "户数", cells.display(4.1e17), "")
    assert "15位" in msg and "身份证" in msg and digits_left(msg) is None


# ------------------------------------------------------------------------ the reader


def test_reader_masks_ids_in_codes_counts_and_texts(tmp_path: Path, rulebook: Rulebook) -> None:
    brs = W.branches("410522")
    day = dt.date(2026, 11, 5)

    def edit(wb: Any) -> None:
        roster = wb["支部名册"]
        roster["F2"] = 410621200101014442  # 户数 typed as an ID
        roster["G2"] = FORMS["full width Ｘ"]
        roster["G3"] = FORMS["prefixed"]
        roster["G4"] = FORMS["spaced"]
        for row in wb["封面"].iter_rows(min_col=1, max_col=2):
            if row[0].value == "联系电话":
                row[1].value = FORMS["full width Ｘ"]

    path = W.write_workbook(
        tmp_path / "a.xlsx",
        rulebook,
        "410522",
        "林州市",
        "2026-11",
        brs,
        ledger=[[day, FORMS["half"], "支部", "", "ZB01", 2, FORMS["dashed"]]],
        edit=edit,
    )
    pw = read_workbook(path, rulebook, Limits(), file_key="fk", id_key="k")
    roster, ledger = pw.frames["roster"], pw.frames["ledger"]
    assert roster.loc[0, "households__issue"] == cells.TOO_LONG
    assert roster["households"].isna().iloc[0]  # never stored as 410621200101014528
    assert digits_left(str(roster.loc[0, "households__raw"])) is None
    for i in range(3):
        assert digits_left(roster.loc[i, "secretary_name"]) is None
        assert roster.loc[i, "secretary_name__warn"] == cells.ID_MASKED
    assert ledger.loc[0, "branch_code"] == "410621********1118"  # an ID in 支部代码
    assert digits_left(ledger.loc[0, "note"]) is None
    assert digits_left(pw.cover["phone"].text) is None
    assert not any(digits_left(str(v)) for v in pw.findings.to_numpy().ravel())


def test_findings_mask_every_text_field() -> None:
    f = finding(
        "error", "x", f"代码{FORMS['half']}不在登记表中", value=FORMS["spaced"], branch_code=FORMS["half"]
    )
    assert not any(digits_left(str(v)) for v in f.values())


# ------------------------------------------------------------------------ logs


def test_log_records_are_masked_whatever_the_logger(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    logging.getLogger("fivestar.ingest").warning(
        "file %s unreadable", f"410522_{FORMS['full width Ｘ']}.xlsx"
    )
    # (not a prefect.* logger: once Prefect has configured logging they stop propagating)
    logging.getLogger("a.third.party").info("value %r", 4.106212001010145e17)
    try:
        raise PermissionError(f"/raw/410522_{FORMS['dashed']}.xlsx")
    except PermissionError:
        logging.getLogger("some.library").exception("failed")
    assert len(caplog.records) == 3
    for rec in caplog.records:
        assert digits_left(rec.getMessage() + (rec.exc_text or "")) is None, rec.getMessage()
    assert digits_left(caplog.text) is None


def test_mask_record_keeps_ordinary_records() -> None:
    rec = logging.LogRecord("fivestar", logging.INFO, __file__, 1, "read %d rows of %s", (3, "x.xlsx"), None)
    assert mask_record(rec).getMessage() == "read 3 rows of x.xlsx" and rec.args == (3, "x.xlsx")


# ------------------------------------------------------------------------ feedback copies

SHEET_ID = "410621199203034321"
NAME_ID = "SFZ410621198001011111"
CHARREF = "410621198812125556"
ALL = "；".join(FORMS.values())
META = {"county_name": "林州市", "county_code": "410522", "period": "2026-11"}


def _original(tmp_path: Path, rb: Rulebook, old_summary: bool) -> Path:
    def edit(wb: Any) -> None:
        wb.properties.creator = FORMS["half"]
        wb.properties.title = FORMS["full width Ｘ"]
        wb.properties.keywords = "CHARREF"
        cover = wb["封面"]
        cover["A1"].comment = Comment(ALL, FORMS["prefixed"])  # no finding on A1
        cover["B2"].comment = Comment(ALL, FORMS["half"])  # a finding on B2: theirs is kept below ours
        cover["D1"] = f"='{SHEET_ID}'!A1"
        cover["D2"] = f"={NAME_ID}"
        wb.create_sheet(SHEET_ID)["A1"] = "x"
        wb.defined_names[NAME_ID] = DefinedName(NAME_ID, attr_text="封面!$A$1")
        wb.defined_names["LIST"] = DefinedName("LIST", attr_text=f'"{FORMS["half"]}"')
        roster = wb["支部名册"]
        dv = DataValidation(
            type="list", formula1=f'"{FORMS["spaced"]},否"', prompt=ALL, promptTitle=FORMS["half"]
        )
        roster.add_data_validation(dv)
        dv.add("G2")
        roster.oddHeader.center.text = ALL
        roster.oddFooter.right.text = FORMS["old 15-digit"]
        roster["G3"] = CellRichText(TextBlock(InlineFont(b=True), "410621"), "199909091234")
        roster["G4"] = "CHARREF"
        roster["F2"] = 410621200101014442
        if old_summary:
            wb.create_sheet("审核结果")["A1"] = ALL  # an old copy: the openpyxl path

    path = W.write_workbook(
        tmp_path / "orig.xlsx", rb, "410522", "林州市", "2026-11", W.branches("410522"), edit=edit
    )
    refs = "".join(f"&#{ord(c)};" for c in CHARREF).encode()
    with zipfile.ZipFile(path) as zin:
        parts = [(i, zin.read(i)) for i in zin.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for info, data in parts:
            zout.writestr(info, data.replace(b"CHARREF", refs))
    return path


IDS = [cells.normalise_id(x) for x in FORMS.values()] + [SHEET_ID, "410621198001011111", CHARREF]
IDS += ["410621199909091234", "4106212001010144", "1062120010101"]


def _leaks(data: bytes) -> list[str]:
    out = []
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for name in zf.namelist():
            text = cells.unicodedata.normalize("NFKC", zf.read(name).decode("utf-8", "replace"))
            t = re.sub(r"[\s\-‐-―−－_]", "", text).upper()
            out += [f"{name}: {i}" for i in IDS if i[:15] in t or i[-15:] in t]
    return out


@pytest.mark.parametrize("path", ["xml patch", "openpyxl"])
def test_feedback_copy_masks_every_text_part(tmp_path: Path, rulebook: Rulebook, path: str) -> None:
    original = _original(tmp_path, rulebook, old_summary=path == "openpyxl")
    assert _leaks(original.read_bytes())  # the received file does hold them
    findings = make_findings(
        [finding("warning", "x", "请核实", sheet="封面", row=2, cell="B2", value=""),
         finding("error", "y", "户数有误", sheet="支部名册", row=2, cell="F2", value=cells.display(4.1e17))]
    )  # fmt: skip
    out = write_feedback_workbook(original, tmp_path / "fb.xlsx", findings, "rejected", **META)
    assert _leaks(out.read_bytes()) == []

    wb = openpyxl.load_workbook(out)
    masked_sheet = "410621＊＊＊＊＊＊＊＊4321"
    assert masked_sheet in wb.sheetnames and all("*" not in n for n in wb.sheetnames)
    assert wb["封面"]["D1"].value == f"='{masked_sheet}'!A1"  # the reference follows the rename
    assert "SFZ410621________1111" in wb.defined_names
    assert wb["封面"]["D2"].value == "=SFZ410621________1111"
    assert wb["支部名册"]["G3"].value == "410621********1234"  # the runs, joined and masked
    assert "410621********1118" in wb["封面"]["B2"].comment.text  # their note, below ours
    assert wb.properties.creator == "410621********1118"


BIG_FORMS = {
    **FORMS,
    "digit references": "".join(f"&#{ord(c)};" for c in "410621197005051118"),
    "hex references": "".join(f"&#x{ord(c):x};" for c in "410621197005051118"),
    "full-width references": "".join(f"&#{ord(c)};" for c in "４１０６２１１９７００５０５１１１８"),
    "4-4-4-4-2": "4106 2119 7005 0511 18",
}


CASES = [(f, w) for f in BIG_FORMS for w in ("inline text", "formula")]
CASES += [(f, "rich runs") for f in FORMS] + [("half", "number")]


@pytest.mark.parametrize(("form", "where"), CASES)
def test_a_big_part_is_not_skipped(form: str, where: str) -> None:
    """Parts over the size where byte hints decide: every form is still found."""
    from xml.sax.saxutils import escape

    from fivestar.feedback.xlsx_mask import mask_part

    raw = BIG_FORMS[form]
    text = raw if "references" in form else escape(raw)
    filler = "".join(
        f'<row r="{r}"><c r="A{r}" s="1"><v>46{r:03d}</v></c><c r="B{r}" t="inlineStr"><is><t>2026-11-05 备注</t></is></c></row>'
        for r in range(2, 3000)
    )
    if where == "inline text":
        cell = f'<c r="C1" t="inlineStr"><is><t>身份证{text}</t></is></c>'
    elif where == "rich runs":
        half = len(raw) // 2
        cell = f'<c r="C1" t="inlineStr"><is><r><rPr><b/></rPr><t>{escape(raw[:half])}</t></r><r><t>{escape(raw[half:])}</t></r></is></c>'
    elif where == "formula":
        cell = f'<c r="C1" t="str"><f>"{text}"</f><v>{text}</v></c>'
    else:
        cell = '<c r="C1"><v>4.1062119700505107E+17</v></c>'
    xml = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        f'<row r="1">{cell}</row>{filler}</sheetData></worksheet>'
    ).encode()
    assert len(xml) > 200_000
    out = mask_part("xl/worksheets/sheet1.xml", xml, {})
    assert out is not None, "the part was skipped"
    text_out = cells.unicodedata.normalize("NFKC", out.decode())
    assert digits_left(text_out) is None
    assert re.sub(r"[\s\-—_]", "", cells.unicodedata.normalize("NFKC", raw))[:15] not in text_out


def test_a_failed_runs_error_text_is_masked_in_the_warehouse(warehouse_engine: Any) -> None:
    from sqlalchemy import text

    from fivestar.warehouse.runs import finish_run, start_run

    run_id = start_run(warehouse_engine, {"county": None}, "hash")
    error = (
        f"PermissionError: [Errno 13] Permission denied: '/raw/2026-11/410522_{FORMS['full width Ｘ']}.xlsx'"
    )
    finish_run(warehouse_engine, run_id, "failed", {"error": error})
    with warehouse_engine.connect() as conn:
        summary = conn.execute(text("SELECT summary FROM run WHERE run_id = :r"), {"r": run_id}).scalar_one()
    assert "Permission denied" in summary and digits_left(summary) is None


def test_a_part_named_with_an_id_is_renamed_with_its_references(tmp_path: Path, rulebook: Rulebook) -> None:
    """A hand-made package: the roster sheet's part is named with an ID."""
    original = W.write_workbook(
        tmp_path / "o.xlsx", rulebook, "410522", "林州市", "2026-11", W.branches("410522")
    )
    bad = tmp_path / "named.xlsx"
    old, new = "xl/worksheets/sheet2.xml", f"xl/worksheets/{FORMS['half']}.xml"
    with zipfile.ZipFile(original) as zin, zipfile.ZipFile(bad, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info).replace(b"sheet2.xml", f"{FORMS['half']}.xml".encode())
            zout.writestr(new if info.filename == old else info.filename, data)
    findings = make_findings([finding("error", "y", "有误", sheet="支部名册", row=2, cell="F2", value="1")])
    out = write_feedback_workbook(bad, tmp_path / "fb.xlsx", findings, "rejected", **META)
    names = zipfile.ZipFile(out).namelist()
    assert not any(digits_left(n) for n in names), names
    assert _leaks(out.read_bytes()) == []
    wb = openpyxl.load_workbook(out)  # the relationships still resolve
    assert wb["支部名册"]["F2"].comment is not None


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("410621.19700505.1118", "410621********1118"),
        ("410621·19700505·1118", "410621********1118"),
        ("SFZ_410621_19700505_1118", "SFZ_410621********1118"),
        # A county code, a date and a time in a file name: no province code first, no ID.
        ("410522_林州市_2026-11_20261105_1530.xlsx", "410522_林州市_2026-11_20261105_1530.xlsx"),
        ("123456.789012345678", "123456.789012345678"),
    ],
)
def test_grouped_digits_need_a_province_and_a_birth_date(text: str, masked: str) -> None:
    assert cells.mask_ids_in(text) == masked


def test_the_cli_summary_masks_a_failures_error_text(capsys: pytest.CaptureFixture[str]) -> None:
    from fivestar.cli import print_summary

    row = {"county_code": "410522", "period": "2026-11", "version": 1, "status": "failed", "errors": None}
    print_summary({"summary": [{**row, "warnings": None, "error": f"disk full: /x/{FORMS['dashed']}.xlsx"}]})
    out = capsys.readouterr().out
    assert "disk full" in out and digits_left(out) is None


def test_binary_and_embedded_parts_are_masked(tmp_path: Path, rulebook: Rulebook) -> None:
    """Parts the copy carries over as they are: an OLE blob, an embedded workbook, XML named .dat."""
    original = W.write_workbook(
        tmp_path / "o.xlsx", rulebook, "410522", "林州市", "2026-11", W.branches("410522")
    )
    inner = openpyxl.Workbook()
    inner.active["A1"] = FORMS["half"]
    inner_buf = io.BytesIO()
    inner.save(inner_buf)
    extra = {
        "xl/embeddings/oleObject1.bin": b"\xd0\xcf\x11\xe0" + FORMS["half"].encode() + b"\x00"
        + FORMS["prefixed"].encode("utf-16le"),
        "xl/embeddings/Microsoft_Excel_Worksheet.xlsx": inner_buf.getvalue(),
        "xl/cover.dat": f'<?xml version="1.0"?><x><t>{FORMS["spaced"]}</t></x>'.encode(),
    }  # fmt: skip
    with zipfile.ZipFile(original, "a") as zf:
        for name, data in extra.items():
            zf.writestr(name, data)
    findings = make_findings([finding("error", "y", "有误", sheet="支部名册", row=2, cell="F2", value="1")])
    out = write_feedback_workbook(original, tmp_path / "fb.xlsx", findings, "rejected", **META)
    with zipfile.ZipFile(out) as zf:
        parts = {n: zf.read(n) for n in zf.namelist()}
    assert set(extra) <= set(parts)  # carried over, masked
    assert len(parts["xl/embeddings/oleObject1.bin"]) == len(extra["xl/embeddings/oleObject1.bin"])
    assert digits_left(parts["xl/embeddings/oleObject1.bin"].decode("latin-1")) is None
    assert digits_left(parts["xl/embeddings/oleObject1.bin"].decode("latin-1").replace("\x00", "")) is None
    assert _leaks(parts["xl/embeddings/Microsoft_Excel_Worksheet.xlsx"]) == []
    assert _leaks(out.read_bytes()) == []
