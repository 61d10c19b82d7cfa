"""The leaders' report as data: every number of the HTML and XLSX report, from the warehouse.

In: a warehouse Engine, a year, an optional as-of month and the rulebook (star list,
award threshold, incentive amounts). Out: `build_report_data(...)`, a plain dict of
JSON-able values (tables are lists of row dicts keyed like `tables.TABLES`), so tests
can recompute every number from the `rpt_*` views and compare.

Sources (also listed in the report's 数据来源 note, `SOURCES`):
- current ratings, stars, area counts: the views `rpt_branch_rating`, `rpt_branch_star`,
  `rpt_area_summary` (they hold each county's latest accepted month of the year);
- previous month and the monthly trend: the derived table `branch_rating` (every as-of
  month), joined to `roster` and `registry_region` exactly as `rpt_branch_rating` does,
  then cut at a month: per county the latest as-of month of that year up to the cut.
  With `--as-of` earlier than the views, the current ratings come from there too (stars
  from `branch_star`);
- previous year: `rpt_area_summary` / `rpt_branch_rating` of year − 1 (its final rating
  once December was accepted);
- changes: `branch_change` (no view carries them); near misses: `rpt_branch_star`;
- points: `branch_points` (participation), `rpt_points_tally` (top subjects, redemption);
- incentives: `rpt_branch_rating` (levels, earlier years' 五星) × `config/rulebook.yaml`;
- data quality: `registry_region` counties, `rpt_submission`, `rpt_dq_issue`.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

import pandas as pd
from sqlalchemy import text
from sqlalchemy.engine import Engine

from fivestar import cells
from fivestar.config import Rulebook
from fivestar.report.tables import LEVEL_NAME, LEVELS
from fivestar.status import ACCEPTED_STATUSES, status_zh

NEAR_MISS_MARGIN = 5.0  # points below the award threshold that count as "差一步"
TREND_MONTHS = 12
LIST_LIMIT = 10  # top households / members
AREA_LEVEL_LABEL = {"province": "省", "city": "市", "county": "县（市、区）"}
PERIOD_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")

SOURCES: dict[str, str] = {
    "headline": "rpt_area_summary（本年各县最新有效月份的评定）",
    "league": "rpt_area_summary（本期、上年）；上月：branch_rating 逐月评定（按 rpt_branch_rating 同样方式关联 roster、registry_region），截至上月各县最新有效月份",
    "stars": "rpt_branch_star 与 rpt_branch_rating",
    "changes": "branch_change（较上年终评、较上月评定；本期评定所在月份）与 rpt_branch_rating",
    "near_misses": "rpt_branch_star（未获得、未被否决且得分不低于达标线减5分的星）",
    "points": "branch_points（各县评定所在月份的参与情况）、rpt_points_tally（截至本期各对象最近一月的累计值；本年兑换合计）",
    "incentives": "rpt_branch_rating（本期星级、往年是否曾为五星）× config/rulebook.yaml incentives",
    "quality": "registry_region（在册县）、rpt_submission、rpt_dq_issue（本期各县最新版本）",
    "trend": "branch_rating 逐月评定（同上月口径），最后一点即本期",
}


class ReportError(RuntimeError):
    """The report cannot be built (no data for that year, malformed as-of month, unknown branch)."""


# ---------------------------------------------------------------- small helpers
def month_add(period: str, k: int) -> str:
    """'YYYY-MM' shifted by k months."""
    y, m = int(period[:4]), int(period[5:7])
    n = y * 12 + m - 1 + k
    return f"{n // 12:04d}-{n % 12 + 1:02d}"


def _read(engine: Engine, sql: str, **params: Any) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(text(sql), conn, params=params)


def _py(v: Any) -> Any:
    """A plain Python value for the data dict: NaN/NA → None, numpy scalars → int/float/bool."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if hasattr(v, "item") and not isinstance(v, str | bytes):
        v = v.item()
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


