"""Pre-filled submission templates that stop errors at the source (`fivestar template`).

In: the Rulebook (workbook layout, indicators, points items, vetoes), the Registry
(a county's registered branches and contacts), a period `YYYY-MM` and, optionally,
the county's previous accepted month from the warehouse (fact frames as returned by
`fivestar.warehouse.load.current_facts`).
Out: one `.xlsx` per county laid out exactly as submission.md says:
- `封面` with the county code, name and period filled (填报人/联系电话/电子邮箱 left
  for the clerk);
- `支部名册`, `村指标`, `社区指标` pre-filled with the registered branches (codes as text);
  期末 values of the previous accepted month carried over in light blue with a comment;
- `积分台账`, `否决事项`, `情况说明` with headers only;
- a `填报说明` sheet: every column's 口径, unit, rule and example, the points items and
  the veto items of the rulebook.
Every input column has an Excel data validation (drop-down lists, number ranges,
dates inside the month) whose error text is the very wording our validation uses
for that rule (taken from the GX suites built from the same rulebook), so a value
the template refuses is one our validation would refuse, with the same message.
Headers are locked (sheet protection without a password), data cells unlocked.
`run_template_command` is the CLI entry: one county or all, optional e-mail.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import typer
from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.workbook.protection import WorkbookProtection
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from fivestar import cells
from fivestar.config import BRANCH_TYPES, TYPE_COLUMN, Column, Registry, Rulebook, SheetSpec
from fivestar.report.xlsx import set_text
from fivestar.validate import catalogue
from fivestar.validate.catalogue import text as rule_text
from fivestar.validate.messages import warn_message
from fivestar.validate.suites import TYPE_TEXT, build_suites, column_ranges, range_text

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from fivestar.alerts.messages import Message
    from fivestar.settings import Settings

log = logging.getLogger(__name__)

GUIDE_SHEET = "填报说明"
LISTS_SHEET = "下拉列表"  # hidden; only used when a drop-down list exceeds Excel's 255 characters
LEDGER_ROWS = 5000  # last data row with validation on the open-ended sheets
SPARE_ROWS = 20  # extra validated rows under pre-filled sheets, for a newly set-up branch
CARRY_COMMENT = "上月数据，请核实更新"
CARRY_COMMENT_LIMIT = 10_000  # carried cells per workbook that get their own comment
COMMENT_AUTHOR = "fivestar"
RATE_NOTE = "填写百分数数值，如95表示95%"
BASIS_TEXT = {
    "本月": "本月：仅本月发生的数",
    "累计": "累计：本年1月至本月的累计数",
    "期末": "期末：本月末的状态",
}

# Messages of the pandas rules (not in the GX suites) that the template's lists mirror,
# from the rule catalogue; a test types wrong values into template cells and checks our
# validation says the same.
MSG_NOT_IN_ROSTER = rule_text("ledger.branch_code.roster")
MSG_NOT_IN_ROSTER_INDICATORS = rule_text("{sheet}.branch_code.roster")
MSG_ITEM_CATALOGUE = rule_text("ledger.item_code.catalogue")
MSG_VETO_CATALOGUE = catalogue.rule("vetoes.veto_code.catalogue").message

HEADER_FILL = PatternFill(fill_type="solid", start_color="D9E1F2", end_color="D9E1F2")
CARRY_FILL = PatternFill(fill_type="solid", start_color="DDEBF7", end_color="DDEBF7")
GUIDE_HEAD_FILL = PatternFill(fill_type="solid", start_color="E2EFDA", end_color="E2EFDA")
THIN = Side(style="thin", color="A6A6A6")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
LOCKED = Protection(locked=True)
UNLOCKED = Protection(locked=False)
NUMBER_FORMAT = {
    "code": "@",
    "text": "@",
    "choice": "@",
    "yesno": "@",
    "rate": "0.0",  # plain number: 95 means 95%, never a percent format (0.95 → 95%)
    "int": "0",
    "num": "0.00",
    "date": "yyyy-mm-dd",
}
_EXCEL_EPOCH = dt.date(1899, 12, 30)
_UNIT = re.compile(r"[（(]([^（）()]+)[）)]\s*$")
_BAD_FILE_CHARS = re.compile(r'[\\/:*?"<>|\s]+')


class TemplateError(typer.BadParameter, ValueError):
    """A wrong request (unknown county, bad period): the CLI prints it and exits 2.

    A typer (click) usage error, so `fivestar template` shows one line, not a traceback.
    """

    def __init__(self, message: str, option: str | None = None) -> None:
        super().__init__(message, param_hint=option)


# ----------------------------------------------------------------------------- column plans
@dataclass(frozen=True)
class Check:
    """One Excel data validation for a column (openpyxl DataValidation arguments)."""

    type: str | None  # list | whole | decimal | date | custom | None (an input prompt only)
    error: str = ""
    operator: str | None = None
    formula1: str | None = None
    formula2: str | None = None
    error_style: str = "stop"


@dataclass(frozen=True)
class Plan:
    """How one column is written: format, width, check, and its line in 填报说明."""

    column: Column
    number_format: str
    width: float
    check: Check | None
    rule: str
    example: str
    unit: str
    basis: str


class _Ctx:
    """What the column plans need: the rulebook, the county and its month."""

    def __init__(
        self, rb: Rulebook, county: str, county_name: str, period: str, branches: pd.DataFrame
    ) -> None:
        self.rb = rb
        self.county = county
        self.county_name = county_name
        self.period = period
        self.branches = branches
        self.month_start, self.month_end = cells.month_bounds(period)
        present = [t for t in BRANCH_TYPES if (branches["branch_type"] == t).any()]
        # A county without registered branches still gets usable lists (all types).
        self.types: tuple[str, ...] = tuple(present) or BRANCH_TYPES
        self.messages = _suite_messages(rb)
        self.roster_last = 1 + len(branches) + SPARE_ROWS

    def message(self, sheet_key: str, col_key: str, rule: str) -> str:
        return self.messages.get((sheet_key, col_key, rule), "")

    def item_codes(self) -> list[str]:
        items = self.rb.items
        ok = items["kind"] == "redeem"
        for t in self.types:
            ok |= items[f"star_{TYPE_COLUMN[t]}"].fillna("") != ""
        return items.loc[ok, "code"].tolist()

    def veto_codes(self) -> list[str]:
        v = self.rb.vetoes
        ok = pd.Series(False, index=v.index)
        for t in self.types:
            ok |= v[f"stars_{TYPE_COLUMN[t]}"].fillna("") != ""
        return v.loc[ok, "code"].tolist()


def _suite_messages(rb: Rulebook) -> dict[tuple[str, str, str], str]:
    """(sheet key, column key, rule) → the Chinese message validation shows for it."""
    out: dict[tuple[str, str, str], str] = {}
    for sheet_key, suite in build_suites(rb).items():
        for e in suite["expectations"]:
            meta = e["meta"]
            if meta.get("message"):
                out[(sheet_key, meta["column"], meta["rule"].rsplit(".", 1)[-1])] = meta["message"]
    return out


def _prompt(code: str, col: Column) -> str:
    """Validation's words for a type problem, without the current value (the catalogue)."""
    return catalogue.rule(f"{{sheet}}.{{column}}.type.{code}").prompt.format(header=col.header)


