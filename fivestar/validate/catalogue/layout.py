"""Catalogue rows of the root causes: one finding for a structural mistake of a sheet.

The pandas module `validate/root_causes.py` emits them; each replaces the per-cell
symptoms the mistake explains (a title row above the header, merged cells, totals rows,
notes under the data, a repeated header row, another county's rows).
"""

from __future__ import annotations

from fivestar.validate.catalogue.rule import ERROR, WARNING, Rule

_WHY = "a structural mistake of the whole sheet, found from the symptoms it explains and the sheet's layout"
_NO = "tests/validate/test_root_causes.py builds the workbook with the mistake"


def _row(rid: str, severity: str, message: str, hint: str, example: str) -> Rule:
    return Rule(rid, severity, "*", "", message, hint, example, "rules", _WHY, no_injector=_NO)


LAYOUT_RULES: list[Rule] = [
    _row(
        "layout.header_row",
        ERROR,
        "工作表“{sheet}”的表头应在第1行，但在第{row}行找到：请删除表头上方的第{above}行（标题、空行等）",
        "删除表头上方的行",
        "第1行是标题“浚县五星支部报表”",
    ),
    _row(
        "layout.repeated_header",
        ERROR,
        "第{rows}行又写了一遍表头：请删除这些行，表头只保留第1行",
        "删除重复的表头行",
        "第12行与第1行相同",
    ),
    _row(
        "layout.merged_cells",
        ERROR,
        "{columns}有合并单元格（{ranges}）：合并后只有第一行有值，请取消合并并在每一行都填写",
        "取消合并单元格，每行都填写",
        "D2:D12合并",
    ),
    _row(
        "layout.merged_cells_optional",
        WARNING,
        "{columns}有合并单元格（{ranges}）：合并后只有第一行有值，请取消合并并在每一行都填写",
        "取消合并单元格，每行都填写",
        "H2:H5合并",
    ),
    _row(
        "layout.totals_row",
        ERROR,
        "第{rows}行是“{label}”行：请删除合计、小计行，只保留每个支部一行",
        "删除合计、小计行",
        "合计",
    ),
    _row(
        "layout.notes_row",
        ERROR,
        "第{rows}行是写在数据下方的文字（“{text}”）：请删除这些行；需要说明的情况请填写在“{notes_sheet}”工作表",
        "删除数据下方的文字",
        "注：本表数据截至11月30日",
    ),
    _row(
        "layout.empty_column",
        ERROR,
        "“{header}”整列都没有填写（{count}行）：每一行都要填写，{rule}",
        "把整列填写完整",
        "党员人数整列为空",
    ),
    _row(
        "layout.other_county",
        ERROR,
        "{ranges}是{code}{name}的数据（支部代码前6位为{code}），不是本县的：请删除这些行，只填报本县的支部",
        "删除其他县的行",
        "410523开头的支部代码",
    ),
    _row(
        "layout.rate_fractions",
        WARNING,
        "{columns}有{count}个单元格把百分比填成了小数（如{cell}为{shown}）：如实为{pct}%，请改填{pct}（填百分数，不要填小数）",
        "把小数改为百分数",
        "0.778",
    ),
    _row(
        "layout.sheet_renamed",
        ERROR,
        "没有找到工作表“{sheet}”，但找到了“{found}”：请把“{found}”改名为“{sheet}”",
        "把工作表改回原名",
        "村指标(11月)",
    ),
    _row(
        "layout.empty_sheet_deleted",
        ERROR,
        "缺少工作表“{sheet}”：本月没有需要填写的内容时，也请保留这张工作表和它的表头行（第1行），不要删除",
        "保留工作表和表头行",
        "删掉了空的“否决事项”表",
    ),
    _row(
        "layout.same_on_sheets",
        ERROR,
        "{count}张工作表（{sheets}）有同样的问题，以“{first}”为例：{example}。其他几张表请同样修改",
        "每张表同样修改",
        "每张表上方都加了标题行",
    ),
    Rule(
        "file.name_without_code",
        WARNING,
        "file",
        "",
        "文件名“{name}”没有以县代码开头，已按文件内容识别为{code}{county}并审核：以后请把文件命名为“{suggested}”",
        "文件名以县代码开头",
        "浚县11月五星支部报表.xlsx",
        "rules",
        "looks at the file name the county chose, not at the workbook",
        no_injector="tests/validate/test_root_causes.py runs a file named without a county code",
    ),
]
