"""One branch's card (`fivestar report --branch CODE`): stars, indicator points, history, points.

In: a warehouse Engine, a branch code, a year and optional as-of month, the rulebook.
Out: `build_branch_data(...)`, a plain dict, and `render_branch_html(...)`, a
self-contained Chinese HTML page.

Sources (rpt_* views only): the rating and stars from `rpt_branch_rating` /
`rpt_branch_star` (or, for an earlier `--as-of`, `rpt_rating_history` / `rpt_star_history`
rows of that month); per-indicator points and hints from `rpt_indicator_score`; history
from `rpt_rating_history` + `rpt_star_history` (every as-of month of every year); changes
from `rpt_branch_change`; points from `rpt_points_tally` and `rpt_branch_points`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.engine import Engine

from fivestar.config import Rulebook
from fivestar.report.data import current_ratings, resolve_year
from fivestar.report.html import JINJA_ENV, html_table
from fivestar.report.queries import ReportError, as_bool, as_codes, py_value, read, records
from fivestar.report.table_specs import LEVEL_NAME, Col

CARD_SOURCE = (
    "rpt_branch_rating、rpt_branch_star（本期评定）；rpt_indicator_score（分项得分）；"
    "rpt_rating_history、rpt_star_history（历次评定）；rpt_branch_change（星级变化）；"
    "rpt_points_tally、rpt_branch_points（积分）"
)

CARD_TABLES: dict[str, tuple[str, tuple[Col, ...]]] = {
    "stars": (
        "各星得分",
        (
            Col("star_name", "星"),
            Col("status", "结果"),
            Col("indicator_score", "指标得分", "num"),
            Col("points_score", "积分得分", "num"),
            Col("total_score", "总分", "num"),
            Col("gap", "差（分）", "num"),
            Col("reason", "说明", "long"),
        ),
    ),
    "indicators": (
        "分项得分",
        (
            Col("star_name", "星"),
            Col("header", "指标"),
            Col("value_text", "取值"),
            Col("rule", "计分规则"),
            Col("points", "得分", "num"),
            Col("hint", "提升建议", "long"),
        ),
    ),
    "history": (
        "历次评定",
        (
            Col("year", "年度", "code"),
            Col("as_of_period", "评定截至"),
            Col("final", "年终"),
            Col("months_accepted", "有效月数", "int"),
            Col("star_level", "星级", "int"),
            Col("stars_held", "获得的星", "long"),
        ),
    ),
    "changes": (
        "星级变化",
        (
            Col("as_of_period", "评定截至"),
            Col("basis_label", "比较基准"),
            Col("compared_period", "比较期"),
            Col("level_before", "原星级", "int"),
            Col("level_after", "现星级", "int"),
            Col("reason", "原因", "long"),
        ),
    ),
    "points": (
        "积分",
        (
            Col("period", "月份"),
            Col("branch_earned", "支部获得", "num"),
            Col("branch_deducted", "支部扣减", "num"),
            Col("branch_balance", "支部累计余额", "num"),
            Col("members", "有积分党员", "int"),
            Col("members_earned", "党员获得", "num"),
            Col("households", "有积分户", "int"),
            Col("households_earned", "户获得", "num"),
            Col("redeemed", "兑换", "num"),
            Col("participation_rate", "户参与率", "pct"),
        ),
    ),
}


def _status(r: dict[str, Any]) -> str:
    if r["awarded"]:
        return "获得"
    if r["vetoed"]:
        return "一票否决"
    if r["gate_failed"]:
        return "未获得（软弱涣散）"
    return "未获得"


def build_branch_data(
    engine: Engine, branch_code: str, year: int | None, as_of: str | None, rb: Rulebook
) -> dict[str, Any]:
    """Everything on one branch's card for `year` as of `as_of` (None = latest)."""
    code = str(branch_code).strip()
    if year is None and as_of is None:
        got = read(engine, "SELECT MAX(year) AS y FROM rpt_branch_rating WHERE branch_code = :c", c=code)["y"]
        if got.isna().all():
            raise ReportError(f"支部 {code} 没有任何评定数据")
        year = int(got.iloc[0])
    year = resolve_year(engine, year, as_of)
    ratings, stars, mode = current_ratings(engine, year, as_of)
    mine = ratings[ratings["branch_code"] == code]
    if mine.empty:
        raise ReportError(f"支部 {code} 在 {year} 年{'截至' + as_of if as_of else ''}没有评定数据")
    rating = records(mine)[0]
    threshold = float(rb.settings.get("award_threshold", 80))
    star_order = {c: i for i, c in enumerate(rb.stars["code"])}

    s = stars[stars["branch_code"] == code].copy()
    s["_o"] = s["star_code"].map(star_order).fillna(99)
    s = s.sort_values("_o")
    star_rows = []
    for r in records(s.drop(columns="_o")):
        r["status"] = _status(r)
        r["gap"] = None if r["awarded"] else max(0.0, round(threshold - float(r["total_score"]), 2))
        star_rows.append(r)
    candidates = [r for r in star_rows if not r["awarded"] and not r["vetoed"]]
    nxt = max(candidates, key=lambda r: (r["total_score"], -star_order.get(r["star_code"], 99)), default=None)
    if nxt:
        nxt = {**nxt, "total_score_text": f"{nxt['total_score']:.2f}", "gap_text": f"{nxt['gap']:.2f}"}

    ind = read(
        engine,
        "SELECT * FROM rpt_indicator_score WHERE year = :y AND as_of_period = :p AND branch_code = :c",
        y=year,
        p=rating["as_of_period"],
        c=code,
    )
    key_order = {k: i for i, k in enumerate(rb.indicators["key"])}
    names = dict(zip(rb.stars["code"], rb.stars["name"], strict=True))
    ind["_o1"] = ind["star_code"].map(star_order).fillna(99)
    ind["_o2"] = ind["indicator_key"].map(key_order).fillna(99)
    ind = ind.sort_values(["_o1", "_o2"]).drop(columns=["_o1", "_o2"])
    ind["star_name"] = ind["star_code"].map(lambda c: names.get(c, c))
    ind["value_text"] = [
        ("是" if v == 1 else "否") if str(rule).split(" ")[0] in ("yes", "no") and v == v else _num(v)
        for v, rule in zip(ind["value"], ind["rule"], strict=True)
    ]

    hist = read(
        engine,
        "SELECT year, as_of_period, is_final, months_accepted, star_level FROM rpt_rating_history "
        "WHERE branch_code = :c ORDER BY year, as_of_period",
        c=code,
    )
    hist["is_final"] = as_bool(hist["is_final"])
    held = read(
        engine,
        "SELECT year, as_of_period, star_code FROM rpt_star_history WHERE branch_code = :c AND awarded = :t",
        c=code,
        t=True,
    )
    held_by = held.groupby(["year", "as_of_period"])["star_code"].apply(
        lambda cs: "、".join(names.get(c, c) for c in sorted(cs, key=lambda c: star_order.get(c, 99)))
    )
    hist["stars_held"] = [
        held_by.get((y, p), "") for y, p in zip(hist["year"], hist["as_of_period"], strict=True)
    ]
    hist["final"] = hist["is_final"].map({True: "是", False: ""})

    ch = read(
        engine,
        "SELECT * FROM rpt_branch_change WHERE branch_code = :c ORDER BY year, as_of_period, basis",
        c=code,
    )
    ch = ch[(ch["stars_gained"].fillna("") != "") | (ch["stars_lost"].fillna("") != "")].copy()
    ch["basis_label"] = ch["basis"].map({"prev_year": "较上年", "prev_month": "较上月"})

    pts = read(engine, "SELECT * FROM rpt_points_tally WHERE branch_code = :c ORDER BY period", c=code)
    bp = read(
        engine, "SELECT period, participation_rate FROM rpt_branch_points WHERE branch_code = :c", c=code
    )
    rate = dict(zip(bp["period"], bp["participation_rate"], strict=True))
    point_rows = []
    for period, g in pts.groupby("period", sort=True):
        br = g[g["subject_type"] == "支部"]
        mem = g[g["subject_type"] == "党员"]
        hh = g[g["subject_type"] == "户"]
        point_rows.append(
            {
                "period": period,
                "branch_earned": py_value(br["earned"].sum()) if len(br) else None,
                "branch_deducted": py_value(br["deducted"].sum()) if len(br) else None,
                "branch_balance": py_value(br["balance"].iloc[-1]) if len(br) else None,
                "members": len(mem),
                "members_earned": py_value(mem["earned"].sum()),
                "households": len(hh),
                "households_earned": py_value(hh["earned"].sum()),
                "redeemed": py_value(g["redeemed"].sum()),
                "participation_rate": py_value(rate.get(period)),
            }
        )

    return {
        **rating,
        "year": year,
        "mode": mode,
        "generated_at": dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "source": CARD_SOURCE,
        "level_name": LEVEL_NAME.get(int(rating["star_level"]), str(rating["star_level"])),
        "stars": star_rows,
        "next": nxt,
        "indicators": records(as_codes(ind, "branch_code")),
        "history": records(hist),
        "changes": records(ch),
        "points": point_rows,
    }


def _num(v: Any) -> str:
    if v is None or v != v:
        return ""
    return f"{float(v):.2f}".rstrip("0").rstrip(".")


def render_branch_html(b: dict[str, Any]) -> str:
    """The branch card page for a `build_branch_data` dict."""
    tables = {
        key: html_table(key, sheet, cols, b[key] if key != "stars" else b["stars"])
        for key, (sheet, cols) in CARD_TABLES.items()
    }
    title = f"{b['branch_name'] or b['branch_code']} · 支部创星档案（{b['year']}年）"
    return (
        JINJA_ENV.get_template("branch.html")
        .render(b=b, title=title, tables=tables, source=b["source"])
        .lstrip()
    )
