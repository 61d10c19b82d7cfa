"""Pre-filled submission templates (fivestar.template): layout, input checks, round trip.

In: the repository's rulebook; a two-county registry built here (林州市 with 村 and
社区 branches, 汤阴县 with 村 branches only); a temporary SQLite warehouse holding
a previous month; a loopback aiosmtpd server; LibreOffice (`soffice`) when installed.
Out: assertions that templates follow submission.md and carry their drop-downs,
ranges, protection and formats; that a template filled by a program passes our
validation with no finding at all (also after LibreOffice re-saves it); that a value
outside a range typed into a template cell is refused by our validation with the
template's own error text; that 期末 values of the previous month are carried over;
and that `--all` and the e-mail opt-in work. Validation (Great Expectations) is slow,
so every workbook of the round trip is validated in one `validate_period` call.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import logging
import os
import shutil
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

import wbfactory as W
from fivestar.config import Limits, Registry, Rulebook
from fivestar.findings import make_findings
from fivestar.ingest.facts import build_facts
from fivestar.ingest.read import read_workbook
from fivestar.template import (
    CARRY_COMMENT,
    GUIDE_SHEET,
    LEDGER_ROWS,
    SPARE_ROWS,
    TemplateError,
    run_template_command,
    template_file_name,
    write_template,
    write_templates,
)
from fivestar.template.sheets import list_formula
from fivestar.validate.batch import validate_period
from fivestar.validate.inputs import Submission
from fivestar.validate.priors import load_priors
from fivestar.validate.suites import load_suite_dicts
from fivestar.warehouse.engine import make_engine
from fivestar.warehouse.load import load_version
from fivestar.warehouse.schema import ensure_schema
from testenv import drop_fivestar_settings

ROOT = Path(__file__).resolve().parents[2]
PERIOD, PREV = "2026-11", "2026-10"
LZ, TY = "410522", "410523"
NAMES = {LZ: "林州市", TY: "汤阴县"}
BRANCHES = {LZ: W.branches(LZ, 3, 2), TY: W.branches(TY, 2, 0)}
SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
CARRY_RGB = "DDEBF7"


def _ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes", "on")


def soffice_required() -> bool:
    return _ci() and os.environ.get("FIVESTAR_REQUIRE_SOFFICE") == "1"


def need_soffice() -> str:
    if SOFFICE:
        return SOFFICE
    if soffice_required():
        pytest.fail("soffice is not on PATH (CI=true and FIVESTAR_REQUIRE_SOFFICE=1)", pytrace=False)
    pytest.skip("soffice (LibreOffice) is not on PATH")


def registry(contacts: list[dict[str, str]] | None = None) -> Registry:
    regions = W.registry_frame(NAMES, BRANCHES)
    subs = pd.DataFrame(contacts or [], columns=["county_code", "name", "email", "webhook_url"])
    return Registry(regions=regions, submitters=subs)


# --------------------------------------------------------------------------- helpers
def headers(ws: Worksheet) -> dict[str, int]:
    return {c.value: c.column for c in ws[1] if c.value is not None}


def cell_ref(ws: Worksheet, header: str, row: int) -> str:
    return f"{get_column_letter(headers(ws)[header])}{row}"


def check_at(ws: Worksheet, ref: str) -> DataValidation | None:
    hits = [dv for dv in ws.data_validations.dataValidation if ref in dv.sqref]
    assert len(hits) <= 1, f"{ws.title}!{ref} has {len(hits)} data validations"
    return hits[0] if hits else None


def effective(ws: Worksheet, row: int, col: int) -> Any:
    """What formats an empty cell: its own style, or its column's when it has none.

    LibreOffice does not write empty cells whose style is the column's, and it merges
    alike neighbouring columns into one `<col min max>` (openpyxl keys it by `min`).
    """
    c = ws.cell(row=row, column=col)
    if c.has_style:
        return c
    for dim in list(ws.column_dimensions.values()):
        if dim.min and dim.max and dim.min <= col <= dim.max:
            return dim
    return ws.column_dimensions[get_column_letter(col)]


def _put(ws: Worksheet, row: int, col: int, value: Any) -> None:
    """Set a value keeping the template's format (column style for rows not written yet)."""
    c = ws.cell(row=row, column=col)
    if c.value is None and c.number_format == "General":
        c.number_format = ws.column_dimensions[get_column_letter(col)].number_format
    c.value = value


def indicator_value(key: str, vtype: str, values: dict[str, Any]) -> Any:
    if vtype == "yesno":
        return "否" if key == "is_weak" else "是"
    if key in ("criminal_cases", "safety_accidents", "bypass_petitions"):
        return 0
    return values.get(vtype, {"rate": 90.0, "int": 2, "num": 30000.0}[vtype])