def _records(df: pd.DataFrame, cols: list[str] | None = None) -> list[dict[str, Any]]:
    if cols is not None:
        df = df.reindex(columns=cols)
    return [{k: _py(v) for k, v in r.items()} for r in df.to_dict("records")]


def _bool(s: pd.Series) -> pd.Series:
    # SQLite returns 0/1, PostgreSQL True/False.
    return s.fillna(False).astype(int).astype(bool)


def _codes(df: pd.DataFrame, *cols: str) -> pd.DataFrame:
    for c in cols:
        if c in df.columns:
            df[c] = df[c].map(
                lambda v: None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
            )
    return df


def pct_text(share: float | None) -> str:
    """0.4667 → '46.7%' (one decimal, as everywhere in the report)."""
    return "—" if share is None else f"{share * 100:.1f}%"


def compare_word(share: float | None, province: float | None) -> str:
    """高于 / 低于 / 持平, compared at the one decimal the report shows."""
    if share is None or province is None:
        return ""
    a, b = round(share * 1000), round(province * 1000)
    return "高于" if a > b else "低于" if a < b else "持平"


# ---------------------------------------------------------------- ratings: views and history
RATING_COLS = [
    "year", "as_of_period", "is_final", "branch_code", "branch_name", "branch_type", "township",
    "county_code", "county_name", "city_code", "city_name", "star_level", "province_code",
    "months_accepted",
]  # fmt: skip

# Mirrors rpt_branch_rating (sql/002_views.sql) without its "latest month" filter.
_HISTORY_SQL = """
SELECT br.year, br.as_of_period, br.is_final, br.branch_code, r.branch_name,
       COALESCE(br.branch_type, r.branch_type) AS branch_type, r.township,
       br.county_code, co.name AS county_name, co.parent_code AS city_code, ci.name AS city_name,
       br.star_level, ci.parent_code AS province_code, br.months_accepted
FROM branch_rating br
JOIN roster r
    ON r.county_code = br.county_code AND r.period = br.as_of_period
    AND r.version = br.as_of_version AND r.branch_code = br.branch_code
LEFT JOIN registry_region co ON co.code = br.county_code AND co.level = 'county'
LEFT JOIN registry_region ci ON ci.code = co.parent_code AND ci.level = 'city'
WHERE br.as_of_period >= :since AND br.as_of_period <= :until
"""


def _norm_ratings(df: pd.DataFrame) -> pd.DataFrame:
    df = df.reindex(columns=RATING_COLS)
    _codes(df, "branch_code", "county_code", "city_code", "province_code")
    df["year"] = df["year"].astype(int)
    df["star_level"] = df["star_level"].astype(int)
    df["is_final"] = _bool(df["is_final"])
    return df.reset_index(drop=True)


def view_ratings(engine: Engine, year: int) -> pd.DataFrame:
    """rpt_branch_rating of one year."""
    return _norm_ratings(_read(engine, "SELECT * FROM rpt_branch_rating WHERE year = :y", y=year))


def load_history(engine: Engine, since: str, until: str) -> pd.DataFrame:
    """Every as-of rating with as_of_period in [since, until], shaped like rpt_branch_rating."""
    return _norm_ratings(_read(engine, _HISTORY_SQL, since=since, until=until))


def snapshot_at(history: pd.DataFrame, cutoff: str) -> pd.DataFrame:
    """The ratings as they stood at `cutoff`: per county, its latest as-of month of that year ≤ cutoff."""
    h = history[(history["year"] == int(cutoff[:4])) & (history["as_of_period"] <= cutoff)]
    if h.empty:
        return h.reset_index(drop=True)
    latest = h.groupby("county_code")["as_of_period"].transform("max")
    return h[h["as_of_period"] == latest].reset_index(drop=True)