def _serial(d: dt.date) -> int:
    return (d - _EXCEL_EPOCH).days


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _text_width(text: str) -> float:
    # CJK characters are about twice as wide as Latin ones in Excel's default font.
    return sum(2 if ord(ch) > 255 else 1 for ch in text)


def _unit(col: Column) -> str:
    if col.type not in ("int", "num", "rate"):
        return ""
    m = _UNIT.search(col.header)
    if not m:
        return ""
    return "%（填百分数数值）" if m.group(1) in ("%", "％") else m.group(1)


def _range_check(ctx: _Ctx, sheet_key: str, col: Column) -> tuple[Check | None, str]:
    """Number range check and its wording: exactly validation's `range` message."""
    lo, hi = column_ranges(sheet_key, col)
    if lo is None and hi is None:
        return None, ""
    msg = ctx.message(sheet_key, col.key, "range") or range_text(col, lo, hi)
    kind = "whole" if col.type == "int" else "decimal"
    if lo is not None and hi is not None:
        return Check(kind, msg, "between", _num(lo), _num(hi)), msg
    if lo is not None:
        return Check(kind, msg, "greaterThanOrEqual", _num(lo)), msg
    return Check(kind, msg, "lessThanOrEqual", _num(hi)), msg  # type: ignore[arg-type]


