"""Report section 报送情况: did the counties report on time, who is still missing or late.

In: `rpt_completeness` (one row per registered county and month, as the latest run
computed it) and `rpt_region` (city names), for the months of the report's year whose
deadline had passed at that run. Out: the `completeness` part of the report's data dict:
a summary in plain Chinese, one row per province / city / county with its on-time rate,
and one row per county-month still without an accepted version or accepted late (days
late, how many versions it took). Reads views only.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy.engine import Engine

from fivestar.report.queries import py_value, read
from fivestar.report.table_specs import Col

TABLES: dict[str, tuple[str, tuple[Col, ...]]] = {
    "completeness_areas": (
        "报送情况",
        (
            Col("area_level_label", "层级"),
            Col("area_name", "地区"),
            Col("due", "应报（县·月）", "int"),
            Col("accepted", "已通过", "int"),
            Col("on_time", "按时报送", "int"),
            Col("on_time_rate", "按时报送率", "pct"),
            Col("late", "逾期报送", "int"),
            Col("missing", "仍未通过", "int"),
            Col("avg_days_late", "平均逾期天数", "num"),
            Col("avg_versions", "平均第几版通过", "num"),
        ),
    ),
    "completeness_gaps": (
        "缺报与逾期",
        (
            Col("period", "月份", "code"),
            Col("county_code", "代码", "code"),
            Col("county_name", "县（市、区）"),
            Col("city_name", "所属市"),
            Col("state", "情况"),
            Col("days_late", "逾期天数", "int"),
            Col("accepted_version", "第几版通过", "int"),
            Col("versions", "收到版本数", "int"),
            Col("closed_label", "本月"),
        ),
    ),
}
LEVEL_LABELS = {"province": "全省", "city": "市", "county": "县（市、区）"}
SOURCE = "rpt_completeness（已到截止时间的月份，各县是否报送、是否按时、逾期天数）"


def _due(engine: Engine, year: int) -> pd.DataFrame:
    df = read(
        engine,
        "SELECT * FROM rpt_completeness WHERE period >= :a AND period <= :b",
        a=f"{year:04d}-01",
        b=f"{year:04d}-12",
    )
    if df.empty:
        return df
    for c in ("deadline", "as_of"):
        df[c] = pd.to_datetime(df[c])
    df = df[df["deadline"] < df["as_of"]].copy()  # months whose deadline had passed at the run
    for c in ("on_time", "closed"):
        df[c] = df[c].astype(bool)
    df["accepted"] = df["accepted_version"].notna()
    df["county_code"] = df["county_code"].astype(str)
    df["city_code"] = df["city_code"].astype(str)
    return df


def _area(level: str, code: str, name: str, g: pd.DataFrame) -> dict[str, Any]:
    acc = g[g["accepted"]]
    late = acc[~acc["on_time"]]
    return {
        "area_level": level,
        "area_level_label": LEVEL_LABELS[level],
        "area_code": code,
        "area_name": name,
        "due": len(g),
        "accepted": len(acc),
        "on_time": int(g["on_time"].sum()),
        "on_time_rate": (float(g["on_time"].sum()) / len(g)) if len(g) else None,
        "late": len(late),
        "missing": len(g) - len(acc),
        "avg_days_late": py_value(late["days_late"].astype(float).mean()) if len(late) else None,
        "avg_versions": py_value(acc["accepted_version"].astype(float).mean()) if len(acc) else None,
    }


def _state(r: pd.Series) -> str:
    if r["accepted"]:
        return f"逾期 {int(r['days_late'])} 天报送"
    if r["status"] == "rejected":
        return f"已报 {int(r['versions'])} 版均被退回，尚未改正"
    return "未报送"


def completeness(engine: Engine, year: int) -> dict[str, Any]:
    """The 报送情况 part of the report data (see the module doc)."""
    df = _due(engine, year)
    if df.empty:
        return {"summary": "", "areas": [], "gaps": [], "periods": []}
    cities = read(engine, "SELECT code, name FROM rpt_region WHERE level = 'city'")
    city_names = dict(zip(cities["code"].astype(str), cities["name"], strict=True))
    df["city_name"] = df["city_code"].map(city_names)
    areas = [_area("province", "", "全省", df)]
    for city, g in df.groupby("city_code", sort=True):
        areas.append(_area("city", city, city_names.get(city) or city, g))
        for county, h in g.groupby("county_code", sort=True):
            areas.append(_area("county", county, str(h["county_name"].iloc[0] or county), h))
    gaps_df = df[~df["accepted"] | ~df["on_time"]].sort_values(["period", "county_code"])
    gaps = [
        {
            "period": r["period"],
            "county_code": r["county_code"],
            "county_name": py_value(r["county_name"]),
            "city_name": py_value(r["city_name"]),
            "state": _state(r),
            "days_late": py_value(r["days_late"]) if r["accepted"] else None,
            "accepted_version": py_value(r["accepted_version"]),
            "versions": int(r["versions"]),
            "closed_label": "已关闭" if r["closed"] else "",
        }
        for _, r in gaps_df.iterrows()
    ]
    prov = areas[0]
    periods = sorted(df["period"].unique())
    missing = [g for g in gaps if g["accepted_version"] is None]
    late = [g for g in gaps if g["accepted_version"] is not None]
    text = (
        f"{year}年已到报送截止时间的 {len(periods)} 个月（{periods[0]}至{periods[-1]}）中，"
        f"各县（市、区）应报 {prov['due']} 份，按时报送 {prov['on_time']} 份，"
        f"按时报送率 {prov['on_time_rate'] * 100:.1f}%。"
    )
    if missing:
        names = "、".join(f"{g['county_name'] or g['county_code']}（{g['period']}）" for g in missing[:10])
        text += (
            f"仍未报送或未通过审核 {len(missing)} 份：{names}" + ("等" if len(missing) > 10 else "") + "。"
        )
    if late:
        text += f"逾期报送 {len(late)} 份，平均逾期 {prov['avg_days_late']:.1f} 天。"
    return {"summary": text, "areas": areas, "gaps": gaps, "periods": periods}
