"""The leaders' report as data: every number of the HTML and XLSX report, from the rpt_* views.

In: a warehouse Engine, a year, an optional as-of month and the rulebook (star list,
award threshold, incentive amounts). Out: `build_report_data(...)`, a plain dict of
JSON-able values (tables are lists of row dicts keyed like `table_specs.TABLES`), so tests
can recompute every number from the views and compare. The sections are built in
`areas` (headline, league, trend), `stars` (per star, changes, near misses), `activity`
(points, incentives) and `quality`; every read goes through `queries`.

Sources (also listed in the report's 数据来源 note, `SOURCES`): only `rpt_*` views.
- current ratings, stars, area counts: `rpt_branch_rating`, `rpt_branch_star`,
  `rpt_area_summary` (each county's latest accepted month of the year); with `--as-of`
  earlier than that, `rpt_rating_history` cut at that month, `rpt_star_history` and
  `rpt_area_history`;
- previous month and the monthly trend: `rpt_area_history` (the counts as they stood at
  each month's end); previous year: `rpt_area_summary` / `rpt_branch_rating` of year − 1;
- changes: `rpt_branch_change`; near misses: `rpt_branch_star`;
- points: `rpt_branch_points` (participation), `rpt_points_tally` (top subjects, redemption);
- incentives: `rpt_branch_rating` (levels, earlier years' 五星) × `config/rulebook.yaml`;
- data quality: `rpt_region` counties, `rpt_submission`, `rpt_dq_issue`.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

import pandas as pd
from sqlalchemy.engine import Engine

from fivestar.config import Rulebook
from fivestar.report import activity, areas, stars
from fivestar.report.areas import TREND_MONTHS
from fivestar.report.completeness import SOURCE as COMPLETENESS_SOURCE
from fivestar.report.completeness import completeness
from fivestar.report.quality import quality
from fivestar.report.queries import (
    ReportError,
    area_at,
    area_history,
    history_stars,
    load_history,
    month_add,
    py_value,
    read,
    region_names,
    snapshot_at,
    view_area_summary,
    view_ratings,
    view_stars,
)
from fivestar.report.stars import NEAR_MISS_MARGIN
from fivestar.report.table_specs import LEVEL_NAME

__all__ = ["SOURCES", "ReportError", "build_report_data", "current_ratings", "resolve_year"]

PERIOD_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")

SOURCES: dict[str, str] = {
    "headline": "rpt_area_summary（本年各县最新有效月份的评定）",
    "league": "rpt_area_summary（本期、上年）；上月：rpt_area_history（截至上月末各县最新有效月份的评定）",
    "stars": "rpt_branch_star 与 rpt_branch_rating",
    "changes": "rpt_branch_change（较上年终评、较上月评定；本期评定所在月份）与 rpt_branch_rating",
    "near_misses": "rpt_branch_star（未获得、未被否决且得分不低于达标线减5分的星）",
    "points": "rpt_branch_points（各县评定所在月份的参与情况）、rpt_points_tally（截至本期各对象最近一月的累计值；本年兑换合计）",
    "incentives": "rpt_branch_rating（本期星级、往年是否曾为五星）× config/rulebook.yaml incentives",
    "quality": "rpt_region（在册县）、rpt_submission、rpt_dq_issue（本期各县最新版本）",
    "trend": "rpt_area_history（各月末的评定，同上月口径），最后一点即本期",
}


def resolve_year(engine: Engine, year: int | None, as_of: str | None) -> int:
    if as_of is not None and not PERIOD_RE.match(as_of):
        raise ReportError(f"--as-of 应为 YYYY-MM 格式：{as_of!r}")
    if as_of is not None and year is not None and int(as_of[:4]) != year:
        raise ReportError(f"--as-of {as_of} 不在 {year} 年内")
    if year is None and as_of is not None:
        year = int(as_of[:4])
    if year is None:
        got = read(engine, "SELECT MAX(year) AS y FROM rpt_branch_rating")["y"].iloc[0]
        if got is None or (isinstance(got, float) and math.isnan(got)):
            raise ReportError("仓库中还没有任何评定数据（rpt_branch_rating 为空），请先运行 fivestar run")
        year = int(got)
    return year


def current_ratings(engine: Engine, year: int, as_of: str | None) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """(ratings, stars, mode) as of `as_of` (None = latest): the views, or history when earlier."""
    ratings = view_ratings(engine, year)
    if ratings.empty:
        raise ReportError(f"{year}年没有评定数据")
    if as_of is None or as_of >= str(ratings["as_of_period"].max()):
        return ratings, view_stars(engine, year), "views"
    hist = load_history(engine, f"{year:04d}-01", as_of)
    ratings = snapshot_at(hist, as_of)
    if ratings.empty:
        raise ReportError(f"截至{as_of}，{year}年没有评定数据")
    return ratings, history_stars(engine, ratings), "history"


def build_report_data(engine: Engine, year: int | None, as_of: str | None, rb: Rulebook) -> dict[str, Any]:
    """Every number of the leaders' report for `year` as of `as_of` (None = latest), as a dict."""
    year = resolve_year(engine, year, as_of)
    ratings, star_rows, mode = current_ratings(engine, year, as_of)
    period = str(ratings["as_of_period"].max())
    names = region_names(engine)

    history = area_history(engine, month_add(period, -(TREND_MONTHS - 1)), period)
    summary = view_area_summary(engine, year) if mode == "views" else area_at(history, period)
    pm_cut = month_add(period, -1)  # within `history` (it starts TREND_MONTHS - 1 months back)
    prev_month = area_at(history, pm_cut)
    prev_year = view_area_summary(engine, year - 1)
    prev_year_as_of = read(
        engine, "SELECT MAX(as_of_period) AS p FROM rpt_branch_rating WHERE year = :y", y=year - 1
    )["p"].iloc[0]

    three, five = areas.league_tables(summary, prev_month, prev_year, ratings)
    star_list = stars.star_list(rb, star_rows)
    star_names = dict(star_list)
    changes_summary, changes = stars.changes(engine, year, ratings, star_names)
    near_summary, near = stars.near_misses(ratings, star_rows, float(rb.settings.get("award_threshold", 80)))

    subs = read(engine, "SELECT MAX(period) AS p FROM rpt_submission WHERE period >= :a AND period <= :b",
                 a=f"{year:04d}-01", b=f"{year:04d}-12")["p"].iloc[0]  # fmt: skip
    dq_period = as_of or (max(period, str(subs)) if subs else period)
    county_as_of = ratings.groupby("county_code")["as_of_period"].max()

    return {
        "year": year,
        "as_of": period,
        "requested_as_of": as_of,
        "mode": mode,
        "is_final": bool(ratings["is_final"].all()),
        "county_as_of": {k: str(v) for k, v in county_as_of.items()},
        "prev_month": pm_cut,
        "prev_year": year - 1,
        "prev_year_as_of": py_value(prev_year_as_of),
        "dq_period": dq_period,
        "generated_at": dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "branches": len(ratings),
        "headline": areas.headline(summary),
        "area_summary": areas.area_rows(summary),
        "league_three_plus": three,
        "league_five_star": five,
        "stars": star_list,
        "per_star": stars.per_star(ratings, star_rows, star_list, names),
        "changes_summary": changes_summary,
        "changes": changes,
        "near_miss_threshold": float(rb.settings.get("award_threshold", 80)) - NEAR_MISS_MARGIN,
        "near_miss_margin": NEAR_MISS_MARGIN,
        "near_misses_summary": near_summary,
        "near_misses": near,
        "points": activity.points(engine, year, period, ratings),
        "incentives": activity.incentives(engine, year, ratings, rb),
        "quality": quality(engine, dq_period, ratings),
        "completeness": completeness(engine, year),
        "trend": areas.trend(history, period),
        "level_names": {str(k): v for k, v in LEVEL_NAME.items()},
        "sources": {**SOURCES, "completeness": COMPLETENESS_SOURCE},
    }
