"""Report sections about points and incentives.

In: the report's ratings, `rpt_branch_points` (participation in each county's as-of
month), `rpt_points_tally` (top subjects, redemption this year), `rpt_branch_rating` of
earlier years (first-time 五星) and the rulebook's incentive amounts. Out: the `points`
and `incentives` parts of the report's data dict. Subject ids never show resident IDs.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy.engine import Engine

from fivestar import cells
from fivestar.config import Rulebook
from fivestar.report.areas import AREA_LEVEL_LABEL
from fivestar.report.queries import as_codes, py_value, read, records

LIST_LIMIT = 10  # top households / members


def points(engine: Engine, year: int, as_of: str, ratings: pd.DataFrame) -> dict[str, Any]:
    start = f"{year:04d}-01"
    county_names = ratings.groupby("county_code")["county_name"].first().to_dict()
    branch_names = ratings.set_index("branch_code")["branch_name"].to_dict()
    county_as_of = ratings.groupby("county_code")["as_of_period"].max()

    bp = read(engine, "SELECT * FROM rpt_branch_points WHERE period >= :a AND period <= :b", a=start, b=as_of)
    as_codes(bp, "county_code", "branch_code")
    participation = []
    for county, period in county_as_of.items():
        g = bp[(bp["county_code"] == county) & (bp["period"] == period)]
        hh = pd.to_numeric(g["households_active"], errors="coerce").fillna(0)
        participation.append(
            {
                "county_code": county,
                "county_name": county_names.get(county),
                "period": period,
                "branches": len(g),
                "branches_active": int(((hh > 0) | (pd.to_numeric(g["members_active"]).fillna(0) > 0)).sum()),
                "households_active": int(hh.sum()),
                "households_positive": int(pd.to_numeric(g["households_positive"]).fillna(0).sum()),
                "members_active": int(pd.to_numeric(g["members_active"]).fillna(0).sum()),
                "avg_participation_rate": py_value(pd.to_numeric(g["participation_rate"]).mean())
                if len(g)
                else None,
                "avg_household_points": py_value(pd.to_numeric(g["avg_household_points"]).mean())
                if len(g)
                else None,
            }
        )

    # Latest tally row per subject up to the as-of month (cumulative columns carry over years).
    top_sql = """
    SELECT t.period, t.branch_code, t.subject_type, t.subject_id, t.cumulative_earned,
           t.cumulative_net, t.cumulative_redeemed, t.balance, t.county_code
    FROM rpt_points_tally t
    JOIN (
        SELECT branch_code, subject_id, MAX(period) AS period
        FROM rpt_points_tally
        WHERE subject_type = :st AND period <= :b
        GROUP BY branch_code, subject_id
    ) l ON l.branch_code = t.branch_code AND l.subject_id = t.subject_id AND l.period = t.period
    WHERE t.subject_type = :st
    ORDER BY t.cumulative_earned DESC, t.balance DESC, t.branch_code, t.subject_id
    LIMIT :n
    """

    def top(subject_type: str) -> list[dict[str, Any]]:
        df = as_codes(
            read(engine, top_sql, st=subject_type, b=as_of, n=LIST_LIMIT), "branch_code", "county_code"
        )
        df["subject_id"] = df["subject_id"].map(_safe_id)
        df["rank"] = range(1, len(df) + 1)
        df["county_name"] = df["county_code"].map(county_names)
        df["branch_name"] = df["branch_code"].map(branch_names)
        return records(df)

    red = read(
        engine,
        """
        SELECT county_code, subject_type,
               COUNT(DISTINCT branch_code || '|' || subject_id) AS subjects,
               SUM(earned) AS earned, SUM(deducted) AS deducted, SUM(redeemed) AS redeemed,
               COUNT(DISTINCT CASE WHEN redeemed > 0 THEN branch_code || '|' || subject_id END) AS redeemers
        FROM rpt_points_tally
        WHERE period >= :a AND period <= :b
        GROUP BY county_code, subject_type
        """,
        a=start,
        b=as_of,
    )
    as_codes(red, "county_code")
    torder = {"户": 0, "党员": 1, "支部": 2}
    red["_t"] = red["subject_type"].map(torder).fillna(9)
    red = red.sort_values(["county_code", "_t"])
    red["county_name"] = red["county_code"].map(county_names)
    return {
        "participation": participation,
        "top_households": top("户"),
        "top_members": top("党员"),
        "redemption": records(red.drop(columns="_t")),
        "top_n": LIST_LIMIT,
        "period_start": start,
        "period_end": as_of,
    }


def _safe_id(v: Any) -> str:
    """Subject ids are ids, never names or resident IDs (already hashed at read time; mask anyway)."""
    s = "" if v is None else str(v)
    return cells.mask_id(s) if cells.is_resident_id(s) else s


def incentive_amounts(rb: Rulebook) -> dict[str, Any]:
    inc = (rb.settings or {}).get("incentives") or {}
    pay = {int(k): float(v) for k, v in (inc.get("secretary_monthly_pay") or {}).items()}
    return {
        "secretary_monthly_pay": pay,
        "first_five_star_award": float(inc.get("first_five_star_award") or 0),
    }


def incentives(engine: Engine, year: int, ratings: pd.DataFrame, rb: Rulebook) -> dict[str, Any]:
    """Secretary pay = monthly amount of the level × months of the year so far (the as-of month
    number; 12 once final) and the one-time award for branches at 五星 for the first time."""
    amounts = incentive_amounts(rb)
    pay = amounts["secretary_monthly_pay"]
    earlier = read(
        engine,
        "SELECT DISTINCT branch_code FROM rpt_branch_rating WHERE year < :y AND star_level = 5",
        y=year,
    )
    before = set(earlier["branch_code"].astype(str))
    r = ratings.copy()
    r["months"] = r["as_of_period"].str[5:7].astype(int)
    r["pay"] = r["star_level"].map(lambda lv: pay.get(int(lv), 0.0)) * r["months"]
    r["first_five"] = (r["star_level"] == 5) & ~r["branch_code"].isin(before)
    r["award"] = r["first_five"].astype(int) * amounts["first_five_star_award"]
    rows = []
    for level, col, name_col in (
        ("county", "county_code", "county_name"),
        ("city", "city_code", "city_name"),
        ("province", "province_code", None),
    ):
        for code, g in r[r[col].notna()].groupby(col, sort=True):
            months = sorted(g["months"].unique())
            rows.append(
                {
                    "area_level": level,
                    "area_level_label": AREA_LEVEL_LABEL[level],
                    "area_code": code,
                    "area_name": py_value(g[name_col].iloc[0]) if name_col else None,
                    "as_of_period": str(g["as_of_period"].max()),
                    "months": int(months[0]) if len(months) == 1 else None,
                    "five_star": int((g["star_level"] == 5).sum()),
                    "four_star": int((g["star_level"] == 4).sum()),
                    "three_star": int((g["star_level"] == 3).sum()),
                    "pay_total": float(g["pay"].sum()),
                    "first_five": int(g["first_five"].sum()),
                    "award_total": float(g["award"].sum()),
                    "total": float(g["pay"].sum() + g["award"].sum()),
                }
            )
    return {
        "amounts": {**amounts, "secretary_monthly_pay": {str(k): v for k, v in pay.items()}},
        "rows": rows,
    }
