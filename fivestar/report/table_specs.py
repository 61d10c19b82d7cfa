"""Column specifications shared by the HTML and the XLSX report (one definition per table).

In: nothing (and the rulebook's star list for the per-star table). Out: `Col` specs and
`TABLES`, a table key → (sheet title, columns) mapping, so both renderings show the
same tables with the same headers and number kinds.
"""

from __future__ import annotations

from dataclasses import dataclass

# Star levels, highest first: (level, Chinese label, rpt_area_summary column).
LEVELS: tuple[tuple[int, str, str], ...] = (
    (5, "五星", "five_star"),
    (4, "四星", "four_star"),
    (3, "三星", "three_star"),
    (2, "二星", "two_star"),
    (1, "一星", "one_star"),
    (0, "零星", "zero_star"),
)
LEVEL_NAME = {lv: name for lv, name, _ in LEVELS}


@dataclass(frozen=True)
class Col:
    """One table column.

    kind: text | long (wrapping text) | code (identifiers, kept as text) | int | num (2 decimals) | money (元) |
    pct (a fraction 0–1) | dpct (a difference of fractions, shown in percentage points) |
    int_delta (a signed count) | rank | drank (rank change, positive = moved up).
    """

    key: str
    header: str
    kind: str = "text"


def _cols(*spec: tuple[str, str] | tuple[str, str, str]) -> tuple[Col, ...]:
    return tuple(Col(*s) for s in spec)


_LEVEL_COLS = tuple((col, name, "int") for _, name, col in LEVELS)