def registry_counts(engine: Engine) -> pd.DataFrame:
    """Registered branches per area and branch type (rpt_area_summary.registry_branches)."""
    reg = _read(engine, "SELECT code, level, parent_code, branch_type FROM registry_region")
    _codes(reg, "code", "parent_code")
    parent = reg.set_index("code")["parent_code"].to_dict()
    level = reg.set_index("code")["level"].to_dict()
    b = reg[(reg["level"] == "branch") & reg["parent_code"].map(lambda c: level.get(c) == "county")].copy()
    b["county_code"] = b["parent_code"]
    b["city_code"] = b["county_code"].map(
        lambda c: parent.get(c) if level.get(parent.get(c)) == "city" else None
    )
    b["province_code"] = b["city_code"].map(lambda c: parent.get(c) if c else None)
    typed = pd.concat([b[b["branch_type"].notna() & (b["branch_type"] != "")], b.assign(branch_type="全部")])
    parts = []
    for lv, col in (("county", "county_code"), ("city", "city_code"), ("province", "province_code")):
        g = typed[typed[col].notna()].groupby([col, "branch_type"]).size().rename("registry_branches")
        g = g.reset_index().rename(columns={col: "area_code"})
        g["area_level"] = lv
        parts.append(g)
    return pd.concat(parts, ignore_index=True)


def summarise_areas(
    ratings: pd.DataFrame, names: dict[str, str], registry: pd.DataFrame | None = None
) -> pd.DataFrame:
    """rpt_area_summary computed in pandas from a ratings frame (for months the view does not hold)."""
    cols = [
        "year", "area_level", "area_code", "area_name", "branch_type", "branches", "registry_branches",
        *[c for _, _, c in LEVELS], "three_plus", "three_plus_share", "five_star_share",
        "province_three_plus_share",
    ]  # fmt: skip
    if ratings.empty:
        return pd.DataFrame(columns=cols)
    typed = pd.concat([ratings, ratings.assign(branch_type="全部")], ignore_index=True)
    parts = []
    for level, code_col in (("county", "county_code"), ("city", "city_code"), ("province", "province_code")):
        d = typed[typed[code_col].notna()]
        if d.empty:
            continue
        # One pass: branches per (year, area, type) and star level, spread into the level columns.
        by_level = d.groupby(["year", code_col, "branch_type", "star_level"]).size().unstack(fill_value=0)
        out = pd.DataFrame(index=by_level.index)
        for lv, _, col in LEVELS:
            out[col] = by_level[lv].astype(int) if lv in by_level.columns else 0
        out["branches"] = by_level.sum(axis=1).astype(int)
        out["three_plus"] = by_level[[c for c in by_level.columns if c >= 3]].sum(axis=1).astype(int)
        out = out.reset_index().rename(columns={code_col: "area_code"})
        out["area_level"] = level
        parts.append(out)
    s = pd.concat(parts, ignore_index=True)
    s["area_name"] = s["area_code"].map(names)
    if registry is not None:
        s = s.merge(registry, on=["area_level", "area_code", "branch_type"], how="left")
        s["registry_branches"] = s["registry_branches"].fillna(0).astype(int)
    s["three_plus_share"] = s["three_plus"] / s["branches"]
    s["five_star_share"] = s["five_star"] / s["branches"]
    prov = s[s["area_level"] == "province"].set_index(["year", "branch_type"])["three_plus_share"]
    s["province_three_plus_share"] = [
        prov.get((y, t)) for y, t in zip(s["year"], s["branch_type"], strict=True)
    ]
    return s.reindex(columns=cols)


def view_area_summary(engine: Engine, year: int) -> pd.DataFrame:
    df = _read(engine, "SELECT * FROM rpt_area_summary WHERE year = :y", y=year)
    return _codes(df, "area_code", "province_code")


def view_stars(engine: Engine, year: int) -> pd.DataFrame:
    df = _read(engine, "SELECT * FROM rpt_branch_star WHERE year = :y", y=year)
    return _norm_stars(df)


