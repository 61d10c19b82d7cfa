"""Catalogue rows of the column families every data sheet gets (GX checks and reader relays)."""

from __future__ import annotations

from fivestar.validate.catalogue.rule import ERROR, NO_CELL_FAULT, RELAY, RELAY_ID, WARNING, Rule

# Issue codes of `fivestar.cells` → (message, hint, example, injector); `{expected}` is TYPE_TEXT.
_ISSUES: list[tuple[str, str, str, str, str]] = [
    ("blank", "“{header}”不能为空，{expected}", "在该单元格填写数值", "（空）", ""),
    (
        "not_number",
        "“{header}”应填写数值，当前为“{shown}”；{expected}",
        "改为阿拉伯数字",
        "一百",
        "non_numeric",
    ),
    ("not_integer", "“{header}”应为整数，当前为“{shown}”", "改为整数", "1.5", "fraction_in_int"),
    (
        "error_value",
        "“{header}”是Excel错误值“{shown}”，请修正公式或直接填写数值；{expected}",
        "修正公式或直接填写数值",
        "#DIV/0!",
        "",
    ),
    (
        "formula_no_value",
        "“{header}”是公式但没有计算结果，请在Excel中重新计算后保存",
        "在Excel中重新计算后保存",
        "=90+6（未计算）",
        "",
    ),
    ("not_yesno", "“{header}”应填写“是”或“否”，当前为“{shown}”", "只填“是”或“否”", "有", "bad_yesno"),
    (
        "too_long",
        "“{header}”的数字长达15位以上（疑似身份证号），未予读取；请填写正确的数值，不要填写身份证号",
        "填写正确的数值，不要填写身份证号",
        "410522199001011234",
        "",
    ),
    (
        "bad_date",
        "“{header}”无法识别为日期，当前为“{shown}”；请填写如2026-11-03的日期",
        "按2026-11-03的格式填写日期",
        "11月3日",
        "",
    ),
]
_PROMPTS = {"not_number": "“{header}”应填写数值", "not_yesno": "“{header}”应填写“是”或“否”"}


def _issue_rules() -> list[Rule]:
    return [
        Rule(
            f"{{sheet}}.{{column}}.type.{code}",
            ERROR,
            "*",
            "*",
            msg,
            hint,
            example,
            "relay",
            RELAY,
            applies="typed",
            injector=inj,
            no_injector="" if inj else NO_CELL_FAULT,
            prompt=_PROMPTS.get(code, ""),
        )
        for code, msg, hint, example, inj in _ISSUES
    ]


# Whole-file problems: (code, message, hint, example, no_injector: "" = the sample's corrupt_file).

_TYPED = "typed"  # int, num, rate, yesno, date: parsed to a value by the reader


COLUMN_RULES: list[Rule] = [
    *_issue_rules(),
    # ---- columns of every data sheet (GX suites, generated per column) --------------
    Rule(
        "{sheet}.{column}.format.text_number",
        WARNING,
        "*",
        "*",
        "“{header}”是文本型数字“{shown}”，已按数值读取；建议将单元格设为数值格式",
        "将单元格设为数值格式",
        "９５",
        "relay",
        RELAY,
        applies="numeric",  # the yes/no and date parsers never warn: no relay there
        injector="text_number",
    ),
    Rule(
        "{sheet}.{column}.format.pct_decimal",
        WARNING,
        "*",
        "*",
        "“{header}”疑似把百分比填成了小数：当前为{shown}；如实为{pct}%，请改填{pct}（填百分数，不要填小数）",
        "填写百分数（如95）或设为百分比格式",
        "0.95",
        "relay",
        RELAY,
        applies="rate",
        injector="rate_fraction",
    ),
    Rule(
        "{sheet}.{column}.range",
        ERROR,
        "*",
        "*",
        "{header}应为{bounds}的{unit}",
        "填写范围内的数值",
        "120",
        "gx:expect_column_values_to_be_between",
        applies="ranged",
        injector="rate_out_of_range age_out_of_range members_below_3",
    ),
    Rule(
        "{sheet}.{column}.plausible",
        WARNING,
        "*",
        "*",
        "{header}超过{limit}，请核实是否填写正确",
        "核实后如实填写，必要时在“情况说明”中说明",
        "501",
        "gx:expect_column_values_to_be_between",
        applies="plausible",
        injector="members_over_500 age_over_60",
    ),
    Rule(
        "{sheet}.{column}.in_month",
        ERROR,
        "*",
        "*",
        "{header}应为本填报月份内的日期",
        "填写本月内的日期",
        "2026-12-01",
        "gx:expect_column_values_to_be_between",
        applies="date",
        injector="date_outside_month",
    ),
    Rule(
        "{sheet}.{column}.required",
        ERROR,
        "*",
        "*",
        "{header}不能为空",
        "填写该单元格",
        "（空）",
        "gx:expect_column_values_to_not_be_null",
        applies="required",
        injector="veto_blank_note",
    ),
    Rule(
        "{sheet}.branch_code.format",
        ERROR,
        "*",
        "branch_code",
        "支部代码应为12位数字",
        "填写12位数字的支部代码",
        "41052210120",
        "gx:expect_column_values_to_match_regex",
        regex=r"^\d{12}$",
        applies="branch_code",
        no_injector="the sample writes registered codes; tests/validate/test_validate.py builds the case",
    ),
    Rule(
        "{sheet}.branch_code.unique",
        ERROR,
        "*",
        "branch_code",
        "支部代码重复，每个支部只能填写一行",
        "删除重复的行",
        "同一支部代码出现两行",
        "gx:expect_column_values_to_be_unique",
        applies="unique_branch",
        injector="duplicate_code",
    ),
    Rule(
        "{sheet}.{column}.choice",
        ERROR,
        "*",
        "*",
        "{header}应填写：{choices}",
        "从下拉列表中选择",
        "乡",
        "gx:expect_column_values_to_be_in_set",
        applies="choice",
        injector="bad_type",
    ),
    Rule(
        "{sheet}.{column}.resident_id.id_masked",
        WARNING,
        "*",
        "*",
        "“{header}”中疑似含有身份证号，已隐藏处理；请勿填写身份证号",
        "不要填写身份证号",
        "410522199001011234",
        "relay",
        RELAY_ID,
        applies="text",
        injector="resident_id",
    ),
    Rule(
        "{sheet}.{column}.resident_id.id_hashed",
        WARNING,
        "*",
        "*",
        "对象编号疑似身份证号，已加密处理且不会保存原值；请改用内部编号（如DY0012、H0345）",
        "改用内部编号（如DY0012、H0345）",
        "410522199001011234",
        "relay",
        RELAY_ID,
        applies="text",
        injector="resident_id",
    ),
]
