"""Report sections built from area counts: headline sentences, area table, league tables, trend.

In: the configured branch types (name and report wording, `Rulebook.branch_types`),
`rpt_area_summary` rows of the report's year (or `rpt_area_history` at the as-of
month), the same counts at the previous month and year, the county ratings, and
`rpt_area_history` of the last TREND_MONTHS months. Out: the `headline`,
`area_summary`, `league_three_plus` / `league_five_star` and `trend` parts of the
report's data dict (lists of plain row dicts).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from fivestar.config import BranchType
from fivestar.report.queries import month_add, py_value, records

TREND_MONTHS = 12
AREA_LEVEL_LABEL = {"province": "省", "city": "市", "county": "县（市、区）"}


def pct_text(share: float | None) -> str:
    """0.4667 → '46.7%' (one decimal, as everywhere in the report)."""
    return "—" if share is None else f"{share * 100:.1f}%"


def compare_word(share: float | None, province: float | None) -> str:
    """高于 / 低于 / 持平, compared at the one decimal the report shows."""
    if share is None or province is None:
        return ""
    a, b = round(share * 1000), round(province * 1000)
    return "高于" if a > b else "低于" if a < b else "持平"


def headline(summary: pd.DataFrame, types: tuple[BranchType, ...]) -> dict[str, Any]:
    """Seed-style sentences per city and for the province, plus the rows they quote: one
    clause per configured branch type with rated branches, in configuration order."""

    def row(level: str, code: str, btype: str) -> dict[str, Any] | None:
        hit = summary[
            (summary["area_level"] == level)
            & (summary["area_code"] == code)
            & (summary["branch_type"] == btype)
        ]
        return records(hit)[0] if len(hit) else None

    provinces = sorted(summary.loc[summary["area_level"] == "province", "area_code"].dropna().unique())
    cities = sorted(summary.loc[summary["area_level"] == "city", "area_code"].dropna().unique())

    def sentence(level: str, code: str) -> dict[str, Any]:
        who = "全省" if level == "province" else "全市"
        typed = [(t, row(level, code, t.name)) for t in types]
        allr = row(level, code, "全部")
        clauses = [
            f"{r['branches']}{t.wording}创成“五星”支部{r['five_star']}个、“四星”支部{r['four_star']}个"
            for t, r in typed
            if r
        ]
        kinds = "、".join(t.name for t, r in typed if r) or "、".join(t.name for t in types)
        share = allr["three_plus_share"] if allr else None
        prov = allr["province_three_plus_share"] if allr else None
        text_ = who + "，".join(clauses) + f"，“三星”以上{kinds}支部占比{pct_text(share)}"
        word = compare_word(share, prov)
        if level != "province" and word:
            text_ += (
                f"，与全省平均水平持平（{pct_text(prov)}）"
                if word == "持平"
                else f"，{word}全省平均水平（{pct_text(prov)}）"
            )
        text_ += "。"
        notes = []
        if level != "province":
            for label, r in ((t.name, r) for t, r in typed):
                if not r:
                    continue
                prov_code = r.get("province_code") or (provinces[0] if provinces else None)
                p = row("province", str(prov_code), label) if prov_code else None
                if p:
                    w = compare_word(r["five_star_share"], p["five_star_share"])
                    notes.append(
                        f"{label}“五星”支部占比{pct_text(r['five_star_share'])}，"
                        f"{'与全省持平' if w == '持平' else w + '全省'}（{pct_text(p['five_star_share'])}）"
                    )
        area = allr or next((r for _, r in typed if r), None) or {}
        return {
            "area_level": level,
            "area_code": code,
            "area_name": area.get("area_name"),
            "text": text_,
            "five_star_note": "；".join(notes) + ("。" if notes else ""),
            "branches": area.get("branches"),
            "registry_branches": area.get("registry_branches"),
            "three_plus_share": share,
            "province_three_plus_share": prov,
            "compare": word,
        }

    return {
        "province": [sentence("province", c) for c in provinces],
        "cities": [sentence("city", c) for c in cities],
    }


def type_order(types: tuple[BranchType, ...]) -> dict[str, int]:
    """全部 first, then the configured types in configuration order."""
    return {"全部": 0, **{t.name: i for i, t in enumerate(types, start=1)}}


def area_rows(summary: pd.DataFrame, types: tuple[BranchType, ...]) -> list[dict[str, Any]]:
    order = {"province": 0, "city": 1, "county": 2}
    torder = type_order(types)
    s = summary.copy()
    s["_o"] = s["area_level"].map(order)
    s["_t"] = s["branch_type"].map(torder)
    s = s.sort_values(["_o", "area_code", "_t"])
    s["area_level_label"] = s["area_level"].map(AREA_LEVEL_LABEL)
    s["compare"] = [
        "" if lv == "province" else compare_word(py_value(a), py_value(b))
        for lv, a, b in zip(
            s["area_level"], s["three_plus_share"], s["province_three_plus_share"], strict=True
        )
    ]
    if "three_plus" not in s.columns:
        s["three_plus"] = s["five_star"] + s["four_star"] + s["three_star"]
    return records(s.drop(columns=["_o", "_t"]))


def _rank(values: pd.Series) -> pd.Series:
    # Competition ranking: ties share the better rank (1, 2, 2, 4).
    return values.rank(method="min", ascending=False).astype("Int64")


def _counties(summary: pd.DataFrame) -> pd.DataFrame:
    return summary[(summary["area_level"] == "county") & (summary["branch_type"] == "全部")].copy()


def league_tables(
    cur: pd.DataFrame, prev_month: pd.DataFrame, prev_year: pd.DataFrame, ratings: pd.DataFrame
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    c = _counties(cur)
    pm, py = _counties(prev_month), _counties(prev_year)
    county_meta = ratings.groupby("county_code").agg(
        city_name=("city_name", "first"), as_of_period=("as_of_period", "max")
    )
    c["city_name"] = c["area_code"].map(county_meta["city_name"])
    c["as_of_period"] = c["area_code"].map(county_meta["as_of_period"])
    c = c.rename(columns={"area_code": "county_code", "area_name": "county_name"})

    def league(value: str, prev_col: str) -> list[dict[str, Any]]:
        t = c.copy()
        t["rank"] = _rank(t[value])
        for key, other in (("pm", pm), ("py", py)):
            o = other.set_index("area_code")
            if len(o):
                t[prev_col.format(key)] = t["county_code"].map(o[value]).astype(float)
                t[f"{key}_rank"] = t["county_code"].map(_rank(o[value]))
            else:
                t[prev_col.format(key)] = float("nan")
                t[f"{key}_rank"] = pd.Series(pd.NA, index=t.index, dtype="Int64")
            if value == "five_star":  # counts stay whole numbers
                t[prev_col.format(key)] = t[prev_col.format(key)].round().astype("Int64")
            t[f"{key}_delta"] = t[value] - t[prev_col.format(key)]
            t[f"{key}_rank_change"] = t[f"{key}_rank"] - t["rank"]  # positive = moved up
        t = t.sort_values(["rank", "county_code"])
        return records(t)

    three = league("three_plus_share", "{}_share")
    five = league("five_star", "{}_five_star")
    return three, five


def trend(history: pd.DataFrame, as_of: str, max_cities: int = 8) -> list[dict[str, Any]]:
    """≥三星 share by month: province by branch type, and each city (全部) when there are few.

    `history`: rpt_area_history of the TREND_MONTHS months up to `as_of` (`area_history`).
    """
    months = [month_add(as_of, -k) for k in range(TREND_MONTHS - 1, -1, -1)]
    present = set(history["period"])
    rows = []
    for m in months:
        if m not in present:
            continue
        s = history[history["period"] == m]
        n_cities = int(s.loc[s["area_level"] == "city", "area_code"].nunique()) if len(s) else 0
        for r in records(s):
            keep = r["area_level"] == "province" or (
                r["area_level"] == "city" and r["branch_type"] == "全部" and n_cities <= max_cities
            )
            if keep:
                rows.append({"period": m, **{k: r[k] for k in (
                    "area_level", "area_code", "area_name", "branch_type", "branches", "three_plus", "three_plus_share")}})  # fmt: skip
    return rows