def history_stars(engine: Engine, ratings: pd.DataFrame) -> pd.DataFrame:
    """branch_star rows of exactly the as-of ratings in `ratings` (a snapshot from history)."""
    if ratings.empty:
        return _norm_stars(pd.DataFrame(columns=["year", "as_of_period", "branch_code"]))
    year = int(ratings["year"].iloc[0])
    df = _read(
        engine,
        "SELECT * FROM branch_star WHERE year = :y AND as_of_period <= :until",
        y=year,
        until=str(ratings["as_of_period"].max()),
    )
    df = _norm_stars(df)
    keys = ratings[["as_of_period", "branch_code"]]
    return df.merge(keys, on=["as_of_period", "branch_code"], how="inner")


def _norm_stars(df: pd.DataFrame) -> pd.DataFrame:
    cols = [
        "year", "branch_code", "star_code", "star_name", "indicator_score", "points_score",
        "total_score", "awarded", "vetoed", "reason", "as_of_period", "gate_failed",
    ]  # fmt: skip
    df = df.reindex(columns=cols)
    _codes(df, "branch_code")
    for c in ("awarded", "vetoed", "gate_failed"):
        df[c] = _bool(df[c])
    df["total_score"] = df["total_score"].astype(float)
    return df


# ---------------------------------------------------------------- sections
def _headline(summary: pd.DataFrame) -> dict[str, Any]:
    """Seed-style sentences per city and for the province, plus the rows they quote."""

    def row(level: str, code: str, btype: str) -> dict[str, Any] | None:
        hit = summary[
            (summary["area_level"] == level)
            & (summary["area_code"] == code)
            & (summary["branch_type"] == btype)
        ]
        return _records(hit)[0] if len(hit) else None

    provinces = sorted(summary.loc[summary["area_level"] == "province", "area_code"].dropna().unique())
    cities = sorted(summary.loc[summary["area_level"] == "city", "area_code"].dropna().unique())

    def sentence(level: str, code: str) -> dict[str, Any]:
        who = "全省" if level == "province" else "全市"
        vil, com, allr = row(level, code, "村"), row(level, code, "社区"), row(level, code, "全部")
        clauses = []
        if vil:
            clauses.append(
                f"{vil['branches']}个村创成“五星”支部{vil['five_star']}个、“四星”支部{vil['four_star']}个"
            )
        if com:
            clauses.append(
                f"{com['branches']}个城市社区创成“五星”支部{com['five_star']}个、“四星”支部{com['four_star']}个"
            )
        kinds = "、".join(k for k, r in (("村", vil), ("社区", com)) if r) or "村、社区"
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
            for label, r in (("村", vil), ("社区", com)):
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
        area = allr or vil or com or {}
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


def _area_rows(summary: pd.DataFrame) -> list[dict[str, Any]]:
    order = {"province": 0, "city": 1, "county": 2}
    torder = {"全部": 0, "村": 1, "社区": 2}
    s = summary.copy()
    s["_o"] = s["area_level"].map(order)
    s["_t"] = s["branch_type"].map(torder)
    s = s.sort_values(["_o", "area_code", "_t"])
    s["area_level_label"] = s["area_level"].map(AREA_LEVEL_LABEL)
    s["compare"] = [
        "" if lv == "province" else compare_word(_py(a), _py(b))
        for lv, a, b in zip(
            s["area_level"], s["three_plus_share"], s["province_three_plus_share"], strict=True
        )
    ]
    if "three_plus" not in s.columns:
        s["three_plus"] = s["five_star"] + s["four_star"] + s["three_star"]
    return _records(s.drop(columns=["_o", "_t"]))


def _rank(values: pd.Series) -> pd.Series:
    # Competition ranking: ties share the better rank (1, 2, 2, 4).
    return values.rank(method="min", ascending=False).astype("Int64")


def _counties(summary: pd.DataFrame) -> pd.DataFrame:
    return summary[(summary["area_level"] == "county") & (summary["branch_type"] == "全部")].copy()