def _plan(ctx: _Ctx, spec: SheetSpec, col: Column, letter: str) -> Plan:
    sheet_key = spec.name
    key, t = col.key, col.type
    check: Check | None = None
    rule = ""
    example = ""
    pool = ctx.branches
    if spec.branch_type:
        pool = pool[pool["branch_type"] == spec.branch_type]
    first = pool.iloc[0] if len(pool) else None
    sample_code = str(first["code"]) if first is not None else f"{ctx.county}001001"
    roster_ref = f"{quote_sheetname(ctx.rb.sheets['roster'].sheet)}!$A$2:$A${ctx.roster_last}"
    if key == "branch_code":
        if sheet_key == "roster":
            fmt_msg = ctx.message("roster", key, "format") or "支部代码应为12位数字"
            msg = f"{fmt_msg}，且前6位应为本县代码{ctx.county}"
            formula = f'AND(LEN({letter}2)=12,ISNUMBER(-{letter}2),LEFT({letter}2,6)="{ctx.county}")'
            check = Check("custom", msg, formula1=formula)
            rule = f"12位数字（文本），前6位为本县代码{ctx.county}；已按区划登记表预填，新设支部请在空行补充"
        else:
            msg = MSG_NOT_IN_ROSTER_INDICATORS if spec.branch_type else MSG_NOT_IN_ROSTER
            check = Check("list", msg, formula1=roster_ref)
            rule = "须为“支部名册”中的支部代码（下拉选择）"
            if spec.branch_type:
                rule = f"已预填本县全部{spec.branch_type}支部，每个支部一行，请勿删除或重复"
        example = sample_code
    elif t == "choice":
        msg = ctx.message(sheet_key, key, "choice") or f"{col.header}应填写：{'、'.join(col.choices)}"
        check = Check("list", msg, formula1=",".join(col.choices))
        rule = f"下拉选择：{'、'.join(col.choices)}"
        example = col.choices[0]
        if sheet_key == "ledger" and key == "subject_type":
            rule += "；须与积分项目的对象类型一致"
    elif t == "yesno":
        # Same words as validation's "not 是/否" message (the catalogue's prompt).
        check = Check("list", _prompt("not_yesno", col), formula1="是,否")
        rule = "下拉选择：是、否"
        example = "否" if key == "is_weak" else "是"
    elif t in ("int", "num", "rate"):
        check, msg = _range_check(ctx, sheet_key, col)
        if check is None:  # ledger 分值: any number; its catalogue value is checked by validation
            check = Check("custom", _prompt("not_number", col), formula1=f"ISNUMBER({letter}2)")
        rule = msg or TYPE_TEXT.get(t, "")
        if t == "rate":
            rule = f"{RATE_NOTE}；{rule}"
            example = "95"
        elif t == "int":
            example = "2" if sheet_key != "roster" else {"members": "35", "households": "420"}.get(key, "45")
        else:
            example = "12.5"
        if sheet_key == "roster" and key == "members":
            rule += "；超过500人将提示核实"
        if sheet_key == "roster" and key == "secretary_age":
            rule += "；超过60岁将提示核实"
        if sheet_key == "ledger" and key == "points":
            rule = "按“积分项目”表的分值填写（扣分项为负数）；积分兑换DH01填写负数（如-20），不得超过对象积分余额"
            example = "2"
    elif t == "date":
        msg = ctx.message(sheet_key, key, "in_month") or f"{col.header}应为本填报月份内的日期"
        check = Check("date", msg, "between", str(_serial(ctx.month_start)), str(_serial(ctx.month_end)))
        rule = (
            f"{ctx.month_start.isoformat()}至{ctx.month_end.isoformat()}之间的日期（格式如{ctx.period}-03）"
        )
        example = f"{ctx.period}-03"
    elif key == "item_code":
        check = Check("list", MSG_ITEM_CATALOGUE, formula1=",".join(ctx.item_codes()))
        rule = "下拉选择，见下方“积分项目”表；须适用于该支部类型（村/社区）"
        example = "ZB01"
    elif key == "veto_code":
        codes = ctx.rb.vetoes["code"].tolist()
        msg = MSG_VETO_CATALOGUE.format(first=codes[0], last=codes[-1]) if codes else MSG_ITEM_CATALOGUE
        check = Check("list", msg, formula1=",".join(ctx.veto_codes()))
        rule = "下拉选择，见下方“否决事项”表；须适用于该支部类型（村/社区）"
        example = "V01"
    elif sheet_key == "ledger" and key == "subject_id":
        # A warning-style check: resident-ID numbers must not be typed (they are hashed anyway).
        formula = f"OR(LEN({letter}2)<>18,ISERROR(-LEFT({letter}2,17)))"
        msg = warn_message(cells.ID_HASHED, col.header, "")  # validation's own warning text
        check = Check("custom", msg, formula1=formula, error_style="warning")
        rule = (
            "对象类型为“支部”时留空或填写本支部代码；为“党员”“户”时必填内部编号（如DY0012、H0345），"
            "请勿填写身份证号"
        )
        example = "DY0012"
    else:
        check = Check(None)  # free text: an input prompt only
        rule = "选填" if col.optional else "必填"
        example = {
            "branch_name": str(first["name"]) if first is not None else "XX村党支部",
            "township": str(first["township"]) if first is not None else "城关镇",
            "secretary_name": "张三",
            "location": f"{ctx.rb.indicator_sheet('村').sheet}!F12 或 {sample_code}",
            "note": {
                "ledger": "召开支部党员大会",
                "vetoes": "简述事项经过及处理情况",
                "explanations": "本月新建文明实践站，数据属实",
            }.get(sheet_key, ""),
        }.get(key, "")
        if sheet_key == "explanations" and key == "location":
            rule = "选填：单元格（如村指标!F12，说明该单元格的提示）或支部代码（说明该支部各行的提示）"
        elif sheet_key == "explanations" and key == "note":
            rule = "选填：对提示事项的情况说明"
        elif spec.branch_type and key == "branch_name":
            rule = "已预填，供核对"
        elif key == "township" or key == "branch_name":
            rule = "必填；已按区划登记表预填" if sheet_key == "roster" else rule
    if t in ("int", "num", "rate", "yesno", "date"):
        rule = f"必填；{rule}"  # a blank typed cell is an error in validation
    width = max(10.0, min(40.0, _text_width(col.header) + 4))
    if t == "code":
        width = max(width, 16.0)
    if t == "date":
        width = max(width, 13.0)
    if key in ("branch_name", "note", "location"):
        width = max(width, 24.0)
    return Plan(
        column=col,
        number_format="General" if (sheet_key == "ledger" and key == "points") else NUMBER_FORMAT.get(t, "@"),
        width=width,
        check=check,
        rule=rule,
        example=example,
        unit=_unit(col),
        basis=col.basis or "",
    )


