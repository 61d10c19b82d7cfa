"""The catalogue of validation rules: one row per rule a submitter can be told about.

Each rule has its id (as stored in `dq_issue.rule`), severity, sheet and column, the
Chinese message template, a fix hint in plain words, a minimal bad value, and where it
is checked:

- `gx:<expectation>`: a declarative check in the GX suites (`validate/suites.py`
  generates `expectations/*.json` from these rows plus the column types and ranges of
  config/workbook.yaml and indicators.csv);
- `relay`: the reader parses each raw Excel cell once and relays its problem code in a
  `<column>__issue` / `__warn` column; GX checks that column is null (`why` says why GX
  cannot look at the cell itself);
- `rules`: a pandas rule in `validate/` (`why`: it needs the registry, the roster, the
  previous month, the ledger balance or a county-wide share);
- `read`: found while reading the file (`why`: the file or sheet cannot be turned into
  a table at all).

Ids may hold `{sheet}` (a sheet key) and `{column}` (a column key): such a row is a
family that applies to every matching column (`applies` says which). `injector` names
the fault of `fivestar.sample.inject` that produces the rule, or `no_injector` says why
the sample never injects it.

A Python table rather than a YAML file: the rows carry `str.format` templates whose
fields the code fills, and `applies` selectors the suite builder interprets; keeping
them beside the code that reads them keeps both in one review.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

ERROR, WARNING = "error", "warning"


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    sheet: str  # sheet key, "cover", "file", or "*" (any data sheet the family applies to)
    column: str  # column key, "*" (family) or "" (whole sheet / file)
    message: str  # Chinese template; fields in braces are filled by the check
    hint: str  # Chinese, plain words: what the submitter should do
    example: str  # a minimal bad value
    check: str  # "gx:<expectation type>", "relay", "rules" or "read"
    why: str = ""  # for relay / rules / read: why GX cannot express it
    regex: str = ""  # for gx:expect_column_values_to_match_regex
    # The words without the current value, for the template's input checks (Excel shows
    # them while the value is typed); "" when the template has no such check.
    prompt: str = ""
    applies: str = ""  # families: which columns ("numeric", "text", "ranged", ...)
    injector: str = ""  # the sample faults producing it (manifest `Issue.rule`s, space-separated)
    no_injector: str = ""  # or why the sample never injects it


_RELAY = (
    "GX sees the parsed column; the problem is in the raw Excel cell (its type, an error "
    "value, a formula without a cached value, a percent format, a full-width digit), which "
    "only the reader sees: it relays the cell's problem code and GX checks the relay is null"
)
_RELAY_ID = (
    "the resident-ID masking happens in the reader before any value is kept (an ID must "
    "never reach a frame, GX or the warehouse); the reader relays that it masked one"
)
_REGISTRY = "needs the registry of counties and branches (config/registry.csv)"
_ROSTER = "compares two sheets of the same file (a branch code against the roster)"
_PRIOR = "compares with the county's previous accepted month in the warehouse"
_LEDGER = "needs the points catalogue joined per row, or the running balance of a subject"
_READ = "the file or sheet cannot be turned into a table at all, so no suite can run on it"
_NO_SAMPLE_FILE = "whole-file faults of this kind are built by tests/test_ingest.py, not the sample"

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
_NO_CELL_FAULT = "the sample writes clean cells of this kind; tests/test_validate.py builds the case"


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
            _RELAY,
            applies="typed",
            injector=inj,
            no_injector="" if inj else _NO_CELL_FAULT,
            prompt=_PROMPTS.get(code, ""),
        )
        for code, msg, hint, example, inj in _ISSUES
    ]


# Whole-file problems: (code, message, hint, example, no_injector: "" = the sample's corrupt_file).
_FILE_ROWS = [
    ("empty", "文件为空（0字节），请重新导出后上报", "重新导出文件", "0字节的文件", _NO_SAMPLE_FILE),
    (
        "encrypted",
        "文件设置了打开密码（已加密），请取消密码后重新上报",
        "取消打开密码",
        "设置了打开密码的工作簿",
        _NO_SAMPLE_FILE,
    ),
    (
        "xls",
        "文件是旧版Excel格式（.xls），请在Excel或WPS中“另存为”.xlsx格式后重新上报",
        "另存为.xlsx格式",
        "旧版.xls文件",
        _NO_SAMPLE_FILE,
    ),
    (
        "not_xlsx",
        "文件不是有效的Excel工作簿（.xlsx），请使用省级统一模板并另存为.xlsx后上报",
        "使用统一模板另存为.xlsx",
        "改了扩展名的文本文件",
        _NO_SAMPLE_FILE,
    ),
    (
        "truncated",
        "文件已损坏或不完整，无法打开，请重新保存后上报",
        "重新保存后上报",
        "只传了一半的.xlsx",
        "",
    ),
    (
        "too_large",
        "文件解压后超过大小上限，请删除无关内容后重新上报",
        "删除无关内容",
        "解压后超过上限的文件",
        _NO_SAMPLE_FILE,
    ),
    (
        "ratio",
        "文件压缩比异常（疑似压缩炸弹），已拒收，请重新保存后上报",
        "重新保存后上报",
        "压缩炸弹",
        _NO_SAMPLE_FILE,
    ),
    (
        "timeout",
        "文件处理超时，请检查文件是否异常（如大量空白格式行、超大图片）后重新保存上报",
        "删除空白格式行和超大图片",
        "大量空白格式行",
        _NO_SAMPLE_FILE,
    ),
    (
        "unreadable",
        "文件无法读取，请用Excel或WPS重新保存为.xlsx后上报",
        "重新保存为.xlsx",
        "读取失败的文件",
        _NO_SAMPLE_FILE,
    ),
]

_TYPED = "typed"  # int, num, rate, yesno, date: parsed to a value by the reader

RULES: list[Rule] = [
    # ---- whole file (fivestar.ingest) -------------------------------------------------
    *(
        Rule(
            f"file.{code}",
            ERROR,
            "file",
            "",
            msg,
            hint,
            ex,
            "read",
            _READ,
            injector="" if ni else "corrupt_file",
            no_injector=ni,
        )
        for code, msg, hint, ex, ni in _FILE_ROWS
    ),
    Rule(
        "file.too_many_rows",
        ERROR,
        "file",
        "",
        "工作表“{sheet}”的数据超过{limit}行上限，请删除多余的行后重新上报",
        "删除多余的行",
        "超过行数上限的工作表",
        "read",
        _READ,
        no_injector=_NO_SAMPLE_FILE,
    ),
    Rule(
        "file.missing_sheet",
        ERROR,
        "file",
        "",
        "缺少工作表“{sheet}”，请使用省级统一模板填报",
        "使用省级统一模板",
        "删掉了“否决事项”表",
        "read",
        _READ,
        injector="missing_sheet",
    ),
    Rule(
        "file.missing_column",
        ERROR,
        "file",
        "",
        "工作表“{sheet}”缺少列“{header}”，请使用统一模板，不要删除或修改表头",
        "恢复模板的表头",
        "删掉了“户数”列",
        "read",
        _READ,
        injector="missing_column",
    ),
    Rule(
        "file.duplicate_column",
        ERROR,
        "file",
        "",
        "列标题“{header}”出现了{count}次，请删除多余的列",
        "删除多余的列",
        "两列“户数”",
        "read",
        _READ,
        no_injector=_NO_SAMPLE_FILE,
    ),
    Rule(
        "{sheet}.extra_column",
        WARNING,
        "*",
        "",
        "列“{header}”不在统一模板中，已忽略该列",
        "删除模板以外的列",
        "备注",
        "read",
        "a header outside the template is found while mapping headers, before any table exists",
        injector="extra_column",
    ),
    # ---- cover (GX: cover suite; rules: registry, file name, folder) -----------------
    Rule(
        "cover.county_code.required",
        ERROR,
        "cover",
        "county_code",
        "县（市、区）代码不能为空",
        "填写6位县代码",
        "（空）",
        "gx:expect_column_values_to_not_be_null",
        no_injector="the sample's cover faults are the period, submitter, phone, e-mail and name",
    ),
    Rule(
        "cover.county_code.format",
        ERROR,
        "cover",
        "county_code",
        "县（市、区）代码应为6位数字",
        "填写6位数字的县代码",
        "41052",
        "gx:expect_column_values_to_match_regex",
        regex=r"^\d{6}$",
        no_injector="the sample's cover faults are the period, submitter, phone, e-mail and name",
    ),
    Rule(
        "cover.period.required",
        ERROR,
        "cover",
        "period",
        "填报期间不能为空或无法识别，请填写如2026-11",
        "按2026-11的格式填写",
        "十一月",
        "gx:expect_column_values_to_not_be_null",
        no_injector="the sample's period fault is a readable period of another month",
    ),
    Rule(
        "cover.submitter.required",
        ERROR,
        "cover",
        "submitter",
        "填报人不能为空",
        "填写填报人姓名",
        "（空）",
        "gx:expect_column_values_to_not_be_null",
        injector="blank_submitter",
    ),
    Rule(
        "cover.phone.required",
        WARNING,
        "cover",
        "phone",
        "联系电话未填写",
        "填写联系电话",
        "（空）",
        "gx:expect_column_values_to_not_be_null",
        injector="phone_blank",
    ),
    Rule(
        "cover.email.format",
        WARNING,
        "cover",
        "email",
        "电子邮箱格式不正确（如 name@example.org）",
        "填写完整的邮箱地址",
        "county-at-example.org",
        "gx:expect_column_values_to_match_regex",
        regex=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
        injector="email_invalid",
    ),
    Rule(
        "cover.county_code.registry",
        ERROR,
        "cover",
        "county_code",
        "县（市、区）代码{code}不在区划登记表中，请核对",
        "核对县代码",
        "419999",
        "rules",
        _REGISTRY,
        no_injector="the sample's counties are all registered",
    ),
    Rule(
        "cover.county_code.file_name",
        ERROR,
        "cover",
        "county_code",
        "封面代码{code}与文件名中的县代码{file_code}不一致，请核对",
        "使封面代码与文件名一致",
        "410523（文件名为410522）",
        "rules",
        "compares the cover with the file name, which is not part of the sheet",
        no_injector="the sample names every file after its cover",
    ),
    Rule(
        "cover.county_name.registry",
        WARNING,
        "cover",
        "county_name",
        "县（市、区）名称与登记名称“{official}”不一致",
        "填写登记的县名称",
        "林县",
        "rules",
        _REGISTRY,
        injector="county_name_mismatch",
    ),
    Rule(
        "cover.period.folder",
        ERROR,
        "cover",
        "period",
        "填报期间{period}与上报目录的期间{folder}不一致，请核对",
        "填写本次上报的月份",
        "2026-10（目录为2026-11）",
        "rules",
        "compares the cover with the folder the file was submitted to",
        injector="period_mismatch",
    ),
    Rule(
        "cover.{column}.resident_id.id_masked",
        WARNING,
        "cover",
        "*",
        "“{header}”中疑似含有身份证号，已隐藏处理；请勿填写身份证号",
        "不要填写身份证号",
        "410522199001011234",
        "read",
        _RELAY_ID,
        no_injector="the sample puts resident IDs in the ledger and roster only",
    ),
    # ---- columns of every data sheet (GX suites, generated per column) --------------
    *_issue_rules(),
    Rule(
        "{sheet}.{column}.format.text_number",
        WARNING,
        "*",
        "*",
        "“{header}”是文本型数字“{shown}”，已按数值读取；建议将单元格设为数值格式",
        "将单元格设为数值格式",
        "９５",
        "relay",
        _RELAY,
        applies="numeric",  # the yes/no and date parsers never warn: no relay there
        injector="text_number",
    ),
    Rule(
        "{sheet}.{column}.format.pct_decimal",
        WARNING,
        "*",
        "*",
        "“{header}”疑似将百分比填为小数：当前为{shown}，按{shown}%计；"
        "如实际为{shown}×100%，请填写百分数（如95）或设置为百分比格式",
        "填写百分数（如95）或设为百分比格式",
        "0.95",
        "relay",
        _RELAY,
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
        no_injector="the sample writes registered codes; tests/test_validate.py builds the case",
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
        _RELAY_ID,
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
        _RELAY_ID,
        applies="text",
        injector="resident_id",
    ),
    # ---- roster (rules) ---------------------------------------------------------------
    Rule(
        "roster.branch_code.county",
        ERROR,
        "roster",
        "branch_code",
        "支部代码前6位应为本县代码{county}",
        "核对支部代码",
        "410523101203（本县为410522）",
        "rules",
        "compares with the county of the file name",
        no_injector="the sample writes codes of its own county; tests/test_validate.py builds the case",
    ),
    Rule(
        "roster.branch_code.registry",
        WARNING,
        "roster",
        "branch_code",
        "该支部代码不在区划登记表中，请核实是否为新设或代码填写错误",
        "核实是否为新设支部",
        "410522101299",
        "rules",
        _REGISTRY,
        injector="not_in_registry",
    ),
    Rule(
        "roster.branch_code.missing",
        WARNING,
        "roster",
        "branch_code",
        "登记表中的支部{code}（{name}）未出现在支部名册中",
        "补充遗漏的支部",
        "删掉了一个登记的支部",
        "rules",
        _REGISTRY,
        injector="missing_from_roster",
    ),
    # ---- indicator sheets (rules) -----------------------------------------------------
    Rule(
        "{sheet}.branch_code.roster",
        ERROR,
        "*",
        "branch_code",
        "该支部代码不在本表的支部名册中",
        "先在支部名册中登记该支部",
        "410522101299",
        "rules",
        _ROSTER,
        applies="indicators",
        injector="code_not_in_roster",
    ),
    Rule(
        "{sheet}.branch_code.type",
        ERROR,
        "*",
        "branch_code",
        "该支部在名册中类型为“{type}”，应填写在“{other}”表中",
        "移到对应类型的指标表",
        "社区支部填在村指标表",
        "rules",
        _ROSTER,
        applies="indicators",
        no_injector="the sample keeps each branch on its sheet; tests/test_validate.py builds the case",
    ),
    Rule(
        "{sheet}.branch_code.missing",
        ERROR,
        "*",
        "branch_code",
        "名册中的{type}支部{code}在“{sheet}”表中缺少指标行，请补充",
        "补充该支部的指标行",
        "删掉了一个支部的指标行",
        "rules",
        _ROSTER,
        applies="indicators",
        injector="missing_indicator_row",
    ),
    Rule(
        "{sheet}.{column}.cumulative_down",
        WARNING,
        "*",
        "*",
        "累计值低于上月（{prev_period}）的{before}，请核实",
        "核实累计值，必要时在“情况说明”中说明",
        "上月12，本月10",
        "rules",
        _PRIOR,
        applies="cumulative",
        injector="cumulative_decrease",
    ),
    Rule(
        "{sheet}.{column}.jump",
        WARNING,
        "*",
        "*",
        "与上月（{prev_period}）的{before}相比变动超过{jump}个百分点，请核实",
        "核实数值，必要时在“情况说明”中说明",
        "上月60，本月95",
        "rules",
        _PRIOR,
        applies="period_end_rate",
        injector="rate_jump",
    ),
    Rule(
        "{sheet}.{column}.all_100",
        WARNING,
        "*",
        "*",
        "本县{n}个支部中有{share}的满意度填报为100，请核实是否如实填报",
        "如实填报满意度",
        "九成以上支部填100",
        "rules",
        "a share over the whole sheet of the county, not a check of single values",
        applies="satisfaction",
        injector="satisfaction_all_100",
    ),
    # ---- ledger (rules) ---------------------------------------------------------------
    Rule(
        "ledger.branch_code.roster",
        ERROR,
        "ledger",
        "branch_code",
        "该支部代码不在支部名册中",
        "先在支部名册中登记该支部",
        "410522101299",
        "rules",
        _ROSTER,
        injector="code_not_in_roster",
    ),
    Rule(
        "ledger.item_code.catalogue",
        ERROR,
        "ledger",
        "item_code",
        "积分项目代码不在积分项目目录中，请对照《填报说明》填写",
        "对照《填报说明》选择项目代码",
        "ZZ99",
        "rules",
        _LEDGER,
        no_injector="the sample draws items from the catalogue; tests/test_validate.py builds the case",
    ),
    Rule(
        "ledger.item_code.type",
        ERROR,
        "ledger",
        "item_code",
        "积分项目{item}不适用于{type}支部",
        "选择适用于本支部类型的项目",
        "GJ01（村支部）",
        "rules",
        _LEDGER,
        injector="item_not_applicable",
    ),
    Rule(
        "ledger.subject_type.item",
        ERROR,
        "ledger",
        "subject_type",
        "积分项目{item}的对象类型应为“{allowed}”",
        "按积分项目填写对象类型",
        "ZB01记给党员",
        "rules",
        _LEDGER,
        no_injector="the sample writes the item's subject type; tests/test_validate.py builds the case",
    ),
    Rule(
        "ledger.subject_id.branch",
        ERROR,
        "ledger",
        "subject_id",
        "对象类型为“支部”时，对象编号应留空或填写本支部代码",
        "留空或填写本支部代码",
        "另一支部的代码",
        "rules",
        "compares two columns of the same row (GX 1.x has no row-wise column-pair check with a blank allowed)",
        no_injector="the sample leaves branch subject ids blank; tests/test_validate.py builds the case",
    ),
    Rule(
        "ledger.subject_id.required",
        ERROR,
        "ledger",
        "subject_id",
        "对象类型为“{subject}”时必须填写对象编号（如DY0012、H0345）",
        "填写党员或户的内部编号",
        "（空）",
        "rules",
        "required only for some subject types: a condition on another column of the row",
        no_injector="the sample always writes member and household ids; tests/test_validate.py builds the case",
    ),
    Rule(
        "ledger.points.redeem_sign",
        ERROR,
        "ledger",
        "points",
        "积分兑换的分值应填写为负数（如-20）",
        "兑换填写负数",
        "20",
        "rules",
        _LEDGER,
        no_injector="the sample writes redemptions as negative; tests/test_validate.py builds the case",
    ),
    Rule(
        "ledger.points.catalogue",
        ERROR,
        "ledger",
        "points",
        "分值应为积分项目{item}规定的{points}分",
        "按积分项目目录的分值填写",
        "3（目录为2分）",
        "rules",
        _LEDGER,
        injector="wrong_points",
    ),
    Rule(
        "ledger.points.over_cap",
        WARNING,
        "ledger",
        "points",
        "积分项目{item}每月每个对象最多计{cap}次，本条超出上限不计分",
        "删除超出上限的记录",
        "同一对象同月第2次ZB01",
        "rules",
        _LEDGER,
        injector="cap_overflow",
    ),
    Rule(
        "ledger.points.overdraw",
        ERROR,
        "ledger",
        "points",
        "兑换积分超过该对象当时的积分余额，请核实",
        "兑换不超过积分余额",
        "余额2时兑换-3",
        "rules",
        _LEDGER,
        injector="overdraw",
    ),
    # ---- vetoes (rules) ---------------------------------------------------------------
    Rule(
        "vetoes.branch_code.roster",
        ERROR,
        "vetoes",
        "branch_code",
        "该支部代码不在支部名册中",
        "先在支部名册中登记该支部",
        "410522101299",
        "rules",
        _ROSTER,
        no_injector="the sample's veto fault is an invalid code or a blank note",
    ),
    Rule(
        "vetoes.veto_code.catalogue",
        ERROR,
        "vetoes",
        "veto_code",
        "否决事项代码不在目录中（{first}–{last}），请对照《填报说明》填写",
        "对照《填报说明》选择事项代码",
        "V99",
        "rules",
        "needs the veto catalogue (config/vetoes.csv), which may change without regenerating suites",
        no_injector="the sample's veto faults use catalogue codes; tests/test_validate.py builds the case",
    ),
    Rule(
        "vetoes.veto_code.type",
        ERROR,
        "vetoes",
        "veto_code",
        "否决事项{code}不适用于{type}支部",
        "选择适用于本支部类型的事项",
        "V04（社区支部）",
        "rules",
        "needs the branch's type from the roster and the veto catalogue",
        injector="veto_not_applicable",
    ),
]


def pattern(rule_id: str) -> re.Pattern[str]:
    """A family id (`{sheet}.{column}.range`) as a regular expression over concrete ids."""
    parts = re.split(r"(\{sheet\}|\{column\})", rule_id)
    out = "".join(
        "[a-z_]+" if p == "{sheet}" else "[a-z0-9_]+" if p == "{column}" else re.escape(p) for p in parts
    )
    return re.compile(out + r"\Z")


@cache
def _index() -> tuple[dict[str, Rule], list[tuple[re.Pattern[str], Rule]]]:
    exact = {r.id: r for r in RULES}  # concrete ids, and families by their own id
    # Fewer placeholders first: `cover.{column}...` before `{sheet}.{column}...`.
    fams = sorted((r for r in RULES if "{" in r.id), key=lambda r: r.id.count("{"))
    return exact, [(pattern(r.id), r) for r in fams]


def find(rule_id: str) -> Rule | None:
    """The catalogue row of a concrete rule id (as stored in dq_issue.rule), or None."""
    exact, fams = _index()
    if rule_id in exact:
        return exact[rule_id]
    return next((r for p, r in fams if p.match(rule_id)), None)


def rule(rule_id: str) -> Rule:
    r = find(rule_id)
    if r is None:
        raise KeyError(f"rule {rule_id!r} is not in the catalogue")
    return r


def text(rule_id: str, **fields: Any) -> str:
    """The Chinese message of a concrete rule id, its template filled with `fields`."""
    return rule(rule_id).message.format(**fields)


def by_check(prefix: str) -> list[Rule]:
    """Rows whose `check` starts with prefix ("gx:", "relay", "rules", "read"), in table order."""
    return [r for r in RULES if r.check.startswith(prefix)]