def _league(
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
        return _records(t)

    three = league("three_plus_share", "{}_share")
    five = league("five_star", "{}_five_star")
    return three, five


def _star_list(rb: Rulebook, stars: pd.DataFrame) -> list[tuple[str, str]]:
    out = [(str(r.code), str(r.name)) for r in rb.stars.itertuples()]
    known = {c for c, _ in out}
    extra = stars.loc[~stars["star_code"].isin(known), ["star_code", "star_name"]].drop_duplicates(
        "star_code"
    )
    return out + [(str(a), str(b)) for a, b in extra.itertuples(index=False)]


def _per_star(
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


def _changes(
    engine: Engine, year: int, ratings: pd.DataFrame, star_names: dict[str, str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    ch = _codes(_read(engine, "SELECT * FROM branch_change WHERE year = :y", y=year), "branch_code")
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
        r: dict[str, Any] = {"county_code": county, "county_name": _py(g["county_name"].iloc[0])}
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
    return summary, _records(changed, cols)


def _near_misses(
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
            "county_name": _py(g["county_name"].iloc[0]),
            "branches": int(g["branch_code"].nunique()),
            "stars": len(g),
        }
        for c, g in near.groupby("county_code", sort=True)
    ]
    cols = [
        "county_code", "county_name", "branch_code", "branch_name", "branch_type", "star_level",
        "star_code", "star_name", "total_score", "gap", "gate_failed", "reason",
    ]  # fmt: skip
    return summary, _records(near, cols)


def _points(engine: Engine, year: int, as_of: str, ratings: pd.DataFrame) -> dict[str, Any]:
    start = f"{year:04d}-01"
    county_names = ratings.groupby("county_code")["county_name"].first().to_dict()
    branch_names = ratings.set_index("branch_code")["branch_name"].to_dict()
    county_as_of = ratings.groupby("county_code")["as_of_period"].max()

    bp = _read(engine, "SELECT * FROM branch_points WHERE period >= :a AND period <= :b", a=start, b=as_of)
    _codes(bp, "county_code", "branch_code")
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
                "avg_participation_rate": _py(pd.to_numeric(g["participation_rate"]).mean())
                if len(g)
                else None,
                "avg_household_points": _py(pd.to_numeric(g["avg_household_points"]).mean())
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
        df = _codes(
            _read(engine, top_sql, st=subject_type, b=as_of, n=LIST_LIMIT), "branch_code", "county_code"
        )
        df["subject_id"] = df["subject_id"].map(_safe_id)
        df["rank"] = range(1, len(df) + 1)
        df["county_name"] = df["county_code"].map(county_names)
        df["branch_name"] = df["branch_code"].map(branch_names)
        return _records(df)

    red = _read(
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
    _codes(red, "county_code")
    torder = {"户": 0, "党员": 1, "支部": 2}
    red["_t"] = red["subject_type"].map(torder).fillna(9)
    red = red.sort_values(["county_code", "_t"])
    red["county_name"] = red["county_code"].map(county_names)
    return {
        "participation": participation,
        "top_households": top("户"),
        "top_members": top("党员"),
        "redemption": _records(red.drop(columns="_t")),
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


def _incentives(engine: Engine, year: int, ratings: pd.DataFrame, rb: Rulebook) -> dict[str, Any]:
    """Secretary pay = monthly amount of the level × months of the year so far (the as-of month
    number; 12 once final) and the one-time award for branches at 五星 for the first time."""
    amounts = incentive_amounts(rb)
    pay = amounts["secretary_monthly_pay"]
    earlier = _read(
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
                    "area_name": _py(g[name_col].iloc[0]) if name_col else None,
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


def _quality(engine: Engine, period: str, ratings: pd.DataFrame) -> dict[str, Any]:
    reg = _codes(
        _read(engine, "SELECT code, name, parent_code FROM registry_region WHERE level = 'county'"),
        "code",
        "parent_code",
    )
    cities = _read(engine, "SELECT code, name FROM registry_region WHERE level = 'city'")
    city_names = dict(zip(cities["code"].astype(str), cities["name"], strict=True))
    sub = _codes(_read(engine, "SELECT * FROM rpt_submission WHERE period = :p", p=period), "county_code")
    rating_as_of = ratings.groupby("county_code")["as_of_period"].max().to_dict()
    rows = []
    for c in sorted(set(reg["code"]) | set(sub["county_code"])):
        g = sub[sub["county_code"] == c].sort_values("version")
        meta = reg[reg["code"] == c]
        name = _py(meta["name"].iloc[0]) if len(meta) else _py(g["county_name"].iloc[0]) if len(g) else None
        r: dict[str, Any] = {
            "county_code": c,
            "county_name": name,
            "city_name": city_names.get(str(meta["parent_code"].iloc[0])) if len(meta) else None,
            "registered": bool(len(meta)),
            "versions": len(g),
            "rating_as_of": rating_as_of.get(c),
        }
        if g.empty:
            r.update(state="未报送", latest_status=None, latest_status_label="", current_version=None,
                     errors=None, warnings=None, file_name="")  # fmt: skip
        else:
            last = g.iloc[-1]
            acc = g[g["status"].isin(ACCEPTED_STATUSES)]
            cur = acc.iloc[-1] if len(acc) else None
            status = str(last["status"])
            if status == "rejected":
                state = (
                    f"最新版本被退回，沿用v{int(cur['version'])}"
                    if cur is not None
                    else "被退回（无有效数据）"
                )
            else:
                state = status_zh(str(cur["status"]) if cur is not None else status)
            r.update(
                state=state,
                latest_status=status,
                latest_status_label=status_zh(status),
                current_version=int(cur["version"]) if cur is not None else None,
                current_status=str(cur["status"]) if cur is not None else None,
                errors=int(last["errors"]),
                warnings=int(last["warnings"]),
                file_name=_py(last["file_name"]),
            )
        rows.append(r)
    registered = [r for r in rows if r["registered"]]
    summary = {
        "period": period,
        "registered": len(registered),
        "submitted": sum(1 for r in registered if r["versions"]),
        "missing": sum(1 for r in registered if not r["versions"]),
        "accepted": sum(1 for r in rows if r.get("current_version") is not None),
        "with_warnings": sum(1 for r in rows if r.get("current_status") == "accepted_with_warnings"),
        "rejected": sum(1 for r in rows if r.get("latest_status") == "rejected"),
        "unregistered": sum(1 for r in rows if not r["registered"]),
        "missing_names": [r["county_name"] or r["county_code"] for r in registered if not r["versions"]],
        "rejected_names": [
            r["county_name"] or r["county_code"] for r in rows if r.get("latest_status") == "rejected"
        ],
    }
    # Findings of each county's latest version of the period.
    iss = _codes(
        _read(
            engine,
            """
            SELECT county_code, version, severity, rule, COUNT(*) AS n, MIN(message) AS example
            FROM rpt_dq_issue WHERE period = :p
            GROUP BY county_code, version, severity, rule
            """,
            p=period,
        ),
        "county_code",
    )
    latest_v = sub.groupby("county_code")["version"].max().astype(int).to_dict()
    iss = iss[[latest_v.get(c) == int(v) for c, v in zip(iss["county_code"], iss["version"], strict=True)]]
    rules = []
    for (sev, rule), g in iss.groupby(["severity", "rule"], sort=False):
        rules.append(
            {
                "severity": sev,
                "severity_label": "错误" if sev == "error" else "提示",
                "rule": rule,
                "count": int(g["n"].sum()),
                "counties": int(g["county_code"].nunique()),
                "example": cells.mask_ids_in(str(g["example"].iloc[0] or "")),
            }
        )
    rules.sort(key=lambda r: (r["severity"] != "error", -r["count"], r["rule"]))
    return {"summary": summary, "rows": rows, "rules": rules}


def _trend(
    history: pd.DataFrame, as_of: str, names: dict[str, str], max_cities: int = 8
) -> list[dict[str, Any]]:
    """≥三星 share by month: province by branch type, and each city (全部) when there are few."""
    months = [month_add(as_of, -k) for k in range(TREND_MONTHS - 1, -1, -1)]
    present = set(history["as_of_period"])
    rows = []
    for m in months:
        if m not in present:
            continue
        s = summarise_areas(snapshot_at(history, m), names)
        n_cities = int((s["area_level"] == "city").sum() / 3) if len(s) else 0
        for r in _records(s):
            keep = r["area_level"] == "province" or (
                r["area_level"] == "city" and r["branch_type"] == "全部" and n_cities <= max_cities
            )
            if keep:
                rows.append({"period": m, **{k: r[k] for k in (
                    "area_level", "area_code", "area_name", "branch_type", "branches", "three_plus", "three_plus_share")}})  # fmt: skip
    return rows


# ---------------------------------------------------------------- entry point
def resolve_year(engine: Engine, year: int | None, as_of: str | None) -> int:
    if as_of is not None and not PERIOD_RE.match(as_of):
        raise ReportError(f"--as-of 应为 YYYY-MM 格式：{as_of!r}")
    if as_of is not None and year is not None and int(as_of[:4]) != year:
        raise ReportError(f"--as-of {as_of} 不在 {year} 年内")
    if year is None and as_of is not None:
        year = int(as_of[:4])
    if year is None:
        got = _read(engine, "SELECT MAX(year) AS y FROM rpt_branch_rating")["y"].iloc[0]
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
    ratings, stars, mode = current_ratings(engine, year, as_of)
    period = str(ratings["as_of_period"].max())
    regions = _read(engine, "SELECT code, name FROM registry_region")
    names = dict(zip(regions["code"].astype(str), regions["name"], strict=True))

    if mode == "views":
        summary = view_area_summary(engine, year)
    else:
        summary = summarise_areas(ratings, names, registry_counts(engine))
    history = load_history(engine, month_add(period, -(TREND_MONTHS - 1)), period)
    pm_cut = month_add(period, -1)  # within `history` (it starts TREND_MONTHS - 1 months back)
    prev_month = summarise_areas(snapshot_at(history, pm_cut), names)
    prev_year = view_area_summary(engine, year - 1)
    prev_year_as_of = _read(
        engine, "SELECT MAX(as_of_period) AS p FROM rpt_branch_rating WHERE year = :y", y=year - 1
    )["p"].iloc[0]

    three, five = _league(summary, prev_month, prev_year, ratings)
    star_list = _star_list(rb, stars)
    star_names = dict(star_list)
    changes_summary, changes = _changes(engine, year, ratings, star_names)
    near_summary, near = _near_misses(ratings, stars, float(rb.settings.get("award_threshold", 80)))

    subs = _read(engine, "SELECT MAX(period) AS p FROM rpt_submission WHERE period >= :a AND period <= :b",
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
        "prev_year_as_of": _py(prev_year_as_of),
        "dq_period": dq_period,
        "generated_at": dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "branches": len(ratings),
        "headline": _headline(summary),
        "area_summary": _area_rows(summary),
        "league_three_plus": three,
        "league_five_star": five,
        "stars": star_list,
        "per_star": _per_star(ratings, stars, star_list, names),
        "changes_summary": changes_summary,
        "changes": changes,
        "near_miss_threshold": float(rb.settings.get("award_threshold", 80)) - NEAR_MISS_MARGIN,
        "near_miss_margin": NEAR_MISS_MARGIN,
        "near_misses_summary": near_summary,
        "near_misses": near,
        "points": _points(engine, year, period, ratings),
        "incentives": _incentives(engine, year, ratings, rb),
        "quality": _quality(engine, dq_period, ratings),
        "trend": _trend(history, period, names),
        "level_names": {str(k): v for k, v in LEVEL_NAME.items()},
        "sources": SOURCES,
    }