# ----------------------------------------------------------------------------- sheet writers
def _style_header(cell: Any) -> None:
    cell.font = Font(bold=True)
    cell.fill = HEADER_FILL
    cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    cell.border = BORDER
    cell.protection = LOCKED


def _protect(ws: Worksheet) -> None:
    """Protection without a password: headers stay put, data stays editable.

    openpyxl's flags mean "this action is blocked"; False allows it.
    """
    p = ws.protection
    p.sheet = True
    p.formatColumns = False
    p.formatRows = False
    p.sort = False
    p.autoFilter = False
    p.selectLockedCells = False
    p.selectUnlockedCells = False


def _put(ws: Worksheet, row: int, column: int, value: Any) -> Any:
    """The cell at (row, column) holding `value`; text (registry names!) never becomes a formula."""
    cell = ws.cell(row=row, column=column)
    if isinstance(value, str):
        set_text(cell, value)
    elif value is not None:
        cell.value = value
    return cell


def _list_formula(wb: Workbook, values: list[str], state: dict[str, int]) -> str:
    """An inline list ("是,否") when it fits Excel's 255 characters, else a hidden-sheet range."""
    inline = ",".join(values)
    if len(inline) <= 250 and not any("," in v or '"' in v for v in values):
        return f'"{inline}"'
    ws = wb[LISTS_SHEET] if LISTS_SHEET in wb.sheetnames else wb.create_sheet(LISTS_SHEET)
    if ws.sheet_state != "hidden":
        ws.sheet_state = "hidden"
        _protect(ws)
    col = state.get("next", 1)
    state["next"] = col + 1
    letter = get_column_letter(col)
    for i, v in enumerate(values, start=1):
        c = _put(ws, i, col, v)
        c.number_format = "@"
    return f"{quote_sheetname(LISTS_SHEET)}!${letter}$1:${letter}${max(1, len(values))}"


def _add_check(
    wb: Workbook, ws: Worksheet, plan: Plan, letter: str, last_row: int, lists: dict[str, int]
) -> None:
    chk = plan.check
    if chk is None:
        return
    f1 = chk.formula1
    if chk.type == "list" and f1 is not None and "!" not in f1:
        f1 = _list_formula(wb, f1.split(","), lists)
    dv = DataValidation(
        type=chk.type,
        operator=chk.operator,
        formula1=f1,
        formula2=chk.formula2,
        allow_blank=True,  # blanks are judged by validation (required columns), not by Excel
        showErrorMessage=chk.type is not None,
        showInputMessage=True,
        errorStyle=chk.error_style,
        errorTitle="输入有误" if chk.error_style == "stop" else "请核实",
        error=chk.error[:225] or None,
        promptTitle=plan.column.header[:32],
        prompt=plan.rule[:255],
    )
    dv.add(f"{letter}2:{letter}{last_row}")
    ws.add_data_validation(dv)


def _data_sheet(
    wb: Workbook,
    ctx: _Ctx,
    spec: SheetSpec,
    rows: list[dict[str, Any]],
    last_row: int,
    lists: dict[str, int],
    carried: Mapping[tuple[str, str], Any] | None = None,
    prev_period: str | None = None,
) -> list[Plan]:
    """One data sheet: header (locked), pre-filled rows, formats, checks, protection."""
    ws = wb.create_sheet(spec.sheet)
    plans = []
    carried = carried or {}
    carried_keys = {k for _, k in carried}
    # Comments are stored as very repetitive VML: past a few thousand the file nears the
    # compression-ratio limit of ingest, so big counties get the fill and header note only.
    cell_comments = len(carried) <= CARRY_COMMENT_LIMIT
    stars = {} if not spec.branch_type else dict(zip(ctx.rb.stars["code"], ctx.rb.stars["name"], strict=True))
    for j, col in enumerate(spec.columns, start=1):
        letter = get_column_letter(j)
        plan = _plan(ctx, spec, col, letter)
        plans.append(plan)
        head = _put(ws, 1, j, col.header)
        _style_header(head)
        note = [stars.get(col.star_code or "", ""), f"口径：{col.basis}" if col.basis else "", plan.rule]
        if col.key in carried_keys:
            note.append(f"浅蓝色单元格为上月（{prev_period or '上月'}）期末数据，{CARRY_COMMENT}")
        head.comment = Comment("；".join(x for x in note if x), COMMENT_AUTHOR, width=260, height=110)
        # Column style: cells typed below the pre-filled rows are unlocked and formatted too.
        dim = ws.column_dimensions[letter]
        dim.width = plan.width
        dim.number_format = plan.number_format
        dim.protection = UNLOCKED
        for r in range(2, last_row + 1 if rows else 2):
            c = ws.cell(row=r, column=j)
            c.number_format = plan.number_format
            c.protection = UNLOCKED
        _add_check(wb, ws, plan, letter, last_row, lists)
    for i, values in enumerate(rows, start=2):
        code = str(values.get("branch_code", ""))
        for j, plan in enumerate(plans, start=1):
            key = plan.column.key
            c = ws.cell(row=i, column=j)
            if key in values and values[key] is not None:
                _put(ws, i, j, values[key])
            elif carried and (code, key) in carried:
                _put(ws, i, j, carried[(code, key)])
                c.fill = CARRY_FILL
                if cell_comments:
                    c.comment = Comment(CARRY_COMMENT, COMMENT_AUTHOR, width=160, height=40)
    ws.row_dimensions[1].height = 36
    ws.freeze_panes = "C2" if spec.branch_type else "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(spec.columns))}{last_row}"
    _protect(ws)
    return plans


