"""The bad-input corpus: one county per hostile case, plus one good county, in one raw folder.

In: a folder and the repository rulebook. Out: `raw/<period>/…` with every case's file,
`config/` (rulebook copy, a registry with one county per case, submitters), and the
list of `Case`s with the outcome each must have: its status (or that it is ignored /
unrecognised) and the findings (severity, rule, a part of the Chinese message, and
where given the sheet / cell) that must be recorded for it.

Nothing here is committed as binary: `build_corpus` writes every file at test time,
the big ones (a 210 MB zip bomb, a 1,048,576-row sheet) streamed to disk in seconds.
Run `python -m corpus OUT` from tests/ to look at the files by hand.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import wbfactory as W
from corpus import containers as C
from fivestar.config import Rulebook, load_rulebook

PERIOD = "2026-11"
GOOD_COUNTY, GOOD_NAME = "410522", "林州市"
# Resident-ID-like values planted in text columns; none may leave the received file.
IDS = ("110101199003071234", "41052219851201002X", "130102200001011111", "320106197712120054")
FULLWIDTH_ID = "１１０１０５１９９１０２０３００１７"  # 110105199102030017 typed in full width
FILE_NAME_ID = "510104198805050011"
UNRECOGNISED_ID = "220102197001010033"
ALL_IDS = (*IDS, "110105199102030017", FULLWIDTH_ID, FILE_NAME_ID, UNRECOGNISED_ID)
INJECTIONS = (
    '=HYPERLINK("http://evil.example/","点我")',
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|x",
    "@SUM(1+1)*cmd|x",
)
HTML_INJECTION = "<script>alert('fivestar')</script>"
HTML_NAME = '<img src=x onerror="alert(1)">和平村'


@dataclass(frozen=True)
class Expect:
    """A finding that must be recorded: rule exactly, message containing `message`."""

    severity: str
    rule: str
    message: str
    sheet: str | None = None
    cell: str | None = None
    column: str | None = None
    count: int | None = None  # exactly this many such findings (default: at least one)


@dataclass
class Case:
    name: str
    county: str
    county_name: str
    file_name: str | bytes
    build: Callable[[Path, Corpus], None]
    status: str  # accepted | accepted_with_warnings | rejected | ignored | unrecognised
    expect: list[Expect] = field(default_factory=list)
    note: str = ""
    values: dict[tuple[str, str], float] = field(default_factory=dict)  # (branch, indicator) -> stored value

    @property
    def display_name(self) -> str:
        raw = self.file_name if isinstance(self.file_name, bytes) else os.fsencode(self.file_name)
        return raw.decode("utf-8", "replace")


@dataclass
class Corpus:
    root: Path
    rb: Rulebook
    cases: list[Case]
    branches: dict[str, list[dict[str, str]]]
    outside: Path  # where the symlink case points (outside raw/)

    @property
    def raw(self) -> Path:
        return self.root / "raw"

    @property
    def config(self) -> Path:
        return self.root / "config"

    @property
    def period_dir(self) -> Path:
        return self.raw / PERIOD

    def path_of(self, case: Case) -> Path:
        name = case.file_name if isinstance(case.file_name, bytes) else os.fsencode(case.file_name)
        return Path(os.fsdecode(os.fsencode(self.period_dir) + b"/" + name))

    def case(self, name: str) -> Case:
        return next(c for c in self.cases if c.name == name)

    def submissions(self) -> list[Case]:
        return [c for c in self.cases if c.status not in ("ignored", "unrecognised")]

    # ---- workbook helpers used by the builders --------------------------------------
    def workbook(
        self,
        path: Path,
        county: str,
        *,
        edit: Callable[[Any], None] | None = None,
        ledger: list[list[Any]] | None = None,
        vetoes: list[list[Any]] | None = None,
        explanations: list[list[Any]] | None = None,
        values: dict[tuple[str, str], Any] | None = None,
        cover: dict[str, Any] | None = None,
    ) -> Path:
        brs = self.branches[county]

        def all_edits(wb: Any) -> None:
            if cover:
                ws = wb[self.rb.cover_sheet]
                labels = {f["key"]: f["label"] for f in self.rb.cover_fields}
                for row in ws.iter_rows():
                    for key, value in cover.items():
                        if row[0].value == labels[key]:
                            set_text(row[1], value) if isinstance(value, str) else setattr(
                                row[1], "value", value
                            )
            if edit:
                edit(wb)

        return W.write_workbook(
            path,
            self.rb,
            county,
            county_name_of(county),
            PERIOD,
            brs,
            ledger=ledger
            if ledger is not None
            else [[dt.date(2026, 11, 3), brs[0]["code"], "支部", "", "ZB01", 2, "支部党员大会"]],
            vetoes=vetoes,
            explanations=explanations,
            values=values,
            edit=all_edits,
        )

    def good_bytes(self, county: str) -> bytes:
        tmp = self.root / "scratch" / f"{county}.xlsx"
        self.workbook(tmp, county)
        return tmp.read_bytes()


def set_text(cell: Any, text: str) -> None:
    """Store `text` as a text cell even when it starts with '=' (openpyxl would make a formula)."""
    cell.value = text
    cell.data_type = "s"


def county_name_of(code: str) -> str:
    return GOOD_NAME if code == GOOD_COUNTY else f"测试{code[-2:]}县"


def headers(ws: Any) -> dict[str, int]:
    return {c.value: c.column for c in ws[1] if c.value}


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


# ---------------------------------------------------------------------------- builders
def b_good(path: Path, cp: Corpus) -> None:
    cp.workbook(path, GOOD_COUNTY)


def b_truncated(path: Path, cp: Corpus) -> None:
    _write(path, C.truncated(cp.good_bytes(county_of(path))))


def b_xls(path: Path, cp: Corpus) -> None:
    _write(path, C.legacy_xls())


def b_encrypted(path: Path, cp: Corpus) -> None:
    _write(path, C.encrypted_xlsx())


def b_empty(path: Path, cp: Corpus) -> None:
    _write(path, b"")


def b_csv(path: Path, cp: Corpus) -> None:
    county = county_of(path)
    text = "支部代码,支部名称,类型\n" + "".join(
        f"{b['code']},{b['name']},{b['type']}\n" for b in cp.branches[county]
    )
    _write(path, text.encode("utf-8-sig"))


def b_bomb(path: Path, cp: Corpus) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    C.zip_bomb(path, cp.good_bytes(county_of(path)), "村指标", 210)


def b_ratio(path: Path, cp: Corpus) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    C.zip_bomb(path, cp.good_bytes(county_of(path)), "村指标", 40)


def b_far_cell(path: Path, cp: Corpus) -> None:
    data = cp.good_bytes(county_of(path))
    part = C.sheet_part(data, "积分台账")
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            content = zin.read(info.filename)
            if info.filename == part:
                content = content.replace(
                    b"</sheetData>", b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>'
                )
            zout.writestr(info, content)
    _write(path, out.getvalue())


def b_million_rows(path: Path, cp: Corpus) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    C.with_huge_sheet(path, cp.good_bytes(county_of(path)), "积分台账", 1_048_576)


def b_missing_sheet(path: Path, cp: Corpus) -> None:
    cp.workbook(path, county_of(path), edit=lambda wb: wb.remove(wb["积分台账"]))


def b_missing_column(path: Path, cp: Corpus) -> None:
    def edit(wb: Any) -> None:
        ws = wb["支部名册"]
        ws.delete_cols(headers(ws)["党员人数"])

    cp.workbook(path, county_of(path), edit=edit)


def b_duplicate_header(path: Path, cp: Corpus) -> None:
    def edit(wb: Any) -> None:
        ws = wb["支部名册"]
        col = ws.max_column + 1
        ws.cell(1, col, "户数")
        for r in range(2, ws.max_row + 1):
            ws.cell(r, col, 99)

    cp.workbook(path, county_of(path), edit=edit)


def b_title_row(path: Path, cp: Corpus) -> None:
    def edit(wb: Any) -> None:
        ws = wb["支部名册"]
        ws.insert_rows(1)
        ws.cell(1, 1, "测试县支部名册（2026年11月）")
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=8)

    cp.workbook(path, county_of(path), edit=edit)


def b_merged_header(path: Path, cp: Corpus) -> None:
    def edit(wb: Any) -> None:
        ws = wb["支部名册"]
        col = headers(ws)["党员人数"]
        ws.merge_cells(start_row=1, start_column=col, end_row=1, end_column=col + 1)  # swallows 户数

    cp.workbook(path, county_of(path), edit=edit)


def b_hidden(path: Path, cp: Corpus) -> None:
    def edit(wb: Any) -> None:
        wb["村指标"].sheet_state = "hidden"
        wb["社区指标"].sheet_state = "veryHidden"
        junk = wb.create_sheet("备用")
        junk["A1"] = "内部计算"
        junk.sheet_state = "veryHidden"

    cp.workbook(path, county_of(path), edit=edit)


def b_formula_cached(path: Path, cp: Corpus) -> None:
    tmp = cp.root / "scratch" / "formula_cached.xlsx"
    cp.workbook(tmp, county_of(path))
    data = C.patch_cells(tmp.read_bytes(), "村指标", {"C2": '<c r="C2"><f>90+6</f><v>96</v></c>'})
    _write(path, data)


def b_formula_uncached(path: Path, cp: Corpus) -> None:
    tmp = cp.root / "scratch" / "formula_uncached.xlsx"
    cp.workbook(tmp, county_of(path))
    data = C.patch_cells(tmp.read_bytes(), "村指标", {"C2": '<c r="C2"><f>90+6</f></c>'})
    _write(path, data)


def b_excel_errors(path: Path, cp: Corpus) -> None:
    tmp = cp.root / "scratch" / "errors.xlsx"
    cp.workbook(tmp, county_of(path))
    data = C.patch_cells(
        tmp.read_bytes(),
        "村指标",
        {
            "C2": '<c r="C2" t="e"><f>1/0</f><v>#DIV/0!</v></c>',
            "E2": '<c r="E2" t="e"><f>#REF!*2</f><v>#REF!</v></c>',
        },
    )
    _write(path, data)


def b_text_numbers(path: Path, cp: Corpus) -> None:
    county = county_of(path)
    village = cp.branches[county][0]["code"]
    cp.workbook(
        path,
        county,
        values={
            (village, "meeting_rate"): "９５",
            (village, "collective_income"): "21,234",
            (village, "theme_days"): " 2 ",
        },
    )


def b_dates(path: Path, cp: Corpus) -> None:
    county = county_of(path)
    b = cp.branches[county][0]["code"]
    serial = (dt.date(2026, 11, 10) - dt.date(1899, 12, 30)).days
    cp.workbook(
        path,
        county,
        ledger=[
            ["2026年11月3日", b, "党员", "DY0001", "DY01", 1, "文本日期"],
            ["2026/11/4", b, "党员", "DY0002", "DY01", 1, "斜杠日期"],
            ["2026.11.05", b, "党员", "DY0003", "DY01", 1, "点号日期"],
            [serial, b, "党员", "DY0004", "DY01", 1, "序列号日期"],
            [dt.date(2026, 11, 12), b, "支部", "", "ZB01", 2, "日期单元格"],
        ],
    )


def b_bom_codes(path: Path, cp: Corpus) -> None:
    county = county_of(path)

    def edit(wb: Any) -> None:
        for sheet in ("支部名册", "村指标", "社区指标"):
            ws = wb[sheet]
            for r in range(2, ws.max_row + 1):
                ws.cell(r, 1).value = f"\ufeff {ws.cell(r, 1).value}\u200b "

    cp.workbook(path, county, edit=edit, cover={"county_code": f"\ufeff{county} "})


def b_resident_ids(path: Path, cp: Corpus) -> None:
    county = county_of(path)
    brs = cp.branches[county]
    village, community = brs[0]["code"], brs[1]["code"]

    def edit(wb: Any) -> None:
        ws = wb["支部名册"]
        h = headers(ws)
        ws.cell(2, h["书记姓名"]).value = f"李四{IDS[0]}"
        ws.cell(3, h["书记姓名"]).value = f"王五（身份证{FULLWIDTH_ID}）"

    cp.workbook(
        path,
        county,
        edit=edit,
        cover={"submitter": f"张三 {IDS[1]}", "phone": IDS[2]},
        ledger=[
            [dt.date(2026, 11, 3), village, "党员", IDS[3], "DY01", 1, f"身份证号{IDS[0]}"],
            [dt.date(2026, 11, 4), village, "党员", IDS[1].lower(), "DY01", 1, "小写x"],
            [dt.date(2026, 11, 5), village, "支部", "", "ZB01", 2, f"联系人{IDS[2]}"],
        ],
        vetoes=[[community, dt.date(2026, 11, 6), "V01", f"当事人{IDS[3]}"]],
        explanations=[[community, f"经核实，当事人{IDS[0]}"]],
    )


def b_formula_injection(path: Path, cp: Corpus) -> None:
    county = county_of(path)
    brs = cp.branches[county]

    def edit(wb: Any) -> None:
        ws = wb["支部名册"]
        h = headers(ws)
        set_text(ws.cell(2, h["书记姓名"]), f"={IDS[2]}")  # masked at read: '=130102********1111'
        set_text(ws.cell(3, h["书记姓名"]), INJECTIONS[3])
        ws = wb["村指标"]
        col = ws.max_column + 1
        set_text(ws.cell(1, col), INJECTIONS[0])  # an extra column: a warning that quotes its header
        ws.cell(2, col, "x")
        ws = wb["积分台账"]
        for r in range(2, ws.max_row + 1):
            set_text(ws.cell(r, headers(ws)["说明"]), INJECTIONS[1])
        ws = wb["否决事项"]
        ws.append([brs[1]["code"], dt.date(2026, 11, 6), "V01", "x"])
        set_text(ws.cell(ws.max_row, 4), INJECTIONS[2])

    cp.workbook(path, county, edit=edit)


def b_html_injection(path: Path, cp: Corpus) -> None:
    county = county_of(path)

    def edit(wb: Any) -> None:
        ws = wb["社区指标"]
        col = ws.max_column + 1
        ws.cell(1, col, HTML_INJECTION)
        ws.cell(2, col, "x")
        for sheet in ("支部名册", "村指标"):
            ws = wb[sheet]
            ws.cell(2, headers(ws)["支部名称"]).value = HTML_NAME

    cp.workbook(path, county, edit=edit)


def b_valid(path: Path, cp: Corpus) -> None:
    """A plain valid workbook for the county in the file name (path-trick cases)."""
    cp.workbook(path, county_of(path))


def b_symlink(path: Path, cp: Corpus) -> None:
    target = cp.outside / "410569_outside.xlsx"
    cp.workbook(target, "410569")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(target)


def b_lock_file(path: Path, cp: Corpus) -> None:
    _write(path, b"\x0cowner  \x00" * 20)


def b_hidden_copy(path: Path, cp: Corpus) -> None:
    cp.workbook(path, GOOD_COUNTY, values={(cp.branches[GOOD_COUNTY][0]["code"], "meeting_rate"): 150})


def b_unrecognised(path: Path, cp: Corpus) -> None:
    _write(path, b"just a note")


def county_of(path: Path) -> str:
    return os.fsencode(path.name)[:6].decode()


# ---------------------------------------------------------------------------- the cases
def make_cases() -> list[Case]:
    E, W_ = "error", "warning"
    n = iter(range(1, 99))

    def code() -> str:
        c = f"4105{next(n):02d}"
        return code() if c == GOOD_COUNTY else c

    def case(
        name: str,
        status: str,
        build: Callable[[Path, Corpus], None],
        *expect: Expect,
        suffix: str = ".xlsx",
        **kw: Any,
    ) -> Case:
        c = kw.pop("county", None) or code()
        file_name = kw.pop("file_name", None) or f"{c}_{county_name_of(c)}_{name}{suffix}"
        return Case(name, c, county_name_of(c), file_name, build, status, list(expect), **kw)

    not_recalculated = "请在Excel中重新计算后保存"
    return [
        Case("good", GOOD_COUNTY, GOOD_NAME, f"{GOOD_COUNTY}_{GOOD_NAME}_{PERIOD}.xlsx", b_good, "accepted"),
        case("truncated", "rejected", b_truncated, Expect(E, "file.truncated", "文件已损坏或不完整")),
        case("xls_renamed", "rejected", b_xls, Expect(E, "file.xls", "旧版Excel格式（.xls）")),
        case("encrypted", "rejected", b_encrypted, Expect(E, "file.encrypted", "设置了打开密码")),
        case("empty", "rejected", b_empty, Expect(E, "file.empty", "文件为空（0字节）")),
        case("csv_renamed", "rejected", b_csv, Expect(E, "file.not_xlsx", "不是有效的Excel工作簿")),
        case("zip_bomb", "rejected", b_bomb, Expect(E, "file.too_large", "文件解压后超过大小上限")),
        case("zip_ratio", "rejected", b_ratio, Expect(E, "file.ratio", "压缩比异常")),
        case("far_cell", "rejected", b_far_cell, Expect(E, "file.too_large", "文件解压后超过大小上限")),
        case(
            "million_rows",
            "rejected",
            b_million_rows,
            Expect(E, "file.too_many_rows", "数据超过200000行上限", sheet="积分台账"),
        ),
        case(
            "missing_sheet",
            "rejected",
            b_missing_sheet,
            Expect(E, "file.missing_sheet", "缺少工作表“积分台账”", sheet="积分台账", cell=""),
        ),
        case(
            "missing_column",
            "rejected",
            b_missing_column,
            Expect(
                E,
                "file.missing_column",
                "缺少列“党员人数”",
                sheet="支部名册",
                column="党员人数",
                cell="",
                count=1,
            ),
        ),
        case(
            "duplicate_header",
            "rejected",
            b_duplicate_header,
            Expect(
                E,
                "file.duplicate_column",
                "列标题“户数”出现了2次",
                sheet="支部名册",
                column="户数",
                cell="I1",
            ),
        ),
        case(
            "title_row",
            "rejected",
            b_title_row,
            # One root cause, not 8 missing columns and the title as an "extra column" (issue 15).
            Expect(
                E, "layout.header_row", "表头应在第1行，但在第2行找到", sheet="支部名册", cell="", count=1
            ),
            Expect(E, "file.missing_column", "", count=0),
            Expect(W_, "roster.extra_column", "", count=0),
        ),
        case(
            "merged_header",
            "rejected",
            b_merged_header,
            Expect(E, "file.missing_column", "缺少列“户数”", sheet="支部名册", column="户数", count=1),
        ),
        case("hidden_sheets", "accepted", b_hidden),
        case("formula_cached", "accepted", b_formula_cached, values={("{v}", "meeting_rate"): 96.0}),
        case(
            "formula_uncached",
            "rejected",
            b_formula_uncached,
            Expect(
                E,
                "village_indicators.meeting_rate.type.formula_no_value",
                not_recalculated,
                sheet="村指标",
                cell="C2",
            ),
        ),
        case(
            "excel_errors",
            "rejected",
            b_excel_errors,
            Expect(
                E,
                "village_indicators.meeting_rate.type.error_value",
                "Excel错误值“#DIV/0!”",
                sheet="村指标",
                cell="C2",
            ),
            Expect(
                E,
                "village_indicators.member_participation_rate.type.error_value",
                "Excel错误值“#REF!”",
                sheet="村指标",
                cell="E2",
            ),
        ),
        case(
            "text_numbers",
            "accepted_with_warnings",
            b_text_numbers,
            Expect(
                W_,
                "village_indicators.meeting_rate.format.text_number",
                "文本型数字“９５”",
                sheet="村指标",
                cell="C2",
            ),
            Expect(
                W_,
                "village_indicators.collective_income.format.text_number",
                "文本型数字“21,234”",
                sheet="村指标",
                cell="G2",
            ),
            Expect(
                W_,
                "village_indicators.theme_days.format.text_number",
                "文本型数字",
                sheet="村指标",
                cell="D2",
            ),
            values={
                ("{v}", "meeting_rate"): 95.0,
                ("{v}", "collective_income"): 21234.0,
                ("{v}", "theme_days"): 2.0,
            },
        ),
        case("dates_as_text_and_serials", "accepted", b_dates),
        case("bom_and_spaces_in_codes", "accepted", b_bom_codes),
        case(
            "resident_ids",
            "accepted_with_warnings",
            b_resident_ids,
            Expect(
                W_,
                "ledger.subject_id.resident_id.id_hashed",
                "对象编号疑似身份证号",
                sheet="积分台账",
                count=2,
            ),
            Expect(
                W_,
                "roster.secretary_name.resident_id.id_masked",
                "疑似含有身份证号",
                sheet="支部名册",
                count=2,
            ),
            Expect(
                W_, "ledger.note.resident_id.id_masked", "“说明”中疑似含有身份证号", sheet="积分台账", count=2
            ),
            Expect(W_, "vetoes.note.resident_id.id_masked", "疑似含有身份证号", sheet="否决事项", cell="D2"),
            Expect(
                W_, "explanations.note.resident_id.id_masked", "疑似含有身份证号", sheet="情况说明", cell="B2"
            ),
            Expect(
                W_,
                "cover.submitter.resident_id.id_masked",
                "“填报人”中疑似含有身份证号",
                sheet="封面",
                cell="B4",
            ),
            Expect(
                W_,
                "cover.phone.resident_id.id_masked",
                "“联系电话”中疑似含有身份证号",
                sheet="封面",
                cell="B5",
            ),
            file_name=None,
        ),
        case(
            "formula_injection",
            "accepted_with_warnings",
            b_formula_injection,
            Expect(
                W_, "village_indicators.extra_column", "不在统一模板中，已忽略该列", sheet="村指标", cell="W1"
            ),
            Expect(
                W_,
                "roster.secretary_name.resident_id.id_masked",
                "疑似含有身份证号",
                sheet="支部名册",
                cell="G2",
            ),
        ),
        case(
            "html_injection",
            "accepted_with_warnings",
            b_html_injection,
            Expect(
                W_,
                "community_indicators.extra_column",
                "不在统一模板中，已忽略该列",
                sheet="社区指标",
                cell="W1",
            ),
        ),
        case("dotdot_percent", "accepted", b_valid, county="410561", file_name="410561..%2F..%2Fetc.xlsx"),
        case(
            "absolute_looking",
            "accepted",
            b_valid,
            county="410562",
            file_name="410562_C:\\Windows\\..\\..\\etc\\passwd.xlsx",
        ),
        case(
            "newline_in_name",
            "accepted",
            b_valid,
            county="410563",
            file_name="410563_a\nERROR forged log line.xlsx",
        ),
        case(
            "non_utf8_name", "accepted", b_valid, county="410564", file_name=b"410564_\xff\xfe\xb2\xe2.xlsx"
        ),
        case("symlink_outside", "unrecognised", b_symlink, county="410569", file_name="410569_link.xlsx"),
        case(
            "lock_file",
            "ignored",
            b_lock_file,
            county=GOOD_COUNTY,
            file_name=f"~${GOOD_COUNTY}_{GOOD_NAME}.xlsx",
        ),
        case(
            "hidden_file",
            "ignored",
            b_hidden_copy,
            county=GOOD_COUNTY,
            file_name=f".{GOOD_COUNTY}_{GOOD_NAME}.xlsx",
        ),
        case(
            "libreoffice_lock",
            "ignored",
            b_lock_file,
            county=GOOD_COUNTY,
            file_name=f".~lock.{GOOD_COUNTY}_{GOOD_NAME}.xlsx#",
        ),
        case(
            "unrecognised_id_name",
            "unrecognised",
            b_unrecognised,
            county="000000",
            file_name=f"{UNRECOGNISED_ID}.txt",
        ),
    ]


def build_corpus(root: Path, rulebook_dir: Path) -> Corpus:
    """Write config/ and raw/<period>/ for every case under `root`; returns the Corpus."""
    root.mkdir(parents=True, exist_ok=True)
    cfg = root / "config"
    shutil.copytree(
        rulebook_dir, cfg, ignore=shutil.ignore_patterns("registry.csv", "submitters.csv"), dirs_exist_ok=True
    )
    cases = make_cases()
    # The resident-ID case carries an ID in its file name (the name is masked everywhere).
    ids_case = next(c for c in cases if c.name == "resident_ids")
    ids_case.file_name = f"{ids_case.county}_{FILE_NAME_ID}_身份证.xlsx"
    counties = {c.county: c.county_name for c in cases if c.county != "000000"}
    branches = {code: W.branches(code, 1, 1) for code in counties}
    for c in cases:  # stored-value expectations name the county's village by "{v}"
        c.values = {
            (branches[c.county][0]["code"] if b == "{v}" else b, k): v for (b, k), v in c.values.items()
        }
    W.registry_frame(counties, branches).to_csv(cfg / "registry.csv", index=False)
    (cfg / "submitters.csv").write_text("county_code,name,email,webhook_url\n", encoding="utf-8")
    cp = Corpus(root, load_rulebook(cfg), cases, branches, root / "outside")
    cp.outside.mkdir(exist_ok=True)
    for c in cases:
        c.build(cp.path_of(c), cp)
    # A hidden period folder is ignored as a whole.
    cp.workbook(cp.raw / f".{PERIOD}" / f"{GOOD_COUNTY}_{GOOD_NAME}.xlsx", GOOD_COUNTY)
    shutil.rmtree(root / "scratch", ignore_errors=True)
    # Received in case order: version numbers and logs are then stable between runs.
    t0 = dt.datetime(2026, 11, 20, 9, 0).timestamp()
    for i, c in enumerate(cases):
        p = cp.path_of(c)
        if not p.is_symlink():
            os.utime(p, (t0 + 60 * i, t0 + 60 * i))
    return cp