def fill_template(
    src: Path,
    dst: Path,
    rb: Rulebook,
    period: str,
    *,
    values: dict[str, Any] | None = None,
    edits: list[tuple[str, str, int, Any]] | None = None,
) -> Path:
    """Fill a template as a clerk would, with plausible valid values (openpyxl, formats kept).

    Only empty cells are filled, so carried-over 期末 values stay. `values` overrides the
    value per indicator type ("rate", "int", "num"); `edits` = (sheet, header, row, value)
    applied last (headers "A"/"B" address the cover's columns).
    """
    values = values or {}
    wb = openpyxl.load_workbook(src)
    cover = wb[rb.cover_sheet]
    contact = {"填报人": "张三", "联系电话": "0372-1234567", "电子邮箱": "county@example.org"}
    for a, b in cover.iter_rows(min_row=1, max_col=2):
        if a.value in contact and b.value is None:
            b.value = contact[a.value]
    roster = wb[rb.sheets["roster"].sheet]
    h = headers(roster)
    by_type: dict[str, list[str]] = {"村": [], "社区": []}
    for r in range(2, roster.max_row + 1):
        code = roster.cell(r, h["支部代码"]).value
        if not code:
            continue
        by_type[roster.cell(r, h["类型"]).value].append(code)
        for header, v in (("党员人数", 30), ("户数", 300), ("书记姓名", "李四"), ("书记年龄", 45)):
            if roster.cell(r, h[header]).value is None:
                _put(roster, r, h[header], v)
    for btype in ("村", "社区"):
        spec = rb.indicator_sheet(btype)
        ws = wb[spec.sheet]
        h = headers(ws)
        for r in range(2, ws.max_row + 1):
            if not ws.cell(r, 1).value:
                continue
            for col in spec.columns[2:]:
                if ws.cell(r, h[col.header]).value is None:
                    _put(ws, r, h[col.header], indicator_value(col.key, col.type, values))
    y, m = (int(x) for x in period.split("-"))
    village = by_type["村"]
    events = [
        [dt.date(y, m, 3), village[0], "支部", None, "ZB01", 2, "召开支部党员大会"],
        [dt.date(y, m, 5), village[0], "党员", "DY0012", "DY01", 1, "参加组织生活"],
        [dt.date(y, m, 6), village[1], "户", "H0345", "HH01", 2, "美丽庭院"],
        [dt.date(y, m, 9), village[1], "支部", village[1], "PA01", 1, "化解矛盾纠纷"],
    ]
    if by_type["社区"]:
        events.append([dt.date(y, m, 8), by_type["社区"][0], "支部", None, "GJ01", 2, "共建活动"])
    ledger = wb[rb.sheets["ledger"].sheet]
    for i, ev in enumerate(events, start=2):
        for j, v in enumerate(ev, start=1):
            if v is not None:
                _put(ledger, i, j, v)
    vetoes = wb[rb.sheets["vetoes"].sheet]
    for j, v in enumerate([village[1], dt.date(y, m, 12), "V03", "书记受到党纪处分"], start=1):
        _put(vetoes, 2, j, v)
    expl = wb[rb.sheets["explanations"].sheet]
    for j, v in enumerate([village[0], "本月数据已核实"], start=1):
        _put(expl, 2, j, v)
    for sheet, header, row, v in edits or []:
        ws = wb[sheet]
        ref = f"{header}{row}" if header in ("A", "B") else cell_ref(ws, header, row)
        ws[ref].value = v
    wb.save(dst)
    return dst


def parse(path: Path, rb: Rulebook, key: str) -> Any:
    return read_workbook(path, rb, Limits(), file_key=key, id_key="test-id-key")