def _cover(wb: Workbook, ctx: _Ctx) -> None:
    ws = wb.active
    ws.title = ctx.rb.cover_sheet
    values = {"county_code": ctx.county, "county_name": ctx.county_name, "period": ctx.period}
    hints = {
        "county_code": "已预填，请勿修改（须与文件名开头的县代码一致）",
        "county_name": "已预填",
        "period": f"已预填（{ctx.period}），须与上报月份一致",
        "submitter": "必填",
        "phone": "请填写，如0372-1234567",
        "email": "请填写，如 name@example.org",
    }
    cover_msgs = {k[1]: v for k, v in ctx.messages.items() if k[0] == "cover"}
    for i, f in enumerate(ctx.rb.cover_fields, start=1):
        key = f["key"]
        a = _put(ws, i, 1, f["label"])
        a.font = Font(bold=True)
        a.fill = HEADER_FILL
        a.border = BORDER
        a.protection = LOCKED
        b = _put(ws, i, 2, values.get(key))
        b.number_format = "@"  # text: the code keeps its digits, the period stays "2026-11"
        b.border = BORDER
        # Code and name identify the template's county; everything else is the clerk's.
        b.protection = LOCKED if key in ("county_code", "county_name") else UNLOCKED
        c = _put(ws, i, 3, hints.get(key, ""))
        c.font = Font(color="7F7F7F")
        if key == "email":
            formula = f'AND(ISNUMBER(FIND("@",B{i})),ISNUMBER(FIND(".",B{i},FIND("@",B{i}))))'
            dv = DataValidation(
                type="custom",
                formula1=formula,
                allow_blank=True,
                showErrorMessage=True,
                showInputMessage=True,
                errorStyle="warning",  # a warning in validation too
                errorTitle="请核实",
                error=cover_msgs.get("email", "电子邮箱格式不正确（如 name@example.org）"),
                promptTitle=f["label"],
                prompt=hints["email"],
            )
            dv.add(f"B{i}")
            ws.add_data_validation(dv)
        elif key in ("submitter", "phone", "period"):
            dv = DataValidation(
                type=None, allow_blank=True, showInputMessage=True, promptTitle=f["label"], prompt=hints[key]
            )
            dv.add(f"B{i}")
            ws.add_data_validation(dv)
    ws.column_dimensions["A"].width = 20
    ws.column_dimensions["B"].width = 26
    ws.column_dimensions["C"].width = 48
    _protect(ws)


