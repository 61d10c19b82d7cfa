"""Report sections about stars: per-star shares, changes of the rating, near misses.

In: the report's ratings (rpt_branch_rating or a snapshot of rpt_rating_history), their
star rows (rpt_branch_star / rpt_star_history), `rpt_branch_change` and the rulebook's star
list and award threshold. Out: the `stars`, `per_star`, `changes_summary` / `changes` and
`near_misses_summary` / `near_misses` parts of the report's data dict.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy.engine import Engine

from fivestar.config import Rulebook
from fivestar.report.areas import AREA_LEVEL_LABEL
from fivestar.report.queries import as_codes, py_value, read, records

NEAR_MISS_MARGIN = 5.0  # points below the award threshold that count as "差一步"


def star_list(rb: Rulebook, stars: pd.DataFrame) -> list[tuple[str, str]]:
    out = [(str(r.code), str(r.name)) for r in rb.stars.itertuples()]
    known = {c for c, _ in out}
    extra = stars.loc[~stars["star_code"].isin(known), ["star_code", "star_name"]].drop_duplicates(
        "star_code"
    )
    return out + [(str(a), str(b)) for a, b in extra.itertuples(index=False)]


def per_star(
    ratings: pd.DataFrame, stars: pd.DataFrame, star_list: list[tuple[str, str]], names: dict[str, str]
) -> list[dict[str, Any]]:
    """Per area: branches holding each star, of those the star applies to; weakest star marked."""
    s = stars.merge(
        ratings[["branch_code", "county_code", "city_code", "province_code"]], on="branch_code", how="inner"
    )
    rows = []
    for level, col in (("county", "county_code"), ("city", "city_code"), ("province", "province_code")):
        rated = ratings.groupby(col).size()
        held = s.groupby([col, "star_code"])["awarded"].sum()
        applies = s.groupby([col, "star_code"]).size()
        for code in sorted(rated.index):
            r: dict[str, Any] = {
                "area_level": level,
                "area_level_label": AREA_LEVEL_LABEL[level],
                "area_code": code,
                "area_name": names.get(code, code),
                "branches": int(rated[code]),
            }
            shares = {}
            for star, _ in star_list:
                n = int(applies.get((code, star), 0))
                h = int(held.get((code, star), 0))
                r[f"held_{star}"] = h
                r[f"applies_{star}"] = n
                r[f"share_{star}"] = h / n if n else None
                if n:
                    shares[star] = h / n
            low = min(shares.values()) if shares else None
            r["weakest_codes"] = [k for k, v in shares.items() if v == low]
            star_names = dict(star_list)
            r["weakest"] = "、".join(star_names[k] for k in r["weakest_codes"])
            rows.append(r)
    return rows


def _split_codes(v: Any) -> list[str]:
    return [c for c in str(v or "").split("|") if c]


def changes(
    engine: Engine, year: int, ratings: pd.DataFrame, star_names: dict[str, str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    ch = as_codes(read(engine, "SELECT * FROM rpt_branch_change WHERE year = :y", y=year), "branch_code")
    keys = ratings[
        ["as_of_period", "branch_code", "branch_name", "branch_type", "county_code", "county_name"]
    ]
    ch = ch.merge(keys, on=["as_of_period", "branch_code"], how="inner", suffixes=("_x", ""))
    gained = ch["stars_gained"].map(_split_codes)
    lost = ch["stars_lost"].map(_split_codes)
    before = pd.to_numeric(ch["level_before"], errors="coerce")
    after = pd.to_numeric(ch["level_after"], errors="coerce")
    ch["gained"] = gained.map(lambda cs: "、".join(star_names.get(c, c) for c in cs))
    ch["lost"] = lost.map(lambda cs: "、".join(star_names.get(c, c) for c in cs))
    ch["_g"] = gained.map(bool)
    ch["_l"] = lost.map(bool)
    ch["_up"] = before.notna() & (after > before)
    ch["_down"] = before.notna() & (after < before)
    changed = ch[ch["_g"] | ch["_l"] | ch["_up"] | ch["_down"]].copy()
    changed["basis_label"] = changed["basis"].map({"prev_year": "较上年", "prev_month": "较上月"})
    changed["_b"] = changed["basis"].map({"prev_year": 0, "prev_month": 1})
    changed = changed.sort_values(["county_code", "branch_code", "_b"])
    summary = []
    for county, g in ch.groupby("county_code", sort=True):
        r: dict[str, Any] = {"county_code": county, "county_name": py_value(g["county_name"].iloc[0])}
        for key, basis in (("py", "prev_year"), ("pm", "prev_month")):
            b = g[g["basis"] == basis]
            r[f"{key}_up"] = int(b["_up"].sum())
            r[f"{key}_down"] = int(b["_down"].sum())
            r[f"{key}_gained"] = int(b["_g"].sum())
            r[f"{key}_lost"] = int(b["_l"].sum())
        summary.append(r)
    cols = [
        "county_code", "county_name", "branch_code", "branch_name", "branch_type", "basis", "basis_label",
        "compared_period", "level_before", "level_after", "stars_gained", "stars_lost", "gained", "lost", "reason",
    ]  # fmt: skip
    return summary, records(changed, cols)


def near_misses(
    ratings: pd.DataFrame, stars: pd.DataFrame, threshold: float
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    near = stars[
        (~stars["awarded"]) & (~stars["vetoed"]) & (stars["total_score"] >= threshold - NEAR_MISS_MARGIN)
    ]
    near = near.merge(
        ratings[["branch_code", "branch_name", "branch_type", "county_code", "county_name", "star_level"]],
        on="branch_code",
        how="inner",
    )
    near = near.assign(gap=(threshold - near["total_score"]).clip(lower=0).round(2))
    near = near.sort_values(["gap", "county_code", "branch_code", "star_code"])
    summary = [
        {
            "county_code": c,
            "county_name": py_value(g["county_name"].iloc[0]),
            "branches": int(g["branch_code"].nunique()),
            "stars": len(g),
        }
        for c, g in near.groupby("county_code", sort=True)
    ]
    cols = [
        "county_code", "county_name", "branch_code", "branch_name", "branch_type", "star_level",
        "star_code", "star_name", "total_score", "gap", "gate_failed", "reason",
    ]  # fmt: skip
    return summary, records(near, cols)