def lo_resave(src: Path, out_dir: Path, profile: Path) -> Path:
    """Open and save a workbook with LibreOffice (headless convert xlsx → xlsx)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    cmd = [
        need_soffice(),
        f"-env:UserInstallation={profile.as_uri()}",  # own profile: never hand off to a running office
        "--headless",
        "--convert-to",
        "xlsx",
        "--outdir",
        str(out_dir),
        str(src),
    ]
    subprocess.run(cmd, check=True, timeout=240, capture_output=True)
    out = out_dir / src.name
    assert out.is_file(), f"LibreOffice wrote nothing for {src.name}"
    return out


# Values a clerk might type that the template refuses (sheet, header, Excel row, value).
BAD_EDITS: list[tuple[str, str, int, Any]] = [
    ("支部名册", "书记年龄", 2, 95),
    ("支部名册", "党员人数", 3, 2),
    ("支部名册", "户数", 4, 0),
    ("支部名册", "类型", 6, "镇"),
    ("村指标", "三会一课完成率（%）", 2, 120),
    ("村指标", "是否软弱涣散", 2, "不是"),
    ("村指标", "主题党日开展次数", 3, -1),
    ("村指标", "村集体经济收入（万元）", 3, -2.5),
    ("社区指标", "志愿服务时长（小时）", 2, -5),
    ("社区指标", "居民满意度（%）", 3, 100.5),
    ("积分台账", "日期", 2, dt.date(2026, 12, 4)),
    ("积分台账", "积分项目代码", 3, "ZZ99"),
    ("积分台账", "支部代码", 4, "410522999999"),
    ("积分台账", "分值", 5, "两分"),
    ("否决事项", "事项代码", 2, "V99"),
    ("否决事项", "发生日期", 2, dt.date(2026, 10, 31)),
    ("封面", "B", 6, "not-an-email"),
]


# --------------------------------------------------------------------------- fixtures
@dataclass
class RoundTrip:
    dir: Path
    blank: dict[str, Path]
    paths: dict[str, Path] = field(default_factory=dict)
    findings: dict[str, pd.DataFrame] = field(default_factory=dict)
    carried_template: Path | None = None
    oct_values: dict[str, Any] = field(default_factory=dict)
    soffice_error: str = ""


@pytest.fixture(scope="module")
def blanks(tmp_path_factory: pytest.TempPathFactory, rulebook: Rulebook) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("blank")
    reg = registry()
    return {
        c: write_template(rulebook, reg, c, PERIOD, d / template_file_name(c, NAMES[c], PERIOD))
        for c in NAMES
    }


@pytest.fixture(scope="module")
def round_trip(
    tmp_path_factory: pytest.TempPathFactory, rulebook: Rulebook, blanks: dict[str, Path]
) -> RoundTrip:
    """Fill templates, load a previous month, re-save with LibreOffice, validate all at once."""
    rb, reg = rulebook, registry()
    d = tmp_path_factory.mktemp("round_trip")
    rt = RoundTrip(dir=d, blank=blanks)
    rt.paths["good"] = fill_template(blanks[LZ], d / "good.xlsx", rb, PERIOD)
    rt.paths["bad"] = fill_template(blanks[LZ], d / "bad.xlsx", rb, PERIOD, edits=BAD_EDITS)

    # A previous month (汤阴县 2026-10, itself a filled template) in a SQLite warehouse.
    url = f"sqlite:///{d / 'warehouse.db'}"
    engine = make_engine(url)
    ensure_schema(engine)
    rt.oct_values = {"rate": 85.5, "int": 4, "num": 29000.0}
    oct_blank = write_template(rb, reg, TY, PREV, d / "oct_blank.xlsx")
    oct_filled = fill_template(oct_blank, d / f"{TY}_oct.xlsx", rb, PREV, values=rt.oct_values)
    pw = parse(oct_filled, rb, "oct")
    assert not pw.fatal
    sub = {
        "county_code": TY, "period": PREV, "version": 1, "file_name": oct_filled.name,
        "file_sha256": "0" * 64, "archive_path": "", "received_at": dt.datetime(2026, 11, 3, 9),
        "processed_at": dt.datetime(2026, 11, 4, 2), "run_id": "test", "rulebook_hash": rb.hash,
        "county_name": NAMES[TY], "submitter": "张三", "phone": "", "email": "",
    }  # fmt: skip
    assert load_version(engine, sub, build_facts(pw, rb, TY, PREV, 1), make_findings([])) == "accepted"
    [(_, rt.carried_template, carried)] = write_templates(
        rb, reg, PERIOD, d / "carry", county=TY, warehouse_url=url
    )
    assert carried
    rt.paths["carried"] = fill_template(rt.carried_template, d / "carried.xlsx", rb, PERIOD)

    if SOFFICE:
        profile = d / "lo-profile"
        try:
            # Filled, then opened and saved in LibreOffice; and a template saved by
            # LibreOffice first, then filled.
            rt.paths["good_lo"] = lo_resave(rt.paths["good"], d / "lo", profile)
            rt.paths["blank_lo"] = lo_resave(blanks[LZ], d / "lo_blank", profile)
            rt.paths["lo_then_filled"] = fill_template(rt.paths["blank_lo"], d / "lo_filled.xlsx", rb, PERIOD)
        except (subprocess.SubprocessError, OSError, AssertionError) as exc:
            rt.soffice_error = f"{type(exc).__name__}: {exc}"

    subs = []
    for label, path in rt.paths.items():
        if label == "blank_lo":
            continue
        county = TY if label == "carried" else LZ
        subs.append(Submission(parse(path, rb, label), county, PERIOD))
    priors = load_priors(engine, [LZ, TY], PERIOD)
    assert priors[TY].prev_period == PREV
    rt.findings = validate_period(subs, rb, reg, priors)
    engine.dispose()
    return rt


def show(df: pd.DataFrame) -> str:
    return df[["severity", "sheet", "cell", "value", "rule", "message"]].to_string() if len(df) else "(none)"


# --------------------------------------------------------------------------- layout
def test_sheets_and_cover(rulebook: Rulebook, blanks: dict[str, Path]) -> None:
    wb = openpyxl.load_workbook(blanks[LZ])
    expected = [rulebook.cover_sheet, GUIDE_SHEET, *(s.sheet for s in rulebook.sheets.values())]
    assert wb.sheetnames == expected
    assert wb.active.title == rulebook.cover_sheet
    assert wb.security.lockStructure
    cover = wb[rulebook.cover_sheet]
    got = {cover.cell(i, 1).value: cover.cell(i, 2) for i in range(1, cover.max_row + 1)}
    labels = [f["label"] for f in rulebook.cover_fields]
    assert list(got) == labels
    assert got["县（市、区）代码"].value == LZ
    assert got["县（市、区）代码"].data_type == "s" and got["县（市、区）代码"].number_format == "@"
    assert got["县（市、区）名称"].value == "林州市"
    assert got["填报期间"].value == PERIOD and got["填报期间"].number_format == "@"
    for label in ("填报人", "联系电话", "电子邮箱"):
        assert got[label].value is None
        assert got[label].protection.locked is False
    assert got["县（市、区）代码"].protection.locked is True
    assert cover.protection.sheet
    for i in range(1, cover.max_row + 1):
        assert cover.cell(i, 1).protection.locked is True
    email_dv = check_at(cover, got["电子邮箱"].coordinate)
    assert email_dv is not None and email_dv.type == "custom" and email_dv.errorStyle == "warning"
    cover_suite = {
        e["meta"]["rule"]: e["meta"]["message"] for e in load_suite_dicts()["cover"]["expectations"]
    }
    assert email_dv.error == cover_suite["cover.email.format"]


def test_branches_prefilled_as_text(rulebook: Rulebook, blanks: dict[str, Path]) -> None:
    wb = openpyxl.load_workbook(blanks[LZ])
    regs = sorted(BRANCHES[LZ], key=lambda b: b["code"])
    ws = wb["支部名册"]
    assert [c.value for c in ws[1]] == [c.header for c in rulebook.sheets["roster"].columns]
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=2, max_row=ws.max_row)]
    rows = [r for r in rows if any(v is not None for v in r)]
    assert rows == [[b["code"], b["name"], b["type"], b["township"], None, None, None, None] for b in regs]
    for r in range(2, len(regs) + 2):
        code = ws.cell(r, 1)
        assert code.data_type == "s" and isinstance(code.value, str) and code.number_format == "@"
    for btype in ("村", "社区"):
        spec = rulebook.indicator_sheet(btype)
        ws = wb[spec.sheet]
        assert [c.value for c in ws[1]] == [c.header for c in spec.columns]
        want = [(b["code"], b["name"]) for b in regs if b["type"] == btype]
        got = [
            (ws.cell(r, 1).value, ws.cell(r, 2).value)
            for r in range(2, ws.max_row + 1)
            if ws.cell(r, 1).value
        ]
        assert got == want
        for r in range(2, len(want) + 2):
            assert ws.cell(r, 1).number_format == "@" and ws.cell(r, 1).data_type == "s"
            assert all(ws.cell(r, j).value is None for j in range(3, len(spec.columns) + 1))
    for key in ("ledger", "vetoes", "explanations"):
        spec = rulebook.sheets[key]
        ws = wb[spec.sheet]
        assert [c.value for c in ws[1]] == [c.header for c in spec.columns]
        # empty: only the note on the last prepared row (see test_template_office.py)
        assert all(c.value is None for row in ws.iter_rows(min_row=2) for c in row)


def test_county_without_communities_has_empty_community_sheet(
    rulebook: Rulebook, blanks: dict[str, Path]
) -> None:
    wb = openpyxl.load_workbook(blanks[TY])
    ws = wb["社区指标"]
    assert [c.value for c in ws[1]] == [c.header for c in rulebook.indicator_sheet("社区").columns]
    assert all(ws.cell(r, 1).value is None for r in range(2, ws.max_row + 1))
    # Its points items drop-down only lists items that apply to 村 branches (and 兑换).
    ledger = wb["积分台账"]
    items = check_at(ledger, cell_ref(ledger, "积分项目代码", 2))
    assert items is not None
    codes = items.formula1.strip('"').split(",")
    assert "GJ01" not in codes and "YY01" not in codes and {"ZB01", "CY01", "DH01"} <= set(codes)


# --------------------------------------------------------------------------- input checks
def test_checks_on_every_input_column(rulebook: Rulebook, blanks: dict[str, Path]) -> None:
    wb = openpyxl.load_workbook(blanks[LZ])
    suites = load_suite_dicts()  # what validation loads: the template must use the same words
    msg = {
        (k, e["meta"]["column"], e["meta"]["rule"].rsplit(".", 1)[-1]): e["meta"]["message"]
        for k, s in suites.items()
        for e in s["expectations"]
    }
    n = len(BRANCHES[LZ])
    last_rows = {
        "roster": 1 + n + SPARE_ROWS,
        "village_indicators": 1 + 3 + SPARE_ROWS,
        "community_indicators": 1 + 2 + SPARE_ROWS,
        "ledger": LEDGER_ROWS,
        "vetoes": LEDGER_ROWS,
        "explanations": LEDGER_ROWS,
    }
    start, end = dt.date(2026, 11, 1), dt.date(2026, 11, 30)
    serial = {d: str((d - dt.date(1899, 12, 30)).days) for d in (start, end)}
    for key, spec in rulebook.sheets.items():
        ws = wb[spec.sheet]
        for j, col in enumerate(spec.columns, start=1):
            letter = get_column_letter(j)
            dv = check_at(ws, f"{letter}2")
            assert dv is not None, f"{spec.sheet} {col.header}: no data validation"
            assert str(dv.sqref) == f"{letter}2:{letter}{last_rows[key]}"
            assert check_at(ws, f"{letter}1") is None  # never on the header
            assert dv.allow_blank and dv.showInputMessage and dv.prompt
            if dv.type is not None:
                assert dv.showErrorMessage and dv.error
            if col.type == "rate":
                assert (dv.type, dv.operator, dv.formula1, dv.formula2) == ("decimal", "between", "0", "100")
                assert dv.error == msg[(key, col.key, "range")]
                assert "95表示95%" in dv.prompt
            elif col.type == "int":
                assert dv.type == "whole"
                assert dv.error == msg[(key, col.key, "range")]
            elif col.type == "num" and key != "ledger":
                assert (dv.type, dv.operator, dv.formula1) == ("decimal", "greaterThanOrEqual", "0")
                assert dv.error == msg[(key, col.key, "range")]
            elif col.type == "yesno":
                assert (dv.type, dv.formula1) == ("list", '"是,否"')
            elif col.type == "date":
                assert (dv.type, dv.operator) == ("date", "between")
                assert (dv.formula1, dv.formula2) == (serial[start], serial[end])
                assert dv.error == msg[(key, col.key, "in_month")]
            elif col.type == "choice":
                assert (dv.type, dv.formula1) == ("list", '"' + ",".join(col.choices) + '"')
                assert dv.error == msg[(key, col.key, "choice")]
    roster = wb["支部名册"]
    ages = check_at(roster, cell_ref(roster, "书记年龄", 2))
    assert (ages.operator, ages.formula1, ages.formula2) == ("between", "18", "80")
    assert ages.error == "书记年龄应为18–80之间的整数"
    members = check_at(roster, cell_ref(roster, "党员人数", 2))
    assert (members.type, members.operator, members.formula1) == ("whole", "greaterThanOrEqual", "3")
    households = check_at(roster, cell_ref(roster, "户数", 2))
    assert (households.operator, households.formula1) == ("greaterThanOrEqual", "1")
    count = check_at(wb["村指标"], "D2")  # 主题党日开展次数
    assert (count.type, count.operator, count.formula1) == ("whole", "greaterThanOrEqual", "0")
    code = check_at(roster, "A2")
    assert code.type == "custom" and "LEN(A2)=12" in code.formula1 and f'"{LZ}"' in code.formula1
    ledger = wb["积分台账"]
    items = check_at(ledger, cell_ref(ledger, "积分项目代码", 2))
    assert items.type == "list" and items.formula1 == '"' + ",".join(rulebook.items["code"]) + '"'
    branch = check_at(ledger, cell_ref(ledger, "支部代码", 2))
    assert branch.type == "list" and branch.formula1 == f"'支部名册'!$A$2:$A${last_rows['roster']}"
    vetoes = wb["否决事项"]
    veto = check_at(vetoes, cell_ref(vetoes, "事项代码", 2))
    assert veto.type == "list" and veto.formula1 == '"' + ",".join(rulebook.vetoes["code"]) + '"'
    subject = check_at(ledger, cell_ref(ledger, "对象类型", 2))
    assert subject.formula1 == '"支部,党员,户"'


def test_long_lists_move_to_a_hidden_sheet() -> None:
    wb = openpyxl.Workbook()
    codes = [f"ITEM{i:03d}" for i in range(80)]  # > 255 characters inline
    ref = list_formula(wb, codes, {})
    assert ref == "'下拉列表'!$A$1:$A$80"
    ws = wb["下拉列表"]
    assert ws.sheet_state == "hidden" and [ws.cell(i, 1).value for i in range(1, 81)] == codes
    assert list_formula(wb, ["是", "否"], {}) == '"是,否"'


def test_protection_freeze_and_formats(rulebook: Rulebook, blanks: dict[str, Path]) -> None:
    wb = openpyxl.load_workbook(blanks[LZ])
    formats = {"rate": "0.0", "int": "0", "date": "yyyy-mm-dd", "code": "@", "yesno": "@", "text": "@"}
    for key, spec in rulebook.sheets.items():
        ws = wb[spec.sheet]
        p = ws.protection
        assert p.sheet and not p.password
        # openpyxl flags mean "blocked": these must be allowed.
        assert not (p.formatColumns or p.formatRows or p.sort or p.autoFilter)
        assert ws.freeze_panes == ("C2" if spec.branch_type else "A2")
        assert ws.auto_filter.ref and ws.auto_filter.ref.startswith("A1:")
        for j, col in enumerate(spec.columns, start=1):
            letter = get_column_letter(j)
            head = ws.cell(1, j)
            assert head.protection.locked is True and head.font.bold
            dim = ws.column_dimensions[letter]
            assert dim.protection.locked is False  # rows typed below stay editable
            assert dim.width and dim.width >= 10
            want = formats.get(col.type)
            if want and not (key == "ledger" and col.key == "points"):
                assert dim.number_format == want, (spec.sheet, col.header)
            if key in ("roster", "village_indicators", "community_indicators"):
                cell = ws.cell(2, j)
                assert cell.protection.locked is False
                if want:
                    assert cell.number_format == want
    guide = wb[GUIDE_SHEET]
    assert guide.protection.sheet
    assert all(c.protection.locked for row in guide.iter_rows() for c in row)


def test_guide_sheet_lists_columns_items_and_vetoes(rulebook: Rulebook, blanks: dict[str, Path]) -> None:
    ws = openpyxl.load_workbook(blanks[LZ])[GUIDE_SHEET]
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    text = "\n".join(str(v) for r in rows for v in r if v is not None)
    assert "填写百分数数值，如95表示95%" in text
    by_column = {(r[0], r[1]): r for r in rows if r[0] and r[1]}
    for f in rulebook.cover_fields:
        assert (rulebook.cover_sheet, f["label"]) in by_column
    for spec in rulebook.sheets.values():
        for col in spec.columns:
            row = by_column.get((spec.sheet, col.header))
            assert row is not None, f"{spec.sheet} {col.header} missing from {GUIDE_SHEET}"
            basis, unit, rule, example = row[2], row[3], row[4], row[5]
            assert (basis or None) == (col.basis or None)
            assert rule and example not in (None, "")
            if col.type == "rate":
                assert unit.startswith("%")
            if col.header.endswith("（万元）"):
                assert unit == "万元"
    items = {r[0]: r for r in rows if r[0] in set(rulebook.items["code"])}
    assert set(items) == set(rulebook.items["code"])
    assert items["ZB01"][1:7] == ["按期召开支部党员大会", "支部", 2, "支部过硬星", "支部过硬星", 1]
    assert items["GJ01"][4] == "不适用" and items["GJ01"][5] == "共建共享星"
    assert items["ZB03"][6] == "不限"
    vetoes = {r[0]: r for r in rows if r[0] in set(rulebook.vetoes["code"])}
    assert set(vetoes) == set(rulebook.vetoes["code"])
    assert vetoes["V04"][2:4] == ["生态宜居星", "不适用"]
    assert vetoes["V06"][2:4] == ["全部星", "全部星"]


# --------------------------------------------------------------------------- round trip
def test_filled_template_passes_validation(round_trip: RoundTrip) -> None:
    f = round_trip.findings["good"]
    assert f.empty, show(f)


def test_out_of_range_values_get_the_templates_own_message(rulebook: Rulebook, round_trip: RoundTrip) -> None:
    f = round_trip.findings["bad"]
    wb = openpyxl.load_workbook(round_trip.blank[LZ])
    for sheet, header, row, value in BAD_EDITS:
        ws = wb[sheet]
        ref = f"{header}{row}" if header in ("A", "B") else cell_ref(ws, header, row)
        dv = check_at(ws, ref)
        assert dv is not None and dv.showErrorMessage and dv.error, f"{sheet}!{ref}: no check"
        here = f[(f["sheet"] == sheet) & (f["cell"] == ref)]
        assert any(dv.error in m for m in here["message"]), (
            f"{sheet}!{ref}={value!r}: template says {dv.error!r}; validation said:\n{show(here)}"
        )
        severity = "warning" if dv.errorStyle == "warning" else "error"
        assert (here["severity"] == severity).any()
    age = f[(f["sheet"] == "支部名册") & (f["cell"] == "H2")]
    assert "书记年龄应为18–80之间的整数" in age["message"].iloc[0]
    rate = f[(f["sheet"] == "村指标") & (f["cell"] == "C2")]
    assert rate["message"].str.contains("三会一课完成率（%）应为0–100之间的数值", regex=False).any()


def test_previous_month_carried_over(rulebook: Rulebook, round_trip: RoundTrip) -> None:
    wb = openpyxl.load_workbook(round_trip.carried_template)
    spec = rulebook.indicator_sheet("村")
    ws = wb[spec.sheet]
    oct_values = round_trip.oct_values
    carried_headers = []
    for r in (2, 3):
        assert ws.cell(r, 1).value in {b["code"] for b in BRANCHES[TY]}
        for j, col in enumerate(spec.columns, start=1):
            if col.star_code is None:
                continue
            c = ws.cell(r, j)
            if col.basis == "期末":
                assert c.value == indicator_value(col.key, col.type, oct_values), col.header
                # no per-cell marks: they would survive, stale, into every annotated copy
                assert c.comment is None and c.fill.fill_type is None
                assert c.protection.locked is False
                assert ws.cell(1, j).fill.fgColor.rgb.endswith(CARRY_RGB)  # the column's header
                carried_headers.append(col.header)
            else:  # 本月 and 累计 start empty
                assert c.value is None, col.header
                assert c.comment is None
                assert not ws.cell(1, j).fill.fgColor.rgb.endswith(CARRY_RGB)
    # One note per sheet naming the carried columns.
    note = ws["A1"].comment.text
    assert f"上月（{PREV}）期末数据" in note and all(h in note for h in carried_headers)
    comments = [c for row in ws.iter_rows() for c in row if c.comment is not None]
    assert all(c.row == 1 or "输入检查" in c.comment.text for c in comments)
    roster = wb["支部名册"]
    assert all(roster.cell(r, j).value is None for r in (2, 3) for j in range(5, 9))
    guide = "\n".join(str(c.value) for row in wb[GUIDE_SHEET].iter_rows() for c in row if c.value)
    assert f"上月（{PREV}）" in guide and CARRY_COMMENT in guide
    # Filled on top of the carried values, with the previous month as prior: no finding.
    f = round_trip.findings["carried"]
    assert f.empty, show(f)


def test_previous_facts_given_directly(rulebook: Rulebook, tmp_path: Path) -> None:
    code = BRANCHES[LZ][0]["code"]  # a 村
    community = BRANCHES[LZ][3]["code"]
    previous = {
        "indicators": pd.DataFrame(
            [
                (LZ, "2026-09", code, "meeting_rate", 70.0),
                (LZ, "2026-10", code, "meeting_rate", 92.5),
                (LZ, "2026-10", code, "is_weak", 1.0),
                (LZ, "2026-10", code, "theme_days", 3.0),  # 本月: not carried
                (LZ, "2026-10", code, "collective_income", 12.0),  # 累计: not carried
                (LZ, "2026-10", community, "registered_members", 41.0),
                (LZ, "2026-10", "410522999999", "meeting_rate", 50.0),  # not registered
                (LZ, "2026-12", code, "meeting_rate", 10.0),  # later than the template
            ],
            columns=["county_code", "period", "branch_code", "indicator_key", "value"],
        )
    }
    wb = openpyxl.load_workbook(
        write_template(rulebook, registry(), LZ, PERIOD, tmp_path / "t.xlsx", previous=previous)
    )
    ws = wb["村指标"]
    h = headers(ws)
    assert ws.cell(2, h["三会一课完成率（%）"]).value == 92.5
    assert ws.cell(2, h["是否软弱涣散"]).value == "是"
    assert ws.cell(2, h["主题党日开展次数"]).value is None
    assert ws.cell(2, h["村集体经济收入（万元）"]).value is None
    cs = wb["社区指标"]
    assert cs.cell(2, headers(cs)["在职党员报到人数"]).value == 41
    assert all(ws.cell(r, 1).value != "410522999999" for r in range(2, ws.max_row + 1))
    rate = ws.cell(2, h["三会一课完成率（%）"])
    assert rate.comment is None and rate.fill.fill_type is None
    assert "上月（2026-10）期末数据" in ws.cell(1, h["三会一课完成率（%）"]).comment.text
    assert "上月" not in ws.cell(1, h["主题党日开展次数"]).comment.text
    assert CARRY_COMMENT in ws["A1"].comment.text and "三会一课完成率（%）" in ws["A1"].comment.text
    assert "上月" not in wb["支部名册"]["A1"].comment.text  # nothing carried there


# --------------------------------------------------------------------------- LibreOffice
@pytest.mark.system  # drives a real browser or office suite
def test_libreoffice_round_trip_validates(round_trip: RoundTrip) -> None:
    need_soffice()
    assert not round_trip.soffice_error, round_trip.soffice_error
    for label in ("good_lo", "lo_then_filled"):
        f = round_trip.findings[label]
        assert f.empty, f"{label}:\n{show(f)}"


@pytest.mark.system  # drives a real browser or office suite
def test_libreoffice_keeps_checks_protection_and_formats(rulebook: Rulebook, round_trip: RoundTrip) -> None:
    need_soffice()
    assert not round_trip.soffice_error, round_trip.soffice_error
    original = openpyxl.load_workbook(round_trip.blank[LZ])
    for label in ("blank_lo", "good_lo"):
        wb = openpyxl.load_workbook(round_trip.paths[label])
        assert wb.sheetnames[: len(original.sheetnames)] == original.sheetnames
        for spec in rulebook.sheets.values():
            ws, ws0 = wb[spec.sheet], original[spec.sheet]
            assert ws.protection.sheet, (label, spec.sheet)
            for j in range(1, len(spec.columns) + 1):
                letter = get_column_letter(j)
                assert ws.cell(1, j).protection.locked is True
                before, after = check_at(ws0, f"{letter}2"), check_at(ws, f"{letter}2")
                assert after is not None, (label, spec.sheet, letter)
                last = max(r.max_row for r in before.sqref.ranges)
                assert check_at(ws, f"{letter}{last}") is not None, (label, spec.sheet, letter, last)
                # LibreOffice keeps the rule, and (thanks to the note on the last prepared
                # row) its whole range: it trims ranges to the last used row + 1000.
                assert (after.type, after.error, after.errorStyle or "stop") == (
                    before.type,
                    before.error,
                    before.errorStyle or "stop",
                )
                if before.type not in (None, "list", "custom"):
                    assert (after.operator, after.formula1) == (before.operator, before.formula1)
                    if before.formula2 is not None:  # LibreOffice writes a dummy "0" otherwise
                        assert after.formula2 == before.formula2
            if spec.name in ("roster", "village_indicators", "community_indicators"):
                for j, col in enumerate(spec.columns, start=1):
                    c = effective(ws, 2, j)
                    assert c.protection.locked is False
                    want = {"rate": "0.0", "int": "0", "code": "@"}.get(col.type)
                    if want:
                        assert c.number_format == want, (label, spec.sheet, col.header, c.number_format)
                code = ws.cell(2, 1)
                assert code.data_type == "s" and code.value == ws0.cell(2, 1).value
        led = effective(wb["积分台账"], 3000, 1)  # 日期, a row nobody typed in
        assert led.number_format.replace("\\", "") == "yyyy-mm-dd"  # LibreOffice writes yyyy\-mm\-dd
        assert led.protection.locked is False


# --------------------------------------------------------------------------- command
@pytest.fixture
def config_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config folder (repository rulebook + the test registry) and FIVESTAR_* pointing at it."""
    cfg = tmp_path / "config"
    shutil.copytree(ROOT / "config", cfg)
    W.registry_frame(NAMES, BRANCHES).to_csv(cfg / "registry.csv", index=False)
    pd.DataFrame(
        [
            {"county_code": LZ, "name": "王五", "email": "wangwu@example.org", "webhook_url": ""},
            {"county_code": LZ, "name": "赵六", "email": "zhaoliu@example.org", "webhook_url": ""},
            {"county_code": LZ, "name": "机器人", "email": "", "webhook_url": "http://127.0.0.1:9/x"},
            {"county_code": TY, "name": "钱七", "email": "refuse@example.org", "webhook_url": ""},
        ]
    ).to_csv(cfg / "submitters.csv", index=False)
    drop_fivestar_settings(monkeypatch)
    monkeypatch.setenv("FIVESTAR_CONFIG_DIR", str(cfg))
    monkeypatch.setenv("FIVESTAR_WAREHOUSE_URL", f"sqlite:///{tmp_path / 'nowhere' / 'warehouse.db'}")
    return cfg