def _guide(
    wb: Workbook,
    ctx: _Ctx,
    plans: list[tuple[SheetSpec, list[Plan]]],
    prev_period: str | None,
) -> None:
    """填报说明: general notes, every column's rule, the points items and vetoes."""
    ws = wb.create_sheet(GUIDE_SHEET, index=1)
    rb = ctx.rb
    star_names = dict(zip(rb.stars["code"], rb.stars["name"], strict=True))
    row = 1

    def line(*values: Any, bold: bool = False, fill: PatternFill | None = None) -> None:
        nonlocal row
        for j, v in enumerate(values, start=1):
            c = _put(ws, row, j, v)
            c.alignment = Alignment(vertical="top", wrap_text=j > 1 and len(values) > 1)
            if bold:
                c.font = Font(bold=True)
            if fill is not None:
                c.fill = fill
                c.border = BORDER
        row += 1

    title = f"{ctx.county_name}（{ctx.county}）{ctx.period} 五星支部创建数据报送模板 填报说明"
    _put(ws, row, 1, title).font = Font(bold=True, size=14)
    row += 2
    line("一、填写要求", bold=True)
    notes = [
        "本模板已预填本县登记的支部名单（支部名册、村指标、社区指标），请补全空白单元格；每个支部在指标表中只填一行。",
        "表头（第1行）和工作表名称已锁定，请勿修改、删除或插入列；数据区域可直接填写。",
        f"比率类指标（带%的列）{RATE_NOTE}，不要填写0.95，也不要设置为百分比格式。",
        "支部代码、县代码为文本，请勿改为数值；日期请按2026-11-03格式填写。",
        "口径：" + "；".join(BASIS_TEXT.values()) + "。",
        "积分台账每个积分事项一行；否决事项无则不填；情况说明可对预计产生的提示事先说明原因。",
        "单元格带有下拉列表和输入检查，输入不符合要求时会弹出提示，提示内容与审核规则一致。",
        "填好后保存为.xlsx文件（文件名以6位县代码开头），按时上报。",
    ]
    if prev_period:
        notes.insert(
            1,
            f"浅蓝色底纹的单元格已预填上月（{prev_period}）的期末数据，仅供参考，请逐项核实并按本月末实际更新"
            f"（单元格批注“{CARRY_COMMENT}”）；本月、累计口径的指标请按本月实际填写。",
        )
    for n, text in enumerate(notes, start=1):
        line(f"{n}. {text}")
    row += 1

    line("二、各表填写说明", bold=True)
    line("工作表", "列名", "口径", "单位", "填写规则", "示例", bold=True, fill=GUIDE_HEAD_FILL)
    cover_examples = {"submitter": "张三", "phone": "0372-1234567", "email": "name@example.org"}
    cover_rules = {
        "county_code": f"6位数字，已预填{ctx.county}，须与文件名开头的县代码一致",
        "county_name": "已预填，与登记名称一致",
        "period": f"已预填{ctx.period}，须与上报月份一致",
        "submitter": "必填",
        "phone": "建议填写",
        "email": "建议填写有效电子邮箱",
    }
    cover_values = {"county_code": ctx.county, "county_name": ctx.county_name, "period": ctx.period}
    for f in rb.cover_fields:
        ex = cover_values.get(f["key"]) or cover_examples.get(f["key"], "")
        line(rb.cover_sheet, f["label"], "", "", cover_rules.get(f["key"], ""), ex)
    for spec, ps in plans:
        for p in ps:
            line(spec.sheet, p.column.header, p.basis, p.unit, p.rule, p.example)
    row += 1

    line("三、积分项目（积分台账“积分项目代码”列）", bold=True)
    line(
        "项目代码", "项目名称", "对象类型", "分值", "适用星（村）", "适用星（社区）", "每月上限（次/对象）",
        bold=True, fill=GUIDE_HEAD_FILL,
    )  # fmt: skip
    applicable = set(ctx.item_codes())
    for it in rb.items.itertuples():
        redeem = it.kind == "redeem"
        pts: Any = "负数（兑换扣减）" if redeem else _as_number(it.points)
        sv = "兑换" if redeem else star_names.get(it.star_village, "") or "不适用"
        sc = "兑换" if redeem else star_names.get(it.star_community, "") or "不适用"
        cap: Any = _as_number(it.cap) if it.cap else "不限"
        name = it.name + ("" if it.code in applicable else "（本县不适用）")
        line(it.code, name, it.subject_type.replace("|", "或"), pts, sv, sc, cap)
    row += 1

    line("四、否决事项（否决事项“事项代码”列）", bold=True)
    line("事项代码", "事项名称", "否决星（村）", "否决星（社区）", bold=True, fill=GUIDE_HEAD_FILL)

    def veto_stars(spec_: str) -> str:
        if not spec_:
            return "不适用"
        if spec_ == "ALL":
            return "全部星"
        return "、".join(star_names.get(s, s) for s in spec_.split("|"))

    for v in rb.vetoes.itertuples():
        line(v.code, v.name, veto_stars(v.stars_village), veto_stars(v.stars_community))

    for letter, width in zip("ABCDEFG", (14, 30, 10, 16, 60, 22, 18), strict=True):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A2"
    _protect(ws)


def _as_number(text: Any) -> Any:
    try:
        x = float(text)
    except (TypeError, ValueError):
        return text
    return int(x) if x.is_integer() else x


# ----------------------------------------------------------------------------- previous month
def _carried_values(
    rb: Rulebook, previous: Mapping[str, pd.DataFrame] | None, period: str, branch_types: Mapping[str, str]
) -> tuple[dict[tuple[str, str], Any], str | None]:
    """{(branch_code, indicator_key): value} of the 期末 indicators of the latest month < period."""
    if not previous:
        return {}, None
    ind = previous.get("indicators")
    if ind is None or len(ind) == 0:
        return {}, None
    if "period" in ind.columns:
        earlier = ind[ind["period"].astype(str) < period]
        if earlier.empty:
            return {}, None
        prev_period: str | None = str(earlier["period"].max())
        ind = earlier[earlier["period"].astype(str) == prev_period]
    else:
        prev_period = None
    types = {}
    for t in BRANCH_TYPES:
        for r in rb.indicators_for(t).itertuples():
            types[(t, r.key)] = (r.value_type, r.basis)
    out: dict[tuple[str, str], Any] = {}
    for code, key, value in zip(ind["branch_code"], ind["indicator_key"], ind["value"], strict=True):
        # Only registered branches of the county, with the indicator of their (current) type.
        kind = types.get((branch_types.get(str(code), ""), str(key)))
        if kind is None or value is None or pd.isna(value):
            continue
        vtype, basis = kind
        if basis != "期末":
            continue  # 本月 and 累计 values are this month's own: never carried over
        v = float(value)
        if vtype == "yesno":
            out[(str(code), str(key))] = "是" if v >= 0.5 else "否"
        elif vtype == "int":
            out[(str(code), str(key))] = int(round(v))
        else:
            out[(str(code), str(key))] = int(v) if v.is_integer() else v
    return out, prev_period


