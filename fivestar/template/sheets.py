"""Sheet writers of the submission template: cover, data sheets, 填报说明.

In: an openpyxl Workbook, the `TemplateContext` (rulebook, county, period, branches) and
the rows to pre-fill (registered branches; last month's carried 期末 values). Out: the
sheets written in place: headers locked, data cells unlocked with their number formats
and Excel data validations (from `columns.plan_column`) down to a noted last prepared
row, one note per sheet naming the carried columns (their headers light blue), and
the 填报说明 sheet (wrapping, printable one page wide) listing every column's rule and
example, the points items and the vetoes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from fivestar.config import SheetSpec
from fivestar.report.xlsx import set_text
from fivestar.template.columns import RATE_NOTE, Plan, TemplateContext, plan_column, wrapped_lines

GUIDE_SHEET = "填报说明"
LISTS_SHEET = "下拉列表"  # hidden; only used when a drop-down list exceeds Excel's 255 characters
CARRY_COMMENT = "上月数据，请核实更新"
COMMENT_AUTHOR = "fivestar"
LAST_ROW_NOTE = (
    "本表的输入检查（下拉列表、数值范围）设置到第{row}行。数据超过这一行的，请继续向下填写，上报后同样审核。"
)
BASIS_TEXT = {
    "本月": "本月：仅本月发生的数",
    "累计": "累计：本年1月至本月的累计数",
    "期末": "期末：本月末的状态",
}

GUIDE_WIDTHS = (14.0, 30.0, 10.0, 16.0, 60.0, 22.0, 18.0)  # 填报说明 columns A–G
GUIDE_LINE_HEIGHT = 15.0


HEADER_FILL = PatternFill(fill_type="solid", start_color="D9E1F2", end_color="D9E1F2")
CARRY_FILL = PatternFill(fill_type="solid", start_color="DDEBF7", end_color="DDEBF7")
GUIDE_HEAD_FILL = PatternFill(fill_type="solid", start_color="E2EFDA", end_color="E2EFDA")
THIN = Side(style="thin", color="A6A6A6")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
LOCKED = Protection(locked=True)
UNLOCKED = Protection(locked=False)


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


def list_formula(wb: Workbook, values: list[str], state: dict[str, int]) -> str:
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
        f1 = list_formula(wb, f1.split(","), lists)
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


def data_sheet(
    wb: Workbook,
    ctx: TemplateContext,
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
    stars = {} if not spec.branch_type else dict(zip(ctx.rb.stars["code"], ctx.rb.stars["name"], strict=True))
    for j, col in enumerate(spec.columns, start=1):
        letter = get_column_letter(j)
        plan = plan_column(ctx, spec, col, letter)
        plans.append(plan)
        head = _put(ws, 1, j, col.header)
        _style_header(head)
        note = [stars.get(col.star_code or "", ""), f"口径：{col.basis}" if col.basis else "", plan.rule]
        if col.key in carried_keys:
            head.fill = CARRY_FILL  # the carried columns' headers; their cells stay plain
            note.append(f"本列已预填上月（{prev_period or '上月'}）期末数据，{CARRY_COMMENT}")
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
            if key in values and values[key] is not None:
                _put(ws, i, j, values[key])
            elif carried and (code, key) in carried:
                _put(ws, i, j, carried[(code, key)])
    if carried_keys:
        carry_note(ws, plans, carried_keys, prev_period)
    mark_last_row(ws, last_row)
    ws.row_dimensions[1].height = 36
    ws.freeze_panes = "C2" if spec.branch_type else "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(spec.columns))}{last_row}"
    _protect(ws)
    return plans


def carry_note(ws: Worksheet, plans: list[Plan], carried_keys: set[str], prev_period: str | None) -> None:
    """One note per sheet (on A1, before that column's own note) naming the carried columns.

    No per-cell comments or fills: thousands of them would bloat the file and survive,
    stale, into every annotated copy of the clerk's file."""
    headers = "、".join(p.column.header for p in plans if p.column.key in carried_keys)
    text = (
        f"本表已预填上月（{prev_period or '上月'}）期末数据的列（表头为浅蓝色）：{headers}。"
        f"{CARRY_COMMENT}，按本月末实际修改。"
    )
    head = ws.cell(row=1, column=1)
    own = head.comment.text if head.comment is not None else ""
    head.comment = Comment(f"{text}\n{own}" if own else text, COMMENT_AUTHOR, width=320, height=160)


def mark_last_row(ws: Worksheet, last_row: int) -> None:
    """A note on the last prepared row. LibreOffice keeps a sheet's data validations only
    down to 1,000 rows below its last used cell when it saves (a template saved there
    had its checks cut to row 1,001); a note makes that row a used cell, so the checks
    keep reaching it, save after save."""
    if last_row < 2:
        return
    cell = ws.cell(row=last_row, column=1)
    cell.comment = Comment(LAST_ROW_NOTE.format(row=last_row), COMMENT_AUTHOR, width=240, height=60)


def cover_sheet(wb: Workbook, ctx: TemplateContext) -> None:
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


def guide_sheet(
    wb: Workbook,
    ctx: TemplateContext,
    plans: list[tuple[SheetSpec, list[Plan]]],
    prev_period: str | None,
) -> None:
    """填报说明: general notes, every column's rule, the points items and vetoes."""
    ws = wb.create_sheet(GUIDE_SHEET, index=1)
    rb = ctx.rb
    star_names = dict(zip(rb.stars["code"], rb.stars["name"], strict=True))
    open_sheets = [f"“{spec.sheet}”" for spec, _ in plans if spec.may_be_empty]
    row = 1

    def line(*values: Any, bold: bool = False, fill: PatternFill | None = None) -> None:
        nonlocal row
        for j, v in enumerate(values, start=1):
            c = _put(ws, row, j, v)
            c.alignment = Alignment(vertical="top", wrap_text=True)
            if bold:
                c.font = Font(bold=True)
            if fill is not None:
                c.fill = fill
                c.border = BORDER
        if len(values) == 1:  # a sentence: across the page, wrapping there
            ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=len(GUIDE_WIDTHS))
            widths: tuple[float, ...] = (sum(GUIDE_WIDTHS),)
        else:
            widths = GUIDE_WIDTHS
        lines = max(wrapped_lines(str(v), w) for v, w in zip(values, widths, strict=False))
        if lines > 1 or len(values) == 1:  # merged cells never grow by themselves
            ws.row_dimensions[row].height = GUIDE_LINE_HEIGHT * lines + 3
        row += 1

    title = f"{ctx.county_name}（{ctx.county}）{ctx.period} 五星支部创建数据报送模板 填报说明"
    _put(ws, row, 1, title).font = Font(bold=True, size=14)
    ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=len(GUIDE_WIDTHS))
    ws.row_dimensions[row].height = 24
    row += 2
    line("一、填写要求", bold=True)
    notes = [
        f"本模板已预填本县登记的支部名单（{'、'.join(s.sheet for s, _ in plans if s.name == 'roster' or s.branch_type)}），"
        "请补全空白单元格；每个支部在指标表中只填一行。",
        "表头（第1行）和工作表名称已锁定，请勿修改、删除或插入列；数据区域可直接填写。",
        "工作表名称和顺序的锁定只在 Excel、WPS 中有效，LibreOffice 打开时不受此限制：请勿改动工作表名称，"
        f"也不要删除或新增工作表；{'、'.join(open_sheets)}没有内容时，保留表头行即可。",
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
            f"表头为浅蓝色的列已预填上月（{prev_period}）的期末数据（{CARRY_COMMENT}），仅供参考，"
            "请逐项核实并按本月末实际更新，各指标表A1单元格的批注列出了这些列；本月、累计口径的指标请按本月实际填写。",
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
        "项目代码", "项目名称", "对象类型", "分值", *(f"适用星（{t}）" for t in rb.types), "每月上限（次/对象）",
        bold=True, fill=GUIDE_HEAD_FILL,
    )  # fmt: skip
    applicable = set(ctx.item_codes())
    for it in rb.items.itertuples():
        redeem = it.kind == "redeem"
        pts: Any = "负数（兑换扣减）" if redeem else _as_number(it.points)
        per_type = [
            "兑换" if redeem else star_names.get(rb.item_star(it.code, t) or "", "") or "不适用"
            for t in rb.types
        ]
        cap: Any = _as_number(it.cap) if it.cap else "不限"
        name = it.name + ("" if it.code in applicable else "（本县不适用）")
        line(it.code, name, it.subject_type.replace("|", "或"), pts, *per_type, cap)
    row += 1

    line("四、否决事项（否决事项“事项代码”列）", bold=True)
    line("事项代码", "事项名称", *(f"否决星（{t}）" for t in rb.types), bold=True, fill=GUIDE_HEAD_FILL)
    vs = rb.veto_stars
    spec_of = dict(zip(zip(vs["veto_code"], vs["branch_type"], strict=True), vs["stars"], strict=True))

    def veto_stars(spec_: str) -> str:
        if not spec_:
            return "不适用"
        if spec_ == "ALL":
            return "全部星"
        return "、".join(star_names.get(s, s) for s in spec_.split("|"))

    for v in rb.vetoes.itertuples():
        line(v.code, v.name, *(veto_stars(spec_of.get((v.code, t), "")) for t in rb.types))

    for j, width in enumerate(GUIDE_WIDTHS, start=1):
        ws.column_dimensions[get_column_letter(j)].width = width
    ws.freeze_panes = "A2"
    # Printed: landscape, one page wide, as many pages long as it takes.
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    _protect(ws)


def _as_number(text: Any) -> Any:
    try:
        x = float(text)
    except (TypeError, ValueError):
        return text
    return int(x) if x.is_integer() else x