def test_all_writes_one_file_per_county(config_env: Path, tmp_path: Path) -> None:
    out = tmp_path / "templates"
    paths = run_template_command(period=PERIOD, out=out, county=None)
    names = sorted(p.name for p in paths)
    assert names == [f"{LZ}_林州市_{PERIOD}_模板.xlsx", f"{TY}_汤阴县_{PERIOD}_模板.xlsx"]
    assert sorted(p.name for p in out.iterdir()) == names
    for p in paths:
        wb = openpyxl.load_workbook(p)
        assert wb["封面"]["B1"].value == p.name[:6]
    # No warehouse yet: nothing carried over, and no database file created on the way.
    assert not (tmp_path / "nowhere").exists()


def test_single_county_to_file_or_folder(config_env: Path, tmp_path: Path) -> None:
    [p] = run_template_command(period=PERIOD, out=tmp_path / "x" / "mine.xlsx", county=TY)
    assert p == tmp_path / "x" / "mine.xlsx" and p.is_file()
    (tmp_path / "folder").mkdir()
    [q] = run_template_command(period=PERIOD, out=tmp_path / "folder", county=TY)
    assert q == tmp_path / "folder" / f"{TY}_汤阴县_{PERIOD}_模板.xlsx"
    with pytest.raises(TemplateError, match="not in the registry"):
        run_template_command(period=PERIOD, out=tmp_path / "y.xlsx", county="419999")
    with pytest.raises(TemplateError, match="YYYY-MM"):
        run_template_command(period="2026-13", out=tmp_path / "y.xlsx", county=TY)