# ----------------------------------------------------------------------------- public API
def template_file_name(county: str, county_name: str, period: str) -> str:
    """`<code>_<name>_<period>_模板.xlsx`: starts with the county code, as submissions must."""
    name = _BAD_FILE_CHARS.sub("", county_name or "") or "县"
    return f"{county}_{name}_{period}_模板.xlsx"


def write_template(
    rb: Rulebook,
    registry: Registry,
    county: str,
    period: str,
    out: str | Path,
    *,
    previous: Mapping[str, pd.DataFrame] | None = None,
) -> Path:
    """Write the template workbook of `county` for `period` to `out` (a file path).

    `previous`: fact frames of the county's previous accepted month (at least
    `indicators` with branch_code, indicator_key, value and period), e.g. from
    `current_facts`; its 期末 values are carried over, marked in light blue.
    """
    return _write_template(rb, registry, county, period, Path(out), previous)[0]


def _write_template(
    rb: Rulebook,
    registry: Registry,
    county: str,
    period: str,
    path: Path,
    previous: Mapping[str, pd.DataFrame] | None,
) -> tuple[Path, str | None]:
    """The workbook, and the month whose values were carried over (None: none)."""
    _check_period(period)
    name = registry.county_name(county)
    if name is None:
        raise TemplateError(f"county {county} is not in the registry (registry.csv)", "'--county'")
    branches = registry.branches_of(county).copy()
    branches = branches.sort_values("code", kind="stable").reset_index(drop=True)
    ctx = _Ctx(rb, county, name, period, branches)
    branch_types = dict(zip(branches["code"], branches["branch_type"], strict=True))
    carried, prev_period = _carried_values(rb, previous, period, branch_types)
    if not carried:
        prev_period = None

    wb = Workbook()
    lists: dict[str, int] = {}
    _cover(wb, ctx)
    plans: list[tuple[SheetSpec, list[Plan]]] = []
    roster_rows = [
        {"branch_code": b.code, "branch_name": b.name, "branch_type": b.branch_type, "township": b.township}
        for b in branches.itertuples()
    ]
    for key, spec in rb.sheets.items():
        if key == "roster":
            rows, last = roster_rows, ctx.roster_last
        elif spec.branch_type:
            rows = [
                {"branch_code": r["branch_code"], "branch_name": r["branch_name"]}
                for r in roster_rows
                if r["branch_type"] == spec.branch_type
            ]
            last = 1 + len(rows) + SPARE_ROWS
        else:
            rows, last = [], LEDGER_ROWS
        plans.append(
            (
                spec,
                _data_sheet(
                    wb, ctx, spec, rows, last, lists, carried if spec.branch_type else None, prev_period
                ),
            )
        )
    _guide(wb, ctx, plans, prev_period)
    if LISTS_SHEET in wb.sheetnames:  # keep the helper sheet last
        wb.move_sheet(LISTS_SHEET, offset=len(wb.sheetnames) - 1 - wb.sheetnames.index(LISTS_SHEET))
    wb.active = 0
    # Sheets cannot be renamed, deleted or added (a renamed sheet is a rejected file).
    wb.security = WorkbookProtection(lockStructure=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path, prev_period


def _check_period(period: str) -> None:
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", period or ""):
        raise TemplateError(f"period must be YYYY-MM, got {period!r}", "'--period'")


def _open_warehouse(url: str) -> Engine | None:
    """An Engine on the warehouse when it exists and answers; None otherwise (never raises).

    A missing SQLite file means "no warehouse yet": it is not created here.
    """
    from sqlalchemy import inspect
    from sqlalchemy.engine import make_url

    from fivestar.warehouse.engine import check_reachable, make_engine, safe_url

    try:
        u = make_url(url)
        if u.get_backend_name() == "sqlite":
            db = u.database or ""
            if (
                not db
                or db == ":memory:"
                or (not db.startswith("file:") and not Path(db).expanduser().is_file())
            ):
                return None
        engine = make_engine(url)
    except Exception as exc:  # a malformed URL or missing driver: no carry-over, no failure
        log.warning("warehouse not usable for templates (%s): %s", type(exc).__name__, exc)
        return None
    try:
        check_reachable(engine)
        if not inspect(engine).has_table("submission"):
            engine.dispose()
            return None
    except Exception as exc:
        log.warning(
            "warehouse %s not reachable; templates without last month's values: %s", safe_url(engine), exc
        )
        engine.dispose()
        return None
    return engine


def previous_facts(engine: Engine, county: str, period: str) -> dict[str, pd.DataFrame] | None:
    """Fact frames of the county's latest accepted month before `period`, or None."""
    from fivestar.warehouse.load import current_facts, previous_accepted_period

    try:
        prev = previous_accepted_period(engine, county, period)
        if not prev:
            return None
        return current_facts(engine, county_code=county, periods=[prev])
    except Exception as exc:  # carry-over is a convenience: never fail a template for it
        log.warning("could not read %s's previous month from the warehouse: %s", county, exc)
        return None


def _recipients(registry: Registry, county: str) -> list[str]:
    contacts = registry.contacts_of(county)
    if "email" not in contacts.columns:
        return []
    seen: dict[str, None] = {}
    for e in contacts["email"].fillna("").astype(str):
        e = e.strip()
        if cells.is_email(e):
            seen.setdefault(e, None)
    return list(seen)


def template_message(county: str, county_name: str, period: str, file_name: str, carried: bool) -> Message:
    """The e-mail that distributes a template (fivestar.alerts.messages.Message)."""
    from fivestar.alerts.messages import PREFIX, Message

    extra = "，并在浅蓝色单元格中预填了上月期末数据（请逐项核实更新）" if carried else ""
    text = (
        f"{county_name}（{county}）：\n\n"
        f"附件《{file_name}》是 {period} 五星支部创建数据报送模板，已预填本县登记的支部名单{extra}。\n"
        "请按“填报说明”工作表的要求填写，表头和工作表名称请勿修改；"
        "填好后保存为.xlsx文件（文件名以县代码开头）按时上报。\n\n"
        "本邮件由系统自动发送。"
    )
    return Message(
        subject=f"{PREFIX}{county} {county_name} {period} 报送模板",
        text=text,
        markdown=text,
        status="template",
        alert_key=f"template:{county}:{period}",
        meta={"county_code": county, "period": period},
    )


def email_template(
    settings: Settings, registry: Registry, county: str, period: str, path: Path, carried: bool
) -> bool:
    """E-mail one county's template to its contacts; False (logged) when it could not be sent."""
    from fivestar.alerts.email import send_email

    to = _recipients(registry, county)
    if not to:
        log.warning("no e-mail contact for county %s in submitters.csv; template not sent", county)
        return False
    msg = template_message(county, registry.county_name(county) or "", period, path.name, carried)
    try:
        send_email(settings, to, msg, [path])
    except Exception as exc:  # one county's mail problem must not stop the others
        log.warning("e-mailing the template of %s to %s failed: %s", county, ", ".join(to), exc)
        return False
    log.info("template of %s e-mailed to %s", county, ", ".join(to))
    return True


def write_templates(
    rb: Rulebook,
    registry: Registry,
    period: str,
    out: str | Path,
    *,
    county: str | None = None,
    warehouse_url: str | None = None,
) -> list[tuple[str, Path, bool]]:
    """Templates for one county (`out` = file, or a folder) or all (`out` = folder).

    Returns (county, path, carried-over?) per file. The warehouse is read when its URL
    is given and reachable; otherwise templates have no previous-month values.
    """
    _check_period(period)
    out = Path(out)
    if county is not None:
        county = county.strip()
        if county not in registry.county_codes:
            raise TemplateError(f"county {county} is not in the registry (registry.csv)", "'--county'")
        counties = [county]
    else:
        counties = sorted(registry.county_codes)
    engine = _open_warehouse(warehouse_url) if warehouse_url else None
    done: list[tuple[str, Path, bool]] = []
    try:
        for code in counties:
            name = registry.county_name(code) or ""
            default_name = template_file_name(code, name, period)
            if county is None or out.is_dir() or out.suffix.lower() != ".xlsx":
                path = out / default_name
            else:
                path = out
            prev = previous_facts(engine, code, period) if engine is not None else None
            _, carried_from = _write_template(rb, registry, code, period, path, prev)
            done.append((code, path, carried_from is not None))
    finally:
        if engine is not None:
            engine.dispose()
    return done


def run_template_command(
    *, period: str, out: str | Path, county: str | None = None, send_email: bool = False
) -> list[Path]:
    """CLI entry: settings and config from the environment; write (and optionally mail) templates."""
    from fivestar.config import load_registry, load_rulebook
    from fivestar.settings import load_settings

    settings = load_settings()
    rb = load_rulebook(settings.config_dir)
    registry = load_registry(settings.config_dir)
    done = write_templates(rb, registry, period, out, county=county, warehouse_url=settings.warehouse_url)
    if send_email:
        if not settings.email_enabled:
            log.warning("--email given but FIVESTAR_SMTP_HOST is unset: templates written, none sent")
        else:
            for code, path, carried in done:
                email_template(settings, registry, code, period, path, carried)
    return [p for _, p, _ in done]


__all__ = [
    "CARRY_COMMENT",
    "GUIDE_SHEET",
    "LEDGER_ROWS",
    "SPARE_ROWS",
    "TemplateError",
    "email_template",
    "previous_facts",
    "run_template_command",
    "template_file_name",
    "template_message",
    "write_template",
    "write_templates",
]
