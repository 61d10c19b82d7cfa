"""Render the report data as one self-contained Chinese HTML page (and the branch card).

In: the dict of `data.build_report_data` (or `branch.build_branch_data`). Out: HTML text
with inline CSS and inline SVG charts, no scripts and nothing fetched. Jinja2 autoescape
is on: branch and county names come from submitted workbooks and are shown, never run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from jinja2 import DictLoader, Environment, StrictUndefined

from fivestar.report import charts
from fivestar.report.completeness import TABLES as COMPLETENESS_TABLES
from fivestar.report.table_specs import LEVELS, TABLES, Col, star_table
from fivestar.report.templates import TEMPLATES

# Long lists (changes, near misses) show their first rows in the page, with the count; the
# XLSX sheet of the same name has every row. Leaders read a page, not a register.
HTML_TOP_N = 20

JINJA_ENV = Environment(
    loader=DictLoader(TEMPLATES),
    autoescape=True,  # '<script>' in a branch name must stay text
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)

SOURCE_LABELS = {
    "headline": "总体情况",
    "league": "擂台比武",
    "stars": "分星创建",
    "changes": "动态调整",
    "near_misses": "差一步",
    "points": "积分管理",
    "incentives": "创星激励",
    "quality": "数据质量",
    "completeness": "报送情况",
    "trend": "走势图",
}


def fmt(v: Any, kind: str) -> tuple[str, str]:
    """(text, css class) of one value of a column kind."""
    if v is None or (v == "" and kind not in ("text", "long")):
        return ("" if kind in ("text", "long", "code") else "—"), kind
    if kind in ("int", "rank"):
        return f"{int(v)}", kind
    if kind == "num":
        return f"{float(v):.2f}".rstrip("0").rstrip("."), kind
    if kind == "money":
        return f"{float(v):,.0f}", kind
    if kind == "pct":
        return f"{float(v) * 100:.1f}%", kind
    if kind == "dpct":  # percentage points
        p = round(float(v) * 100, 1)
        return (f"{p:+.1f}" if p else "0.0"), kind + (" up" if p > 0 else " down" if p < 0 else "")
    if kind == "int_delta":
        n = int(v)
        return (f"{n:+d}" if n else "0"), kind + (" up" if n > 0 else " down" if n < 0 else "")
    if kind == "drank":
        n = int(v)
        return ("↑" + str(n) if n > 0 else "↓" + str(-n) if n < 0 else "—"), kind + (
            " up" if n > 0 else " down" if n < 0 else ""
        )
    return str(v), kind


@dataclass
class HtmlTable:
    key: str
    sheet: str
    headers: list[str]
    rows: list[dict[str, Any]] = field(default_factory=list)
    hidden: int = 0
    count_text: str = ""  # "共N条，显示前20条…" above a cut list


def html_table(
    key: str,
    sheet: str,
    cols: tuple[Col, ...],
    rows: list[dict[str, Any]],
    *,
    limit: int | None = None,
    weak: str | None = None,
    row_class: Callable[[dict[str, Any]], str] | None = None,
) -> HtmlTable:
    """Format rows for the table macro. `weak`: a row key listing star codes to highlight."""
    shown = rows if limit is None else rows[:limit]
    out = []
    for r in shown:
        weak_codes = (r.get(weak) or []) if weak else []
        weak_cols = {f"share_{c}" for c in weak_codes} | {f"held_{c}" for c in weak_codes}
        cells = []
        for c in cols:
            text, cls = fmt(r.get(c.key), c.kind)
            if c.key in weak_cols:
                cls += " weak"
            title = None
            if c.key.startswith("share_") and r.get("applies_" + c.key[6:]) is not None:
                title = f"{r.get('held_' + c.key[6:])}/{r.get('applies_' + c.key[6:])}"
            cells.append({"text": text, "cls": cls, "title": title})
        out.append({"cells": cells, "cls": row_class(r) if row_class else ""})
    return HtmlTable(key, sheet, [c.header for c in cols], out, len(rows) - len(shown))


def report_tables(d: dict[str, Any]) -> dict[str, tuple[str, tuple[Col, ...], list[dict[str, Any]]]]:
    """Table key → (sheet title, columns, rows): the same tables for HTML and XLSX."""
    p = d["points"]
    return {
        "area_summary": (*TABLES["area_summary"], d["area_summary"]),
        "league_three_plus": (*TABLES["league_three_plus"], d["league_three_plus"]),
        "league_five_star": (*TABLES["league_five_star"], d["league_five_star"]),
        "per_star": (*star_table([tuple(s) for s in d["stars"]]), d["per_star"]),
        "changes_summary": (*TABLES["changes_summary"], d["changes_summary"]),
        "changes": (*TABLES["changes"], d["changes"]),
        "near_misses_summary": (*TABLES["near_misses_summary"], d["near_misses_summary"]),
        "near_misses": (*TABLES["near_misses"], d["near_misses"]),
        "participation": (*TABLES["participation"], p["participation"]),
        "top_households": (*TABLES["top_households"], p["top_households"]),
        "top_members": (*TABLES["top_members"], p["top_members"]),
        "redemption": (*TABLES["redemption"], p["redemption"]),
        "incentives": (*TABLES["incentives"], d["incentives"]["rows"]),
        "quality": (*TABLES["quality"], d["quality"]["rows"]),
        "quality_rules": (*TABLES["quality_rules"], d["quality"]["rules"]),
        # 报送情况 (fivestar.report.completeness): only once a month of the year is due.
        **{
            key: (*COMPLETENESS_TABLES[key], d["completeness"][part])
            for key, part in (("completeness_areas", "areas"), ("completeness_gaps", "gaps"))
            if d.get("completeness", {}).get("areas")
        },
        "trend": (*TABLES["trend"], d["trend"]),
    }


def _change_size(r: dict[str, Any]) -> tuple[int, int]:
    """Sort key of a change, biggest first: star levels moved, then stars gained or lost."""
    before, after = r.get("level_before"), r.get("level_after")
    moved = abs(int(after) - int(before)) if before is not None and after is not None else 0
    stars = sum(len([c for c in str(r.get(k) or "").split("|") if c]) for k in ("stars_gained", "stars_lost"))
    return (-moved, -stars)


def top_list(t: HtmlTable, rows: list[dict[str, Any]], unit: str, what: str) -> HtmlTable:
    """Add the count line of a list cut to HTML_TOP_N rows (the XLSX sheet has them all)."""
    branches = len({r.get("branch_code") for r in rows})
    text = f"共{len(rows)}{unit}（涉及{branches}个支部）"
    if t.hidden:
        text += f"，显示{what}前{HTML_TOP_N}{unit}；完整名单见同名 XLSX 报表“{t.sheet}”工作表。"
    else:
        text += "，全部列出。"
    t.count_text = text
    return t


def per_star_html(sheet: str, d: dict[str, Any]) -> HtmlTable:
    """The per-star table, one cell per star ("held/applicable（share）") so it fits a page."""
    headers = ["层级", "代码", "地区", "已评定", *[name for _, name in d["stars"]], "最弱星"]
    rows = []
    for r in d["per_star"]:
        cells = [
            {"text": r["area_level_label"], "cls": "text", "title": None},
            {"text": r["area_code"], "cls": "code", "title": None},
            {"text": r["area_name"] or "", "cls": "text", "title": None},
            {"text": str(r["branches"]), "cls": "int", "title": None},
        ]
        for code, name in d["stars"]:
            n, held, share = r[f"applies_{code}"], r[f"held_{code}"], r[f"share_{code}"]
            text = "—" if not n else f"{held}/{n}（{fmt(share, 'pct')[0]}）"
            cls = "star" + (" weak" if code in r["weakest_codes"] else "")  # may wrap: fits 1280 px
            cells.append({"text": text, "cls": cls, "title": f"{name}：获得 {held} 个，适用 {n} 个"})
        cells.append({"text": r["weakest"], "cls": "long", "title": None})
        rows.append({"cells": cells, "cls": _total_class(r)})
    return HtmlTable("per_star", sheet, headers, rows, 0)


def _quality_class(r: dict[str, Any]) -> str:
    if not r.get("versions") or r.get("latest_status") == "rejected":
        return "bad"
    return "warn" if r.get("current_status") == "accepted_with_warnings" else ""


def _total_class(r: dict[str, Any]) -> str:
    return "total" if r.get("area_level") in ("province", "city") else ""


def build_charts(d: dict[str, Any]) -> dict[str, Any]:
    counties = sorted(d["league_three_plus"], key=lambda r: (r["rank"], r["county_code"]))
    levels = charts.stacked_bars(
        "各县（市、区）支部星级分布（个）",
        [r["county_name"] or r["county_code"] for r in counties],
        [(name, [r[col] for r in counties]) for _, name, col in LEVELS],
    )
    periods = sorted({r["period"] for r in d["trend"]})
    series: dict[tuple[str, str, str], dict[str, float | None]] = {}
    for r in d["trend"]:
        key = (r["area_level"], r["area_code"], r["branch_type"])
        series.setdefault(key, {})[r["period"]] = r["three_plus_share"]
    names = {(r["area_level"], r["area_code"], r["branch_type"]): r["area_name"] for r in d["trend"]}
    order = sorted(
        series, key=lambda k: (k[0] != "province", k[1], {"全部": 0, "村": 1, "社区": 2}.get(k[2], 3))
    )
    lines = []
    for k in order:
        label = f"{names[k] or k[1]}（{k[2]}）" if k[0] == "province" else (names[k] or k[1])
        lines.append((label, [series[k].get(p) for p in periods]))
    trend = charts.line_chart("“三星”以上支部占比走势（按月，年度至今评定）", periods, lines)
    star_codes = [s[0] for s in d["stars"]]
    star_names = [s[1] for s in d["stars"]]
    county_rows = [r for r in d["per_star"] if r["area_level"] == "county"]
    heat = charts.heatmap(
        "各县（市、区）分星覆盖率",
        [r["area_name"] or r["area_code"] for r in county_rows],
        star_names,
        [[r[f"share_{c}"] for c in star_codes] for r in county_rows],
        [[c in r["weakest_codes"] for c in star_codes] for r in county_rows],
    )
    return {"levels": levels, "trend": trend, "heatmap": heat}


def render_report_html(d: dict[str, Any]) -> str:
    """The leaders' report page for a `build_report_data` dict."""
    specs = report_tables(d)
    tables = {}
    # Biggest moves first (stable: county and branch order within a size); near misses are
    # already closest first.
    specs["changes"] = (*specs["changes"][:2], sorted(specs["changes"][2], key=_change_size))
    for key, (sheet, cols, rows) in specs.items():
        limit = HTML_TOP_N if key in ("changes", "near_misses") else None
        weak = "weakest_codes" if key == "per_star" else None
        row_class = (
            _quality_class
            if key == "quality"
            else _total_class
            if key in ("per_star", "incentives")
            else None
        )
        tables[key] = html_table(key, sheet, cols, rows, limit=limit, weak=weak, row_class=row_class)
    tables["per_star"] = per_star_html(specs["per_star"][0], d)
    top_list(tables["changes"], d["changes"], "条", "星级变化最大的")
    top_list(tables["near_misses"], d["near_misses"], "项", "差距最小的")
    prov = d["headline"]["province"][0] if d["headline"]["province"] else {}
    prov_all = next(
        (r for r in d["area_summary"] if r["area_level"] == "province" and r["branch_type"] == "全部"), {}
    )
    kpis = [
        {"label": "已评定支部", "value": d["branches"]},
        {"label": "“五星”支部", "value": prov_all.get("five_star", "—")},
        {"label": "“四星”支部", "value": prov_all.get("four_star", "—")},
        {"label": "“三星”以上占比", "value": fmt(prov.get("three_plus_share"), "pct")[0]},
        {"label": "“差一步”支部", "value": len({r["branch_code"] for r in d["near_misses"]})},
    ]
    inc = d["incentives"]["amounts"]
    pay_amounts = [
        (name, f"{inc['secretary_monthly_pay'][str(lv)]:,.0f}")
        for lv, name, _ in LEVELS
        if str(lv) in inc["secretary_monthly_pay"]
    ]
    title = f"“五星”支部创建工作报告（{d['year']}年）"
    final = "年终评定" if d["is_final"] else "年度至今评定"
    subtitle = f"数据截至 {d['as_of']}（{final}，各县以其最新有效月份为准）"
    return (
        JINJA_ENV.get_template("report.html")
        .render(
            d=d,
            title=title,
            subtitle=subtitle,
            tables=tables,
            charts=build_charts(d),
            kpis=kpis,
            margin=f"{d['near_miss_margin']:g}",
            top_n=d["points"]["top_n"],
            pay_amounts=pay_amounts,
            award=f"{inc['first_five_star_award']:,.0f}",
            sources=[(SOURCE_LABELS.get(k, k), v) for k, v in d["sources"].items()],
        )
        .lstrip()
    )  # the table macro's definition leaves blank lines before the doctype