TABLES: dict[str, tuple[str, tuple[Col, ...]]] = {
    "area_summary": (
        "星级分布",
        _cols(
            ("area_level_label", "层级"),
            ("area_code", "代码", "code"),
            ("area_name", "地区"),
            ("branch_type", "类型"),
            ("registry_branches", "在册支部", "int"),
            ("branches", "已评定", "int"),
            *_LEVEL_COLS,
            ("three_plus", "三星以上", "int"),
            ("three_plus_share", "三星以上占比", "pct"),
            ("province_three_plus_share", "全省平均", "pct"),
            ("compare", "对比全省"),
        ),
    ),
    "league_three_plus": (
        "三星以上占比排名",
        _cols(
            ("rank", "名次", "rank"),
            ("county_code", "代码", "code"),
            ("county_name", "县（市、区）"),
            ("city_name", "所属市"),
            ("as_of_period", "数据截至"),
            ("branches", "已评定", "int"),
            ("three_plus", "三星以上", "int"),
            ("three_plus_share", "三星以上占比", "pct"),
            ("pm_share", "上月占比", "pct"),
            ("pm_delta", "较上月（百分点）", "dpct"),
            ("pm_rank", "上月名次", "rank"),
            ("pm_rank_change", "名次变化（较上月）", "drank"),
            ("py_share", "上年占比", "pct"),
            ("py_delta", "较上年（百分点）", "dpct"),
            ("py_rank", "上年名次", "rank"),
            ("py_rank_change", "名次变化（较上年）", "drank"),
        ),
    ),
    "league_five_star": (
        "五星数量排名",
        _cols(
            ("rank", "名次", "rank"),
            ("county_code", "代码", "code"),
            ("county_name", "县（市、区）"),
            ("city_name", "所属市"),
            ("as_of_period", "数据截至"),
            ("branches", "已评定", "int"),
            ("five_star", "五星支部", "int"),
            ("five_star_share", "五星占比", "pct"),
            ("pm_five_star", "上月五星", "int"),
            ("pm_delta", "较上月", "int_delta"),
            ("pm_rank", "上月名次", "rank"),
            ("pm_rank_change", "名次变化（较上月）", "drank"),
            ("py_five_star", "上年五星", "int"),
            ("py_delta", "较上年", "int_delta"),
            ("py_rank", "上年名次", "rank"),
            ("py_rank_change", "名次变化（较上年）", "drank"),
        ),
    ),
    "changes_summary": (
        "动态调整汇总",
        _cols(
            ("county_code", "代码", "code"),
            ("county_name", "县（市、区）"),
            ("py_up", "较上年升星", "int"),
            ("py_down", "较上年降星", "int"),
            ("py_gained", "较上年新增星（支部）", "int"),
            ("py_lost", "较上年失去星（支部）", "int"),
            ("pm_up", "较上月升星", "int"),
            ("pm_down", "较上月降星", "int"),
            ("pm_gained", "较上月新增星（支部）", "int"),
            ("pm_lost", "较上月失去星（支部）", "int"),
        ),
    ),
    "changes": (
        "动态调整明细",
        _cols(
            ("county_name", "县（市、区）"),
            ("branch_code", "支部代码", "code"),
            ("branch_name", "支部名称"),
            ("branch_type", "类型"),
            ("basis_label", "比较基准"),
            ("compared_period", "比较期"),
            ("level_before", "原星级", "int"),
            ("level_after", "现星级", "int"),
            ("gained", "新增星"),
            ("lost", "失去星"),
            ("reason", "原因", "long"),
        ),
    ),
    "near_misses_summary": (
        "差一步汇总",
        _cols(
            ("county_code", "代码", "code"),
            ("county_name", "县（市、区）"),
            ("branches", "差一步支部", "int"),
            ("stars", "差一步星（个）", "int"),
        ),
    ),
    "near_misses": (
        "差一步支部",
        _cols(
            ("county_name", "县（市、区）"),
            ("branch_code", "支部代码", "code"),
            ("branch_name", "支部名称"),
            ("branch_type", "类型"),
            ("star_level", "现星级", "int"),
            ("star_name", "差一步的星"),
            ("total_score", "得分", "num"),
            ("gap", "差（分）", "num"),
            ("reason", "还需（评定说明）", "long"),
        ),
    ),
    "participation": (
        "积分参与",
        _cols(
            ("county_code", "代码", "code"),
            ("county_name", "县（市、区）"),
            ("period", "月份"),
            ("branches", "支部数", "int"),
            ("branches_active", "有积分活动的支部", "int"),
            ("households_active", "参与户数", "int"),
            ("households_positive", "加分户数", "int"),
            ("members_active", "参与党员数", "int"),
            ("avg_participation_rate", "支部平均参与率", "pct"),
            ("avg_household_points", "户均积分", "num"),
        ),
    ),
    "top_households": (
        "户积分排行",
        _cols(
            ("rank", "名次", "rank"),
            ("county_name", "县（市、区）"),
            ("branch_code", "支部代码", "code"),
            ("branch_name", "支部名称"),
            ("subject_id", "户编号", "code"),
            ("period", "最近积分月"),
            ("cumulative_earned", "累计获得积分", "num"),
            ("cumulative_net", "累计净积分", "num"),
            ("cumulative_redeemed", "累计兑换", "num"),
            ("balance", "可用余额", "num"),
        ),
    ),
    "top_members": (
        "党员积分排行",
        _cols(
            ("rank", "名次", "rank"),
            ("county_name", "县（市、区）"),
            ("branch_code", "支部代码", "code"),
            ("branch_name", "支部名称"),
            ("subject_id", "党员编号", "code"),
            ("period", "最近积分月"),
            ("cumulative_earned", "累计获得积分", "num"),
            ("cumulative_net", "累计净积分", "num"),
            ("cumulative_redeemed", "累计兑换", "num"),
            ("balance", "可用余额", "num"),
        ),
    ),
    "redemption": (
        "积分兑换",
        _cols(
            ("county_code", "代码", "code"),
            ("county_name", "县（市、区）"),
            ("subject_type", "积分对象"),
            ("subjects", "有积分对象", "int"),
            ("earned", "本年获得", "num"),
            ("deducted", "本年扣减", "num"),
            ("redeemed", "本年兑换", "num"),
            ("redeemers", "兑换对象数", "int"),
        ),
    ),
    "incentives": (
        "创星激励",
        _cols(
            ("area_level_label", "层级"),
            ("area_code", "代码", "code"),
            ("area_name", "地区"),
            ("as_of_period", "评定截至"),
            ("months", "计发月数", "int"),
            ("five_star", "五星", "int"),
            ("four_star", "四星", "int"),
            ("three_star", "三星", "int"),
            ("pay_total", "书记绩效补贴（元）", "money"),
            ("first_five", "首次创成五星", "int"),
            ("award_total", "一次性奖励（元）", "money"),
            ("total", "合计（元）", "money"),
        ),
    ),
    "quality": (
        "数据质量",
        _cols(
            ("county_code", "代码", "code"),
            ("county_name", "县（市、区）"),
            ("city_name", "所属市"),
            ("state", "报送情况"),
            ("versions", "版本数", "int"),
            ("current_version", "有效版本", "int"),
            ("latest_status_label", "最新版本状态"),
            ("errors", "错误", "int"),
            ("warnings", "提示", "int"),
            ("file_name", "最新文件"),
            ("rating_as_of", "评定数据截至"),
        ),
    ),
    "quality_rules": (
        "主要问题",
        _cols(
            ("severity_label", "级别"),
            ("where", "问题所在"),
            ("count", "次数", "int"),
            ("counties", "涉及县数", "int"),
            ("example", "示例说明", "long"),
        ),
    ),
    "trend": (
        "三星以上占比走势",
        _cols(
            ("period", "月份"),
            ("area_name", "地区"),
            ("branch_type", "类型"),
            ("branches", "已评定", "int"),
            ("three_plus", "三星以上", "int"),
            ("three_plus_share", "三星以上占比", "pct"),
        ),
    ),
}


def star_table(stars: list[tuple[str, str]]) -> tuple[str, tuple[Col, ...]]:
    """Columns of the per-star table for the rulebook's stars [(code, name), ...]."""
    cols = [
        Col("area_level_label", "层级"),
        Col("area_code", "代码", "code"),
        Col("area_name", "地区"),
        Col("branches", "已评定", "int"),
    ]
    for code, name in stars:
        cols.append(Col(f"held_{code}", f"{name}（个）", "int"))
        cols.append(Col(f"share_{code}", f"{name}占比", "pct"))
    cols.append(Col("weakest", "最弱星"))
    return "分星统计", tuple(cols)
