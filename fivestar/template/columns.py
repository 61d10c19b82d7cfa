"""Column plans of the submission template: how each input column is written and checked.

In: the Rulebook (sheets, columns, GX suites built from it), a county, its registered
branches and a period. Out: a `Plan` per column (number format, width, the Excel data
validation `Check` whose error text is validation's own message, and the column's line
in 填报说明: rule, example, unit, 口径). Writing the workbook is `sheets.py`'s job.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass

import pandas as pd
from openpyxl.utils import quote_sheetname

from fivestar import cells
from fivestar.config import Column, Rulebook, SheetSpec
from fivestar.validate import catalogue
from fivestar.validate.catalogue import text as rule_text
from fivestar.validate.cell_wording import warn_message
from fivestar.validate.suites import TYPE_TEXT, build_suites, column_ranges, range_text

SPARE_ROWS = 20  # extra validated rows under pre-filled sheets, for a newly set-up branch
RATE_NOTE = "填写百分数数值，如95表示95%"

# Messages of the pandas rules (not in the GX suites) that the template's lists mirror,
# from the rule catalogue; a test types wrong values into template cells and checks our
# validation says the same.
MSG_NOT_IN_ROSTER = rule_text("ledger.branch_code.roster")
MSG_NOT_IN_ROSTER_INDICATORS = rule_text("{sheet}.branch_code.roster")
MSG_ITEM_CATALOGUE = rule_text("ledger.item_code.catalogue")
MSG_VETO_CATALOGUE = catalogue.rule("vetoes.veto_code.catalogue").message

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


class TemplateContext:
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
        present = [t for t in rb.types if (branches["branch_type"] == t).any()]
        # A county without registered branches still gets usable lists (all types).
        self.types: tuple[str, ...] = tuple(present) or rb.types
        self.messages = suite_messages(rb)
        self.roster_last = 1 + len(branches) + SPARE_ROWS

    def message(self, sheet_key: str, col_key: str, rule: str) -> str:
        return self.messages.get((sheet_key, col_key, rule), "")

    def item_codes(self) -> list[str]:
        codes = self.rb.items["code"]
        return [c for c in codes if any(self.rb.item_applies(c, t) for t in self.types)]

    def veto_codes(self) -> list[str]:
        codes = self.rb.vetoes["code"]
        return [c for c in codes if any(self.rb.vetoed_stars(c, t) is not None for t in self.types)]


def suite_messages(rb: Rulebook) -> dict[tuple[str, str, str], str]:
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


def wrapped_lines(text: str, width: float) -> int:
    """Lines `text` takes in a wrapping cell `width` Excel units wide (CJK ≈ 2 units)."""
    room = max(1.0, width - 1)
    return sum(max(1, math.ceil(_text_width(part) / room)) for part in text.split("\n"))


def _unit(col: Column) -> str:
    if col.type not in ("int", "num", "rate"):
        return ""
    m = _UNIT.search(col.header)
    if not m:
        return ""
    return "%（填百分数数值）" if m.group(1) in ("%", "％") else m.group(1)


def _range_check(ctx: TemplateContext, sheet_key: str, col: Column) -> tuple[Check | None, str]:
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


def indicator_example(rb: Rulebook, spec: SheetSpec, col: Column) -> str:
    """A plausible value for an indicator column, from its scoring rule in indicators.csv
    (the middle of a linear range, the threshold of at-least and per-month rules, 0 for
    zero rules), so 农民人均可支配收入（元） shows 20000, not 12.5; '' when the rule says nothing."""
    if not spec.branch_type or col.type not in ("int", "num", "rate"):
        return ""
    ind = rb.indicators_for(spec.branch_type)
    hit = ind[ind["key"] == col.key]
    if hit.empty:
        return ""
    row = hit.iloc[0]

    def number(x: object) -> float | None:
        try:
            v = float(str(x))
        except ValueError:
            return None
        return None if v != v else v  # NaN

    lo, hi, rule = number(row["lo"]), number(row["hi"]), str(row["rule"])
    if rule == "zero":
        value: float | None = 0.0
    elif lo is not None and hi is not None:
        value = (lo + hi) / 2
    else:
        value = lo if lo is not None else hi
    if value is None:
        return ""
    if col.type == "int":
        return str(max(0, math.ceil(value)))
    return _num(round(value, 1))


def plan_column(ctx: TemplateContext, spec: SheetSpec, col: Column, letter: str) -> Plan:
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
        example = indicator_example(ctx.rb, spec, col) or example
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
        rule = f"下拉选择，见下方“积分项目”表；须适用于该支部类型（{'/'.join(ctx.rb.types)}）"
        example = "ZB01"
    elif key == "veto_code":
        codes = ctx.rb.vetoes["code"].tolist()
        msg = MSG_VETO_CATALOGUE.format(first=codes[0], last=codes[-1]) if codes else MSG_ITEM_CATALOGUE
        check = Check("list", msg, formula1=",".join(ctx.veto_codes()))
        rule = f"下拉选择，见下方“否决事项”表；须适用于该支部类型（{'/'.join(ctx.rb.types)}）"
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
            "branch_name": str(first["name"]) if first is not None else f"XX{ctx.rb.types[0]}党支部",
            "township": str(first["township"]) if first is not None else "城关镇",
            "secretary_name": "张三",
            "location": f"{ctx.rb.indicator_sheets[0].sheet}!F12 或 {sample_code}",
            "note": {
                "ledger": "召开支部党员大会",
                "vetoes": "简述事项经过及处理情况",
                "explanations": "本月新建文明实践站，数据属实",
            }.get(sheet_key, ""),
        }.get(key, "")
        if sheet_key == "explanations" and key == "location":
            rule = (
                f"选填：单元格（如{ctx.rb.indicator_sheets[0].sheet}!F12，说明该单元格的提示）"
                "或支部代码（说明该支部各行的提示）"
            )
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