def test_unreachable_warehouse_never_fails(
    config_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("FIVESTAR_WAREHOUSE_URL", f"postgresql+psycopg://nobody@127.0.0.1:{port}/none")
    [p] = run_template_command(period=PERIOD, out=tmp_path / "t.xlsx", county=LZ)
    ws = openpyxl.load_workbook(p)["村指标"]
    assert all(ws.cell(2, j).value is None for j in range(3, ws.max_column + 1))


def test_cli_template_all(config_env: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from fivestar.cli import app

    runner = CliRunner()
    res = runner.invoke(app, ["template", "--all", "--period", PERIOD, "--out", str(tmp_path / "cli")])
    assert res.exit_code == 0, res.output
    assert len(list((tmp_path / "cli").glob("*_模板.xlsx"))) == 2
    res = runner.invoke(
        app, ["template", "--county", "419999", "--period", PERIOD, "--out", str(tmp_path / "z.xlsx")]
    )
    assert res.exit_code == 2 and "419999" in res.output


# --------------------------------------------------------------------------- e-mail
class Inbox:
    """aiosmtpd handler: keeps messages, refuses mailboxes named refuse@…"""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:  # noqa: N802
        if address.startswith("refuse@"):
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server() -> Any:
    from aiosmtpd.controller import Controller

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = Inbox()
    ctl = Controller(inbox, hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        yield port, inbox
    finally:
        ctl.stop()


def test_email_opt_in(
    config_env: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    smtp_server: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    port, inbox = smtp_server
    # Without SMTP settings --email only logs: the templates are still written.
    with caplog.at_level(logging.WARNING, logger="fivestar.template"):
        paths = run_template_command(period=PERIOD, out=tmp_path / "a", send_email=True)
    assert len(paths) == 2 and not inbox.envelopes
    assert "FIVESTAR_SMTP_HOST" in caplog.text

    monkeypatch.setenv("FIVESTAR_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("FIVESTAR_SMTP_PORT", str(port))
    monkeypatch.setenv("FIVESTAR_SMTP_FROM", "fivestar@example.org")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="fivestar.template"):
        paths = run_template_command(period=PERIOD, out=tmp_path / "b", send_email=True)
    # 汤阴县's only contact is refused: logged, and the run goes on.
    assert len(paths) == 2 and all(p.is_file() for p in paths)
    assert TY in caplog.text and "refuse@example.org" in caplog.text
    [env] = inbox.envelopes
    assert sorted(env.rcpt_tos) == ["wangwu@example.org", "zhaoliu@example.org"]
    msg = email.message_from_bytes(env.content, policy=email.policy.default)
    assert PERIOD in msg["Subject"] and LZ in msg["Subject"] and "林州市" in msg["Subject"]
    body = msg.get_body(preferencelist=("plain",)).get_content()
    assert "填报说明" in body
    [att] = list(msg.iter_attachments())
    lz_path = next(p for p in paths if p.name.startswith(LZ))
    assert att.get_filename() == lz_path.name
    assert att.get_content() == lz_path.read_bytes()


def test_registry_text_is_never_a_formula(rulebook: Rulebook, tmp_path: Path) -> None:
    """A registry name such as =HYPERLINK(...) is written as text (data type 's', quote
    prefix) in every sheet it reaches, and no cell of the template is a formula."""
    evil = '=HYPERLINK("http://evil.example/r","reg")'
    brs = W.branches(LZ, 2, 2)
    brs[2]["name"] = evil  # the first 社区 (lowest code): roster, 社区指标 and the guide's example
    brs[2]["township"] = "+1+1"
    brs[0]["name"] = "@SUM(1,1)"  # a 村
    reg = Registry(regions=W.registry_frame({LZ: "-1+林州市"}, {LZ: brs}), submitters=pd.DataFrame())
    path = write_template(rulebook, reg, LZ, PERIOD, tmp_path / "t.xlsx")
    wb = openpyxl.load_workbook(path)
    seen: dict[str, set[str]] = {}
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                assert c.data_type != "f", f"{ws.title}!{c.coordinate} is a formula: {c.value!r}"
                if isinstance(c.value, str) and c.value.startswith(("=", "+", "-", "@")):
                    assert c.data_type == "s" and c.quotePrefix, f"{ws.title}!{c.coordinate}"
                    seen.setdefault(c.value, set()).add(ws.title)
    roster, villages, communities = (rulebook.sheets["roster"].sheet, "村指标", "社区指标")
    assert {roster, communities, GUIDE_SHEET} <= seen[evil]
    assert {roster, villages} <= seen["@SUM(1,1)"]
    assert roster in seen["+1+1"]
    assert rulebook.cover_sheet in seen["-1+林州市"]
