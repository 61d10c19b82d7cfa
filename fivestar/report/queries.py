"""The report's reads from the warehouse: `rpt_*` views only, as tidy pandas frames.

In: a warehouse Engine and a year / month. Out: frames with codes as text, booleans as
bool (SQLite gives 0/1) and plain Python values for the report's data dict (`records`):
ratings (`rpt_branch_rating`, or `rpt_rating_history` cut at a month by `snapshot_at`),
stars (`rpt_branch_star` / `rpt_star_history`), area counts (`rpt_area_summary` /
`rpt_area_history`), region names (`rpt_region`). The section modules run their own small
queries on other views through `read`.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from sqlalchemy import text
from sqlalchemy.engine import Engine


class ReportError(RuntimeError):
    """The report cannot be built (no data for that year, malformed as-of month, unknown branch)."""


def month_add(period: str, k: int) -> str:
    """'YYYY-MM' shifted by k months."""
    y, m = int(period[:4]), int(period[5:7])
    n = y * 12 + m - 1 + k
    return f"{n // 12:04d}-{n % 12 + 1:02d}"


def read(engine: Engine, sql: str, **params: Any) -> pd.DataFrame:
    """A query's rows as a DataFrame (`:name` parameters)."""
    with engine.connect() as conn:
        return pd.read_sql(text(sql), conn, params=params)


def py_value(v: Any) -> Any:
    """A plain Python value for the data dict: NaN/NA → None, numpy scalars → int/float/bool."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if hasattr(v, "item") and not isinstance(v, str | bytes):
        v = v.item()
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


def records(df: pd.DataFrame, cols: list[str] | None = None) -> list[dict[str, Any]]:
    """The frame's rows as dicts of plain values (only `cols`, in that order, when given)."""
    if cols is not None:
        df = df.reindex(columns=cols)
    return [{k: py_value(v) for k, v in r.items()} for r in df.to_dict("records")]


def as_bool(s: pd.Series) -> pd.Series:
    # SQLite returns 0/1, PostgreSQL True/False.
    return s.fillna(False).astype(int).astype(bool)


def as_codes(df: pd.DataFrame, *cols: str) -> pd.DataFrame:
    """Code columns as text (None where missing), in place; returns the frame."""
    for c in cols:
        if c in df.columns:
            df[c] = df[c].map(
                lambda v: None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
            )
    return df


# ---------------------------------------------------------------- ratings and stars
RATING_COLS = [
    "year", "as_of_period", "is_final", "branch_code", "branch_name", "branch_type", "township",
    "county_code", "county_name", "city_code", "city_name", "star_level", "province_code",
    "months_accepted",
]  # fmt: skip
STAR_COLS = [
    "year", "branch_code", "star_code", "star_name", "indicator_score", "points_score",
    "total_score", "awarded", "vetoed", "reason", "as_of_period", "gate_failed",
]  # fmt: skip


def _ratings(df: pd.DataFrame) -> pd.DataFrame:
    df = df.reindex(columns=RATING_COLS)
    as_codes(df, "branch_code", "county_code", "city_code", "province_code")
    df["year"] = df["year"].astype(int)
    df["star_level"] = df["star_level"].astype(int)
    df["is_final"] = as_bool(df["is_final"])
    return df.reset_index(drop=True)


def _stars(df: pd.DataFrame) -> pd.DataFrame:
    df = df.reindex(columns=STAR_COLS)
    as_codes(df, "branch_code")
    for c in ("awarded", "vetoed", "gate_failed"):
        df[c] = as_bool(df[c])
    df["total_score"] = df["total_score"].astype(float)
    return df


def view_ratings(engine: Engine, year: int) -> pd.DataFrame:
    """rpt_branch_rating of one year."""
    return _ratings(read(engine, "SELECT * FROM rpt_branch_rating WHERE year = :y", y=year))


def load_history(engine: Engine, since: str, until: str) -> pd.DataFrame:
    """rpt_rating_history with as_of_period in [since, until] (shaped like rpt_branch_rating)."""
    return _ratings(
        read(
            engine,
            "SELECT * FROM rpt_rating_history WHERE as_of_period >= :since AND as_of_period <= :until",
            since=since,
            until=until,
        )
    )


def snapshot_at(history: pd.DataFrame, cutoff: str) -> pd.DataFrame:
    """The ratings as they stood at `cutoff`: per county, its latest as-of month of that year ≤ cutoff."""
    h = history[(history["year"] == int(cutoff[:4])) & (history["as_of_period"] <= cutoff)]
    if h.empty:
        return h.reset_index(drop=True)
    latest = h.groupby("county_code")["as_of_period"].transform("max")
    return h[h["as_of_period"] == latest].reset_index(drop=True)


def view_stars(engine: Engine, year: int) -> pd.DataFrame:
    """rpt_branch_star of one year."""
    return _stars(read(engine, "SELECT * FROM rpt_branch_star WHERE year = :y", y=year))


def history_stars(engine: Engine, ratings: pd.DataFrame) -> pd.DataFrame:
    """rpt_star_history rows of exactly the as-of ratings in `ratings` (a snapshot)."""
    if ratings.empty:
        return _stars(pd.DataFrame(columns=["year", "as_of_period", "branch_code"]))
    df = read(
        engine,
        "SELECT * FROM rpt_star_history WHERE year = :y AND as_of_period <= :until",
        y=int(ratings["year"].iloc[0]),
        until=str(ratings["as_of_period"].max()),
    )
    keys = ratings[["as_of_period", "branch_code"]]
    return _stars(df).merge(keys, on=["as_of_period", "branch_code"], how="inner")


# ---------------------------------------------------------------- area counts
def view_area_summary(engine: Engine, year: int) -> pd.DataFrame:
    """rpt_area_summary of one year."""
    df = read(engine, "SELECT * FROM rpt_area_summary WHERE year = :y", y=year)
    return as_codes(df, "area_code", "province_code")


_LEVEL_ORDER = {"county": 0, "city": 1, "province": 2}


def area_history(engine: Engine, since: str, until: str) -> pd.DataFrame:
    """rpt_area_history for the months in [since, until], by month, then county, city and
    province rows, each by area code and branch type."""
    df = read(
        engine,
        "SELECT * FROM rpt_area_history WHERE period >= :since AND period <= :until",
        since=since,
        until=until,
    )
    as_codes(df, "area_code", "province_code")
    order = pd.DataFrame(
        {
            "p": df["period"],
            "l": df["area_level"].map(_LEVEL_ORDER),
            "c": df["area_code"],
            "t": df["branch_type"],
        }
    )
    return df.loc[order.sort_values(["p", "l", "c", "t"], kind="mergesort").index].reset_index(drop=True)


def area_at(history: pd.DataFrame, cutoff: str) -> pd.DataFrame:
    """The area counts as they stood at `cutoff`: the latest month ≤ cutoff of that year in
    `history` (an `area_history` frame); empty when that year has none."""
    months = history.loc[(history["year"] == int(cutoff[:4])) & (history["period"] <= cutoff), "period"]
    if months.empty:
        return history.iloc[0:0].drop(columns="period").reset_index(drop=True)
    at = history[history["period"] == months.max()]
    return at.drop(columns="period").reset_index(drop=True)


def region_names(engine: Engine) -> dict[str, str]:
    """Registry code → name (rpt_region)."""
    regions = read(engine, "SELECT code, name FROM rpt_region")
    return dict(zip(regions["code"].astype(str), regions["name"], strict=True))
