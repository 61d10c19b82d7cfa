"""Plain-Chinese wording of cell problems found at read time.

In: an issue or warn code from `fivestar.cells`, the column header, the value as
shown, and the expected-type text. Out: the message a submitter reads.
"""

from __future__ import annotations

from fivestar import cells

_FMT = "{:g}"


def issue_message(code: str, header: str, shown: str, expected: str) -> str:
    if code == cells.BLANK:
        return f"“{header}”不能为空，{expected}"
    if code == cells.NOT_NUMBER:
        return f"“{header}”应填写数值，当前为“{shown}”；{expected}"
    if code == cells.NOT_INTEGER:
        return f"“{header}”应为整数，当前为“{shown}”"
    if code == cells.ERROR_VALUE:
        return f"“{header}”是Excel错误值“{shown}”，请修正公式或直接填写数值；{expected}"
    if code == cells.FORMULA_NO_VALUE:
        return f"“{header}”是公式但没有计算结果，请在Excel中重新计算后保存"
    if code == cells.NOT_YESNO:
        return f"“{header}”应填写“是”或“否”，当前为“{shown}”"
    if code == cells.TOO_LONG:
        return f"“{header}”的数字长达15位以上（疑似身份证号），未予读取；请填写正确的数值，不要填写身份证号"
    if code == cells.BAD_DATE:
        return f"“{header}”无法识别为日期，当前为“{shown}”；请填写如2026-11-03的日期"
    return f"“{header}”填写有误，当前为“{shown}”；{expected}"


def warn_message(code: str, header: str, shown: str) -> str:
    if code == cells.TEXT_NUMBER:
        return f"“{header}”是文本型数字“{shown}”，已按数值读取；建议将单元格设为数值格式"
    if code == cells.PCT_DECIMAL:
        return (
            f"“{header}”疑似将百分比填为小数：当前为{shown}，按{shown}%计；"
            f"如实际为{shown}×100%，请填写百分数（如95）或设置为百分比格式"
        )
    if code == cells.ID_HASHED:
        return "对象编号疑似身份证号，已加密处理且不会保存原值；请改用内部编号（如DY0012、H0345）"
    if code == cells.ID_MASKED:
        return f"“{header}”中疑似含有身份证号，已隐藏处理；请勿填写身份证号"
    return f"“{header}”请核实：当前为“{shown}”"


def fmt_number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else _FMT.format(x)
