"""The leaders' report (fivestar.report): every number recomputed from the rpt_* views.

In: a synthetic province (fivestar.sample.generate: 3 counties, 2025-12 … 2026-02, some
files rejected) run through the real pipeline (flows.nightly.fivestar_run.fn, with the
Prefect tasks called as plain functions so no Prefect server is started) into a SQLite
warehouse under a temporary folder. A few names are then made hostile in the warehouse
('<script>…', '=HYPERLINK(…)') and one registered county never submits.
Out: checks that the report's data dict equals what pandas/SQL recompute directly from
the views, that the HTML and XLSX show exactly those numbers (escaped, never formulas),
the branch card, the as-of history path, PostgreSQL portability, and a headless
Chromium render (skipped when Chromium is missing, unless CI=true).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import zipfile
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
import yaml
from markupsafe import escape
from sqlalchemy import text
from sqlalchemy.engine import Engine

from fivestar.config import Rulebook, load_rulebook
from fivestar.report import (
    ReportError,
    build_branch_data,
    build_report_data,
    run_report_command,
)
from fivestar.report.areas import pct_text
from fivestar.report.charts import heatmap, line_chart, stacked_bars
from fivestar.report.html import fmt
from fivestar.report.queries import load_history, month_add, snapshot_at, view_ratings
from fivestar.report.table_specs import TABLES
from fivestar.warehouse.engine import make_engine

SCRIPT_NAME = '<script>alert("x")</script>&"村"'
FORMULA_NAME = '=HYPERLINK("http://evil.example","点我")'
COUNTY_HOSTILE = "<b>浚县</b>&"
NEW_COUNTY = ("410699", "测试新区")
LEVEL_COLS = ["five_star", "four_star", "three_star", "two_star", "one_star", "zero_star"]


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes", "on")


# ---------------------------------------------------------------- the province fixture
def _run_pipeline(root: Path) -> None:
    """generate → fivestar_run.fn() with every Prefect task replaced by its plain function."""
    from prefect import Task

    import flows.nightly as nightly
    from fivestar.sample import generate

    generate(root, "2026-02", counties=3, seed=3, months=3, branches_per_county=(10, 16), events_per_branch=5)
    # A broken correction arriving after the original: recorded as a rejected later version.
    reg = pd.read_csv(root / "config" / "registry.csv", dtype=str, keep_default_na=False)
    first = sorted(reg.loc[reg["level"] == "county", "code"])[0]
    (root / "raw" / "2026-02" / f"{first}_更正.xlsx").write_bytes(b"not a workbook")
    subs = pd.read_csv(root / "config" / "submitters.csv", dtype=str, keep_default_na=False)
    subs["webhook_url"] = ""  # no alert retries against closed ports
    subs.to_csv(root / "config" / "submitters.csv", index=False)
    env = {
        "FIVESTAR_RAW_DIR": str(root / "raw"),
        "FIVESTAR_CONFIG_DIR": str(root / "config"),
        "FIVESTAR_PROCESSED_DIR": str(root / "processed"),
        "FIVESTAR_WAREHOUSE_URL": f"sqlite:///{root / 'warehouse.db'}",
    }
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            mp.setenv(k, v)
        for k in ("FIVESTAR_SMTP_HOST", "FIVESTAR_IT_ALERT_WEBHOOK", "FIVESTAR_IT_ALERT_EMAIL"):
            mp.delenv(k, raising=False)
        for name, obj in list(vars(nightly).items()):
            if isinstance(obj, Task):
                mp.setattr(nightly, name, obj.fn)
        mp.setattr(nightly, "publish_artifacts", lambda result, names: None)
        nightly.fivestar_run.fn()


def _make_hostile(engine: Engine) -> dict[str, str]:
    """Hostile names as they could arrive from workbooks / the registry; one county never submits."""
    with engine.connect() as conn:
        near = conn.execute(
            text(
                "SELECT s.branch_code FROM rpt_branch_star s JOIN rpt_branch_rating r "
                "ON r.year = s.year AND r.branch_code = s.branch_code "
                "WHERE s.year = 2026 AND s.awarded = 0 AND s.vetoed = 0 AND s.total_score >= 75 "
                "ORDER BY s.total_score DESC, s.branch_code LIMIT 1"
            )
        ).scalar_one()
        changed = conn.execute(
            text(
                "SELECT c.branch_code FROM branch_change c JOIN rpt_branch_rating r "
                "ON r.year = c.year AND r.as_of_period = c.as_of_period AND r.branch_code = c.branch_code "
                "WHERE c.year = 2026 AND c.stars_gained <> '' AND c.branch_code <> :n "
                "ORDER BY c.branch_code LIMIT 1"
            ),
            {"n": near},
        ).scalar_one()
        county = conn.execute(
            text("SELECT MAX(county_code) FROM rpt_branch_rating WHERE year = 2026")
        ).scalar_one()
        city = conn.execute(
            text("SELECT parent_code FROM registry_region WHERE code = :c"), {"c": county}
        ).scalar_one()
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE roster SET branch_name = :n WHERE branch_code = :b"), {"n": SCRIPT_NAME, "b": near}
        )
        conn.execute(
            text("UPDATE roster SET branch_name = :n WHERE branch_code = :b"),
            {"n": FORMULA_NAME, "b": changed},
        )
        conn.execute(
            text("UPDATE registry_region SET name = :n WHERE code = :c"), {"n": COUNTY_HOSTILE, "c": county}
        )
        conn.execute(
            text(
                "INSERT INTO registry_region (code, name, level, parent_code) VALUES (:c, :n, 'county', :p)"
            ),
            {"c": NEW_COUNTY[0], "n": NEW_COUNTY[1], "p": city},
        )
    return {"script_branch": near, "formula_branch": changed, "hostile_county": county}


class Province:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.url = f"sqlite:///{root / 'warehouse.db'}"
        self.engine = make_engine(self.url)
        self.rb: Rulebook = load_rulebook(root / "config")
        self.env = {"FIVESTAR_CONFIG_DIR": str(root / "config"), "FIVESTAR_WAREHOUSE_URL": self.url}

    def sql(self, q: str, **params: Any) -> pd.DataFrame:
        with self.engine.connect() as conn:
            return pd.read_sql(text(q), conn, params=params)


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("report_province")
    _run_pipeline(root)
    p = Province(root)
    p.hostile = _make_hostile(p.engine)
    yield p
    p.engine.dispose()


@pytest.fixture(scope="module")
def data(province: Province) -> dict[str, Any]:
    return build_report_data(province.engine, None, None, province.rb)


@pytest.fixture(scope="module")
def written(province: Province, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    out = tmp_path_factory.mktemp("report_out")
    with pytest.MonkeyPatch.context() as mp:
        for k, v in province.env.items():
            mp.setenv(k, v)
        return run_report_command(year=None, out=out, branch=None, as_of=None)


@pytest.fixture(scope="module")
def html_text(written: list[Path]) -> str:
    return next(p for p in written if p.suffix == ".html").read_text(encoding="utf-8")


# ---------------------------------------------------------------- HTML table reader
class _Tables(HTMLParser):
    """Text of every <table id=…> cell, by table id (tags inside cells dropped)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, list[list[str]]] = {}
        self._id: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table" and a.get("id"):
            self._id = a["id"]
            self.tables[self._id] = []
        elif tag == "tr" and self._id:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self._id:
            self.tables[self._id].append(self._row)
            self._row = None
        elif tag == "table":
            self._id = None

    def handle_data(self, d: str) -> None:
        if self._cell is not None:
            self._cell.append(d)


def html_tables(html: str) -> dict[str, list[list[str]]]:
    p = _Tables()
    p.feed(html)
    return p.tables


# ---------------------------------------------------------------- the data behind the province
def test_province_has_what_the_report_needs(province: Province, data: dict[str, Any]) -> None:
    # Two years, a final previous year, counties at different as-of months, rejections.
    years = province.sql("SELECT DISTINCT year FROM rpt_branch_rating ORDER BY year")["year"].tolist()
    assert years == [2025, 2026]
    assert data["year"] == 2026 and data["mode"] == "views"
    assert (
        data["as_of"]
        == province.sql("SELECT MAX(as_of_period) AS p FROM rpt_branch_rating WHERE year = 2026")["p"][0]
    )
    assert province.sql("SELECT COUNT(*) AS n FROM rpt_submission WHERE status = 'rejected'")["n"][0] > 0
    assert data["changes"] and data["near_misses"]
    assert data["prev_year_as_of"] == "2025-12"


def test_headline_counts_and_shares_match_rpt_area_summary(province: Province, data: dict[str, Any]) -> None:
    s = province.sql("SELECT * FROM rpt_area_summary WHERE year = 2026")
    s["area_code"] = s["area_code"].astype(str)
    prov_all = s[(s["area_level"] == "province") & (s["branch_type"] == "全部")].iloc[0]

    def get(level: str, code: str, btype: str) -> pd.Series | None:
        hit = s[(s["area_level"] == level) & (s["area_code"] == code) & (s["branch_type"] == btype)]
        return hit.iloc[0] if len(hit) else None

    cities = sorted(s.loc[s["area_level"] == "city", "area_code"].unique())
    assert [h["area_code"] for h in data["headline"]["cities"]] == cities
    for h in [*data["headline"]["province"], *data["headline"]["cities"]]:
        level, code = h["area_level"], h["area_code"]
        who = "全省" if level == "province" else "全市"
        vil, com, allr = get(level, code, "村"), get(level, code, "社区"), get(level, code, "全部")
        assert h["text"].startswith(who)
        if vil is not None:
            assert (
                f"{vil['branches']}个村创成“五星”支部{vil['five_star']}个、“四星”支部{vil['four_star']}个"
                in h["text"]
            )
        if com is not None:
            assert (
                f"{com['branches']}个城市社区创成“五星”支部{com['five_star']}个、“四星”支部{com['four_star']}个"
                in h["text"]
            )
        share = allr["three_plus_share"]
        assert share == pytest.approx(
            (allr["five_star"] + allr["four_star"] + allr["three_star"]) / allr["branches"]
        )
        assert f"占比{share * 100:.1f}%" in h["text"]
        assert h["three_plus_share"] == pytest.approx(share)
        assert h["branches"] == allr["branches"]
        if level == "city":
            avg = prov_all["three_plus_share"]
            a, b = round(share * 1000), round(avg * 1000)
            word = "高于" if a > b else "低于" if a < b else "持平"
            assert word in h["text"] and f"{avg * 100:.1f}%" in h["text"]
            assert h["province_three_plus_share"] == pytest.approx(avg)
    # The area table is rpt_area_summary row for row.
    got = (
        pd.DataFrame(data["area_summary"]).set_index(["area_level", "area_code", "branch_type"]).sort_index()
    )
    exp = s.set_index(["area_level", "area_code", "branch_type"]).sort_index()
    assert list(got.index) == list(exp.index)
    for col in ["branches", "registry_branches", *LEVEL_COLS]:
        assert got[col].astype(int).tolist() == exp[col].astype(int).tolist(), col
    assert got["three_plus_share"].tolist() == pytest.approx(exp["three_plus_share"].tolist())


def test_area_history_and_rating_history_agree_with_the_views(province: Province) -> None:
    """rpt_area_history at a year's latest month is rpt_area_summary of that year, and the
    rpt_rating_history snapshot at the latest month is rpt_branch_rating."""
    key = ["area_level", "area_code", "branch_type"]
    for year in (2025, 2026):
        view = view_ratings(province.engine, year)
        latest = view["as_of_period"].max()
        hist = province.sql("SELECT * FROM rpt_area_history WHERE period = :p", p=latest).drop(
            columns="period"
        )
        exp = province.sql("SELECT * FROM rpt_area_summary WHERE year = :y", y=year)
        assert list(hist.columns) == list(exp.columns)
        pd.testing.assert_frame_equal(
            hist.sort_values(key).reset_index(drop=True), exp.sort_values(key).reset_index(drop=True)
        )
        snap = snapshot_at(load_history(province.engine, f"{year}-01", latest), latest)
        a = snap.set_index("branch_code")[["as_of_period", "star_level", "county_code"]].sort_index()
        b = view.set_index("branch_code")[["as_of_period", "star_level", "county_code"]].sort_index()
        pd.testing.assert_frame_equal(a, b)


def _county_rank(values: pd.Series) -> pd.Series:
    return values.rank(method="min", ascending=False).astype(int)


def _prev_month_counties(province: Province, cutoff: str) -> pd.DataFrame:
    """Per county, the as-of rating of its latest month ≤ cutoff in that year, straight from branch_rating."""
    br = province.sql(
        "SELECT county_code, as_of_period, branch_code, star_level FROM branch_rating "
        "WHERE year = :y AND as_of_period <= :c",
        y=int(cutoff[:4]),
        c=cutoff,
    )
    br = br[br["as_of_period"] == br.groupby("county_code")["as_of_period"].transform("max")]
    g = br.groupby("county_code")["star_level"]
    return pd.DataFrame(
        {"share": g.apply(lambda x: (x >= 3).mean()), "five": g.apply(lambda x: (x == 5).sum())}
    )


def test_league_tables_match_views(province: Province, data: dict[str, Any]) -> None:
    cur = province.sql(
        "SELECT * FROM rpt_area_summary WHERE year = 2026 AND area_level = 'county' AND branch_type = '全部'"
    ).astype({"area_code": str})
    cur = cur.set_index("area_code")
    py = province.sql(
        "SELECT * FROM rpt_area_summary WHERE year = 2025 AND area_level = 'county' AND branch_type = '全部'"
    ).astype({"area_code": str})
    py = py.set_index("area_code")
    pm = _prev_month_counties(province, month_add(data["as_of"], -1))

    three = {r["county_code"]: r for r in data["league_three_plus"]}
    five = {r["county_code"]: r for r in data["league_five_star"]}
    assert set(three) == set(cur.index) == set(five)
    ranks3, ranks5 = _county_rank(cur["three_plus_share"]), _county_rank(cur["five_star"])
    py3, py5 = _county_rank(py["three_plus_share"]), _county_rank(py["five_star"])
    pm3, pm5 = _county_rank(pm["share"]), _county_rank(pm["five"])
    for c in cur.index:
        assert three[c]["rank"] == ranks3[c] and five[c]["rank"] == ranks5[c]
        assert three[c]["three_plus_share"] == pytest.approx(cur.at[c, "three_plus_share"])
        assert five[c]["five_star"] == cur.at[c, "five_star"]
        assert three[c]["py_share"] == pytest.approx(py.at[c, "three_plus_share"])
        assert three[c]["py_delta"] == pytest.approx(
            cur.at[c, "three_plus_share"] - py.at[c, "three_plus_share"]
        )
        assert three[c]["py_rank_change"] == py3[c] - ranks3[c]
        assert five[c]["py_delta"] == cur.at[c, "five_star"] - py.at[c, "five_star"]
        assert five[c]["py_rank_change"] == py5[c] - ranks5[c]
        assert three[c]["pm_share"] == pytest.approx(pm.at[c, "share"])
        assert three[c]["pm_rank"] == pm3[c] and five[c]["pm_rank"] == pm5[c]
        assert five[c]["pm_delta"] == cur.at[c, "five_star"] - pm.at[c, "five"]
    # Sorted by rank.
    assert [r["rank"] for r in data["league_three_plus"]] == sorted(ranks3.tolist())


def test_per_star_counts_and_weakest(province: Province, data: dict[str, Any]) -> None:
    st = province.sql(
        "SELECT s.star_code, s.awarded, r.county_code FROM rpt_branch_star s JOIN rpt_branch_rating r "
        "ON r.year = s.year AND r.branch_code = s.branch_code WHERE s.year = 2026"
    )
    st["awarded"] = st["awarded"].astype(bool)
    held = st.groupby(["county_code", "star_code"])["awarded"].sum()
    applies = st.groupby(["county_code", "star_code"]).size()
    rows = {r["area_code"]: r for r in data["per_star"] if r["area_level"] == "county"}
    assert set(rows) == set(st["county_code"].astype(str))
    for county, r in rows.items():
        shares = {}
        for code in province.rb.stars["code"]:
            n = int(applies.get((county, code), 0))
            assert r[f"applies_{code}"] == n
            assert r[f"held_{code}"] == int(held.get((county, code), 0))
            if n:
                shares[code] = held.get((county, code), 0) / n
                assert r[f"share_{code}"] == pytest.approx(shares[code])
        low = min(shares.values())
        assert r["weakest_codes"] == [k for k, v in shares.items() if v == low]
    prov = next(r for r in data["per_star"] if r["area_level"] == "province")
    assert prov["held_ZBGY"] == int(st.loc[st["star_code"] == "ZBGY", "awarded"].sum())


def test_incentives_recomputed_from_rpt_branch_rating_and_config(
    province: Province, data: dict[str, Any]
) -> None:
    inc = yaml.safe_load((province.root / "config" / "rulebook.yaml").read_text(encoding="utf-8"))[
        "incentives"
    ]
    pay = {int(k): v for k, v in inc["secretary_monthly_pay"].items()}
    r = province.sql("SELECT * FROM rpt_branch_rating WHERE year = 2026").astype({"branch_code": str})
    before = set(
        province.sql("SELECT branch_code FROM rpt_branch_rating WHERE year < 2026 AND star_level = 5")[
            "branch_code"
        ].astype(str)
    )
    r["pay"] = r["star_level"].map(lambda lv: pay.get(lv, 0)) * r["as_of_period"].str[5:].astype(int)
    r["award"] = ((r["star_level"] == 5) & ~r["branch_code"].isin(before)) * inc["first_five_star_award"]
    rows = {(x["area_level"], x["area_code"]): x for x in data["incentives"]["rows"]}
    for county, g in r.groupby(r["county_code"].astype(str)):
        x = rows[("county", county)]
        assert x["pay_total"] == pytest.approx(g["pay"].sum())
        assert x["award_total"] == pytest.approx(g["award"].sum())
        assert x["total"] == pytest.approx(g["pay"].sum() + g["award"].sum())
        assert x["five_star"] == int((g["star_level"] == 5).sum())
    prov = next(x for x in data["incentives"]["rows"] if x["area_level"] == "province")
    assert prov["total"] == pytest.approx(r["pay"].sum() + r["award"].sum())
    assert sum(x["total"] for x in data["incentives"]["rows"] if x["area_level"] == "city") == pytest.approx(
        prov["total"]
    )


def test_changes_and_near_misses(province: Province, data: dict[str, Any]) -> None:
    s = province.sql(
        "SELECT s.*, r.county_code AS cc FROM rpt_branch_star s JOIN rpt_branch_rating r "
        "ON r.year = s.year AND r.branch_code = s.branch_code WHERE s.year = 2026"
    )
    near = s[(s["awarded"] == 0) & (s["vetoed"] == 0) & (s["total_score"] >= 75)]
    got = {(r["branch_code"], r["star_code"]) for r in data["near_misses"]}
    assert got == set(zip(near["branch_code"].astype(str), near["star_code"], strict=True))
    for r in data["near_misses"]:
        assert r["gap"] == pytest.approx(max(0.0, 80 - r["total_score"]), abs=0.005)
        assert r["reason"]
    assert sum(x["stars"] for x in data["near_misses_summary"]) == len(near)

    ch = province.sql(
        "SELECT c.* FROM branch_change c JOIN rpt_branch_rating r ON r.year = c.year "
        "AND r.as_of_period = c.as_of_period AND r.branch_code = c.branch_code WHERE c.year = 2026"
    )
    moved = ch[
        (ch["stars_gained"].fillna("") != "")
        | (ch["stars_lost"].fillna("") != "")
        | (ch["level_before"].notna() & (ch["level_before"] != ch["level_after"]))
    ]
    assert {(r["branch_code"], r["basis"]) for r in data["changes"]} == set(
        zip(moved["branch_code"].astype(str), moved["basis"], strict=True)
    )
    assert all(r["reason"] for r in data["changes"])
    up = moved[(moved["basis"] == "prev_year") & (moved["level_after"] > moved["level_before"])]
    assert sum(x["py_up"] for x in data["changes_summary"]) == len(up)


def test_points_from_rpt_points_tally(province: Province, data: dict[str, Any]) -> None:
    t = province.sql("SELECT * FROM rpt_points_tally WHERE period <= :p", p=data["as_of"])
    latest = t[
        t["period"] == t.groupby(["branch_code", "subject_type", "subject_id"])["period"].transform("max")
    ]
    for st, key in (("户", "top_households"), ("党员", "top_members")):
        exp = latest[latest["subject_type"] == st].sort_values(
            ["cumulative_earned", "balance", "branch_code", "subject_id"],
            ascending=[False, False, True, True],
        )
        got = data["points"][key]
        assert [(r["branch_code"], r["subject_id"]) for r in got] == list(
            zip(exp["branch_code"].astype(str), exp["subject_id"], strict=True)
        )[: len(got)]
        assert len(got) == min(10, len(exp))
        assert all(set(r) >= {"subject_id", "cumulative_earned"} and "name" not in r for r in got)
    year = t[t["period"] >= "2026-01"]
    for r in data["points"]["redemption"]:
        g = year[
            (year["county_code"].astype(str) == r["county_code"])
            & (year["subject_type"] == r["subject_type"])
        ]
        assert r["redeemed"] == pytest.approx(g["redeemed"].sum())
        assert r["earned"] == pytest.approx(g["earned"].sum())
    assert sum(r["redeemed"] for r in data["points"]["redemption"]) == pytest.approx(year["redeemed"].sum())
    bp = province.sql("SELECT * FROM branch_points")
    for r in data["points"]["participation"]:
        g = bp[(bp["county_code"].astype(str) == r["county_code"]) & (bp["period"] == r["period"])]
        assert r["period"] == data["county_as_of"][r["county_code"]]
        assert r["avg_participation_rate"] == pytest.approx(g["participation_rate"].mean())
        assert r["households_active"] == g["households_active"].sum()


def test_data_quality_for_the_period(province: Province, data: dict[str, Any]) -> None:
    q = data["quality"]
    period = data["dq_period"]
    sub = province.sql("SELECT * FROM rpt_submission WHERE period = :p", p=period).astype(
        {"county_code": str}
    )
    reg = province.sql("SELECT code FROM registry_region WHERE level = 'county'")["code"].astype(str)
    assert q["summary"]["registered"] == len(reg)
    assert q["summary"]["missing"] == len(set(reg) - set(sub["county_code"])) >= 1
    assert NEW_COUNTY[1] in q["summary"]["missing_names"]
    latest = sub.sort_values("version").groupby("county_code").tail(1)
    assert q["summary"]["rejected"] == int((latest["status"] == "rejected").sum()) >= 1
    rows = {r["county_code"]: r for r in q["rows"]}
    for rec in latest.itertuples():
        assert rows[rec.county_code]["errors"] == rec.errors
        assert rows[rec.county_code]["latest_status"] == rec.status
    assert rows[NEW_COUNTY[0]]["state"] == "未报送"
    corrected = min(r["county_code"] for r in q["rows"] if r["registered"] and r["versions"])
    assert rows[corrected]["versions"] >= 2 and rows[corrected]["latest_status"] == "rejected"
    assert rows[corrected]["state"].startswith(("最新版本被退回", "被退回"))


# ---------------------------------------------------------------- HTML
def test_html_shows_the_data(data: dict[str, Any], html_text: str) -> None:
    assert html_text.startswith("<!DOCTYPE html>") and 'lang="zh-CN"' in html_text
    assert "<script" not in html_text.lower() and "http://" not in html_text.split("</style>")[0]
    assert '"Noto Sans CJK SC"' in html_text
    for h in [*data["headline"]["province"], *data["headline"]["cities"]]:
        assert str(escape(h["text"])) in html_text
    tables = html_tables(html_text)
    for key in ("t-area_summary", "t-league_three_plus", "t-league_five_star", "t-per_star", "t-changes",
                "t-near_misses", "t-participation", "t-top_households", "t-incentives", "t-quality"):  # fmt: skip
        assert key in tables, key
    league = tables["t-league_three_plus"]
    assert league[0][:3] == ["名次", "代码", "县（市、区）"]
    for row, r in zip(league[1:], data["league_three_plus"], strict=True):
        assert row[0] == str(r["rank"]) and row[1] == r["county_code"]
        assert row[2] == (r["county_name"] or "")
        assert row[7] == pct_text(r["three_plus_share"])
        assert row[9] == fmt(r["pm_delta"], "dpct")[0]
    inc = tables["t-incentives"]
    for row, r in zip(inc[1:], data["incentives"]["rows"], strict=True):
        assert row[-1] == fmt(r["total"], "money")[0]
    per_star = tables["t-per_star"]
    assert len(per_star) - 1 == len(data["per_star"])
    assert html_text.count("<svg") == 3
    assert html_text.count(' weak"') >= len([r for r in data["per_star"] if r["weakest_codes"]])


def test_html_escapes_hostile_names(province: Province, data: dict[str, Any], html_text: str) -> None:
    assert SCRIPT_NAME not in html_text and "<b>浚县</b>" not in html_text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&amp;&#34;村&#34;" in html_text
    assert "&lt;b&gt;浚县&lt;/b&gt;&amp;" in html_text
    svgs = re.findall(r"<svg.*?</svg>", html_text, flags=re.S)
    assert any("&lt;b&gt;浚县&lt;/b&gt;&amp;" in s for s in svgs)  # county names inside SVG text
    assert all("<b>" not in s for s in svgs)
    tables = html_tables(html_text)
    names = [row[2] for row in tables["t-near_misses"][1:]]
    assert SCRIPT_NAME in names  # shown as text, exactly


def test_charts_escape_and_scale() -> None:
    bad = '<img src=x onerror="1">&'
    for svg in (
        stacked_bars(bad, [bad, "乙县"], [("五星", [3, 0]), ("零星", [1, 5])]),
        line_chart(bad, ["2026-01", "2026-02"], [(bad, [0.25, None]), ("全省", [0.3, 0.35])]),
        heatmap(bad, [bad], ["支部过硬星"], [[0.5]], [[True]]),
    ):
        assert "<img" not in svg and "&lt;img src=x onerror=&#34;1&#34;&gt;&amp;" in svg
        assert svg.startswith("<svg") and svg.endswith("</svg>")


# ---------------------------------------------------------------- XLSX
def test_xlsx_tables_formats_and_no_formulas(data: dict[str, Any], written: list[Path]) -> None:
    path = next(p for p in written if p.suffix == ".xlsx")
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/sheet"):
                assert "<f>" not in z.read(name).decode("utf-8"), name
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames[0] == "说明"
    for name in ("星级分布", "三星以上占比排名", "五星数量排名", "分星统计", "动态调整明细", "差一步支部",
                 "积分参与", "户积分排行", "党员积分排行", "积分兑换", "创星激励", "数据质量"):  # fmt: skip
        ws = wb[name]
        assert ws.freeze_panes == "A4", name
        assert ws.page_setup.orientation == "landscape" and ws.page_setup.fitToWidth == 1
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        assert ws["A1"].value.endswith(name) and ws["A3"].value
        assert ws.column_dimensions["A"].width >= 6
    ws = wb["三星以上占比排名"]
    header = [c.value for c in ws[3]]
    share_col = header.index("三星以上占比") + 1
    for i, r in enumerate(data["league_three_plus"], start=4):
        cell = ws.cell(i, share_col)
        assert cell.number_format == "0.0%"
        assert cell.value == pytest.approx(r["three_plus_share"])
        assert ws.cell(i, 1).value == r["rank"]
        assert ws.cell(i, 2).value == r["county_code"] and ws.cell(i, 2).data_type == "s"
    ws = wb["创星激励"]
    totals = [ws.cell(i, ws.max_column).value for i in range(4, 4 + len(data["incentives"]["rows"]))]
    assert totals == pytest.approx([r["total"] for r in data["incentives"]["rows"]])
    # The '=HYPERLINK(...)' branch name is text, never a formula.
    ws = wb["动态调整明细"]
    hits = [c for row in ws.iter_rows(min_row=4) for c in row if c.value == FORMULA_NAME]
    assert hits and all(c.data_type == "s" and c.quotePrefix for c in hits)
    ws = wb["差一步支部"]
    assert any(c.value == SCRIPT_NAME for row in ws.iter_rows(min_row=4) for c in row)


def test_xlsx_text_starting_with_formula_chars_stays_text(tmp_path: Path) -> None:
    from fivestar.report.table_specs import Col
    from fivestar.report.xlsx import write_table

    wb = openpyxl.Workbook()
    cols = (Col("a", "名称"), Col("b", "占比", "pct"))
    rows = [{"a": s, "b": 0.5} for s in ("=1+1", "+1", "-1", "@SUM(A1)", "正常")]
    write_table(wb.active, "标题", "副标题", cols, rows)
    wb.save(tmp_path / "x.xlsx")
    back = openpyxl.load_workbook(tmp_path / "x.xlsx").active
    assert [back.cell(i, 1).value for i in range(4, 9)] == ["=1+1", "+1", "-1", "@SUM(A1)", "正常"]
    assert all(back.cell(i, 1).data_type == "s" for i in range(4, 9))
    assert back.cell(4, 2).number_format == "0.0%"


# ---------------------------------------------------------------- as-of history, branch card, errors
def test_as_of_previous_month_uses_history(province: Province, data: dict[str, Any]) -> None:
    pm = month_add(data["as_of"], -1)
    old = build_report_data(province.engine, None, pm, province.rb)
    assert old["mode"] == "history" and old["as_of"] == pm
    exp = _prev_month_counties(province, pm)
    league = {r["county_code"]: r for r in old["league_three_plus"]}
    for c, row in exp.iterrows():
        assert league[c]["three_plus_share"] == pytest.approx(row["share"])
        assert league[c]["five_star"] == row["five"]
    # The current report's previous-month column is the same number.
    cur = {r["county_code"]: r for r in data["league_three_plus"]}
    for c in exp.index:
        assert cur[c]["pm_share"] == pytest.approx(league[c]["three_plus_share"])
    # The trend's last point is the current province share, its previous point the old report's.
    prov = [t for t in data["trend"] if t["area_level"] == "province" and t["branch_type"] == "全部"]
    assert prov[-1]["period"] == data["as_of"]
    assert prov[-1]["three_plus_share"] == pytest.approx(data["headline"]["province"][0]["three_plus_share"])
    assert prov[-2]["three_plus_share"] == pytest.approx(old["headline"]["province"][0]["three_plus_share"])


def test_branch_card(province: Province, tmp_path: Path) -> None:
    code = province.hostile["script_branch"]
    with pytest.MonkeyPatch.context() as mp:
        for k, v in province.env.items():
            mp.setenv(k, v)
        (path,) = run_report_command(year=2026, out=tmp_path, branch=code, as_of=None)
    page = path.read_text(encoding="utf-8")
    assert path.name == f"branch_{code}_2026.html"
    assert "<script" not in page.lower() and "&lt;script&gt;" in page
    b = build_branch_data(province.engine, code, 2026, None, province.rb)
    stars = province.sql("SELECT * FROM rpt_branch_star WHERE year = 2026 AND branch_code = :c", c=code)
    assert {r["star_code"] for r in b["stars"]} == set(stars["star_code"])
    assert b["star_level"] == int(stars["awarded"].sum())
    ind = province.sql(
        "SELECT * FROM branch_indicator_score WHERE year = 2026 AND branch_code = :c AND as_of_period = :p",
        c=code,
        p=b["as_of_period"],
    )
    assert len(b["indicators"]) == len(ind) > 0
    for h in ind["header"]:
        assert h.replace("%", "%") in page
    hist = province.sql("SELECT * FROM branch_rating WHERE branch_code = :c", c=code)
    assert len(b["history"]) == len(hist) >= 2
    assert (
        b["next"] is not None
        and b["next"]["total_score"] >= 75
        and b["next"]["reason"] in page.replace("&#34;", '"')
    )
    tables = html_tables(page)
    assert len(tables["t-history"]) - 1 == len(hist)


def test_errors(province: Province, tmp_path: Path) -> None:
    with pytest.raises(ReportError):
        build_report_data(province.engine, 2026, "2025-12", province.rb)
    with pytest.raises(ReportError):
        build_report_data(province.engine, None, "2026-13", province.rb)
    with pytest.raises(ReportError):
        build_report_data(province.engine, 2019, None, province.rb)
    with pytest.raises(ReportError):
        build_branch_data(province.engine, "999999999999", 2026, None, province.rb)
    empty = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    from fivestar.warehouse import ensure_schema

    ensure_schema(empty)
    with pytest.raises(ReportError, match="fivestar run"):
        build_report_data(empty, None, None, province.rb)
    empty.dispose()


# ---------------------------------------------------------------- PostgreSQL: same report
_COPY = ("registry_region", "submission", "dq_issue", "roster", "branch_rating", "branch_star",
         "branch_indicator_score", "branch_change", "points_tally", "branch_points",
         "completeness")  # fmt: skip
_BOOLS = ("is_final", "is_latest", "awarded", "vetoed", "gate_failed", "explained", "expected", "on_time")
_TIMES = ("received_at", "processed_at", "event_date", "deadline", "first_received_at", "last_received_at",
          "accepted_at", "as_of")  # fmt: skip


def _strip(d: Any) -> Any:
    if isinstance(d, dict):
        return {k: _strip(v) for k, v in d.items() if k != "generated_at"}
    if isinstance(d, list):
        return [_strip(v) for v in d]
    if isinstance(d, float):
        return round(d, 9)
    return d


def test_same_report_on_every_backend(province: Province, warehouse_engine: Engine) -> None:
    for table in _COPY:
        df = province.sql(f"SELECT * FROM {table}")
        for c in df.columns:
            if c in _BOOLS:
                df[c] = df[c].astype(bool)
            elif c in _TIMES:
                df[c] = pd.to_datetime(df[c])
        with warehouse_engine.begin() as conn:
            conn.execute(text(f"DELETE FROM {table}"))
        df.to_sql(table, warehouse_engine, if_exists="append", index=False)
    a = build_report_data(province.engine, None, None, province.rb)
    b = build_report_data(warehouse_engine, None, None, province.rb)
    assert _strip(a) == _strip(b)
    card = build_branch_data(warehouse_engine, province.hostile["script_branch"], None, None, province.rb)
    assert card["branch_name"] == SCRIPT_NAME


# ---------------------------------------------------------------- a real browser
def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.mark.system  # drives a real browser or office suite
def test_renders_in_headless_chromium(data: dict[str, Any], written: list[Path], tmp_path: Path) -> None:
    exe = _chromium()
    if exe is None:
        if in_ci():
            pytest.fail("chromium is required in CI (apt-get install -y chromium)")
        pytest.skip("chromium not installed")
    page = next(p for p in written if p.suffix == ".html")
    base = [
        exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]  # fmt: skip
    png = tmp_path / "report.png"
    shot = subprocess.run(
        [*base, "--enable-logging=stderr", "--v=0", f"--screenshot={png}", "--window-size=1400,3000",
         page.as_uri()],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert png.exists() and png.stat().st_size > 30_000, shot.stderr[-2000:]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    console = [
        # Page console messages look like "[…:INFO:CONSOLE:1] "Uncaught …", source: file://…".
        line
        for line in shot.stderr.splitlines()
        if "Uncaught" in line or ":CONSOLE" in line
    ]
    assert not console, console
    dom = subprocess.run(
        [*base, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=180
    ).stdout  # fmt: skip
    assert data["headline"]["province"][0]["text"] in dom.replace("&amp;", "&")
    assert dom.count("<svg") == 3 and dom.count("<table") >= 10
    assert "<script" not in dom.lower()  # the hostile branch name stayed text
    tables = html_tables(dom)
    assert len(tables["t-league_three_plus"]) - 1 == len(data["league_three_plus"])
    assert SCRIPT_NAME in [row[2] for row in tables["t-near_misses"][1:]]


# ---------------------------------------------------------------- read to the end (issue 19, item 8)
def _section(html: str, sid: str) -> str:
    start = html.index(f'id="{sid}"')
    return html[start : html.index("</section>", start)]


def test_per_area_table_folds_behind_headline_and_charts(html_text: str) -> None:
    sec = _section(html_text, "s-headline")
    fold = sec.index('<details class="fold" id="d-area_summary">')
    assert sec.index('class="lead"') < sec.index("<svg") < fold < sec.index('id="t-area_summary"')
    assert "<details open" not in sec
    summary = sec[fold : sec.index("</summary>")]
    assert "XLSX" in summary and "“星级分布”工作表" in summary


@pytest.mark.parametrize(
    ("key", "sid", "unit"), [("changes", "s-changes", "条"), ("near_misses", "s-near", "项")]
)
def test_long_lists_show_top_20_with_counts(
    data: dict[str, Any], html_text: str, key: str, sid: str, unit: str
) -> None:
    from fivestar.report.html import HTML_TOP_N

    rows = data[key]
    assert HTML_TOP_N == 20 and len(rows) > HTML_TOP_N  # the province has more than a page
    sec = _section(html_text, sid)
    shown = html_tables(sec)[f"t-{key}"][1:]
    assert len(shown) == HTML_TOP_N
    branches = len({r["branch_code"] for r in rows})
    count = f"共{len(rows)}{unit}（涉及{branches}个支部），显示"
    assert count in sec and f"前{HTML_TOP_N}{unit}" in sec
    assert f"完整名单见同名 XLSX 报表“{TABLES[key][0]}”工作表" in sec
    assert sec.index(count) < sec.index(f'id="t-{key}"')  # read before the list
    names = {(r["branch_code"]) for r in rows}
    assert {row[1] for row in shown} <= names
    if key == "near_misses":  # closest first: the page shows the 20 smallest gaps
        assert [row[1] for row in shown] == [r["branch_code"] for r in rows[:HTML_TOP_N]]
    else:  # biggest moves first
        moved = sorted(
            (abs((r["level_after"] or 0) - (r["level_before"] or 0)) if r["level_before"] is not None else 0)
            for r in rows
        )[::-1][:HTML_TOP_N]
        assert sorted((abs(int(row[7]) - int(row[6])) if row[6] else 0) for row in shown)[::-1] == moved


RULE_ID = re.compile(r"\b[a-z][a-z_]*(?:\.[a-z_]+)+\b")


def test_quality_section_has_no_rule_ids(data: dict[str, Any], html_text: str) -> None:
    rules = data["quality"]["rules"]
    assert rules and all(RULE_ID.fullmatch(r["rule"]) for r in rules)  # ids like roster.members.range
    sec = _section(html_text, "s-quality")
    text_only = re.sub(r"<[^>]+>", " ", sec)
    assert not RULE_ID.findall(text_only), RULE_ID.findall(text_only)
    shown = html_tables(sec)["t-quality_rules"]
    assert shown[0] == ["级别", "问题所在", "次数", "涉及县数", "示例说明"]
    assert all(row[1] and not RULE_ID.search(row[1]) for row in shown[1:])


def _measure_script() -> str:
    """Appended to a copy of the page: opens the fold and records widths in a body attribute."""
    return """<script>
document.querySelectorAll('details').forEach(function (d) { d.open = true; });
var out = {doc: document.documentElement.scrollWidth, tables: []};
document.querySelectorAll('table').forEach(function (t) {
  out.tables.push([t.id, t.scrollWidth, t.parentElement.clientWidth, t.getBoundingClientRect().right]);
});
document.body.setAttribute('data-measure', JSON.stringify(out));
</script>"""


def test_no_table_wider_than_the_page_at_1280(written: list[Path], tmp_path: Path) -> None:
    import html as html_mod
    import json

    exe = _chromium()
    if exe is None:
        if in_ci():
            pytest.fail("chromium is required in CI (apt-get install -y chromium)")
        pytest.skip("chromium not installed")
    page = next(p for p in written if p.suffix == ".html").read_text(encoding="utf-8")
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("</body>", _measure_script() + "</body>"), encoding="utf-8")
    dom = subprocess.run(
        [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-dev-shm-usage",
         f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,900", "--hide-scrollbars",
         "--dump-dom", probe.as_uri()],
        capture_output=True, text=True, timeout=180,
    ).stdout  # fmt: skip
    m = re.search(r'data-measure="([^"]*)"', dom)
    assert m, dom[-2000:]
    got = json.loads(html_mod.unescape(m.group(1)))
    assert got["doc"] <= 1280, got
    assert len(got["tables"]) >= 10
    wide = [t for t in got["tables"] if t[1] > t[2] or t[3] > 1280]
    assert not wide, wide


def test_xlsx_headlines_print_whole(data: dict[str, Any], written: list[Path], tmp_path: Path) -> None:
    from fivestar.report.xlsx import NOTES_TEXT_WIDTH, wrapped_height

    book = next(p for p in written if p.suffix == ".xlsx")
    ws = openpyxl.load_workbook(book)["说明"]
    sentences = [h["text"] + (h.get("five_star_note") or "") for h in
                 [*data["headline"]["province"], *data["headline"]["cities"]]]  # fmt: skip
    rows = {c.value: c.row for c in ws["B"] if c.value}
    for s in sentences:
        h = ws.row_dimensions[rows[s]].height
        assert h == wrapped_height(s, NOTES_TEXT_WIDTH) and h >= 2 * 16, (s, h)
    soffice, pdftotext = shutil.which("soffice"), shutil.which("pdftotext")
    if soffice is None or pdftotext is None:
        if in_ci():
            pytest.fail("soffice and pdftotext are required in CI (libreoffice-calc-nogui, poppler-utils)")
        pytest.skip("soffice or pdftotext not installed")
    env = dict(os.environ, HOME=str(tmp_path))  # a private LibreOffice profile
    conv = subprocess.run(
        [soffice, "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path), str(book)],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    pdf = tmp_path / (book.stem + ".pdf")
    assert pdf.exists(), conv.stderr
    # The 说明 sheet prints first; its page(s) must hold every headline sentence in full.
    text_ = subprocess.run(
        [pdftotext, "-l", "2", str(pdf), "-"], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    flat = re.sub(r"\s+", "", text_)
    for s in sentences:
        assert re.sub(r"\s+", "", s) in flat, s


# ---------------------------------------------------------------- same output as before (golden)
GOLDEN = Path(__file__).parents[1] / "golden" / "report_province.json.gz"


def _xlsx_cells(path: Path) -> list[list[Any]]:
    wb = openpyxl.load_workbook(path)
    return [
        [ws.title, c.coordinate, c.value if not isinstance(c.value, float) else round(c.value, 9),
         c.number_format]
        for ws in wb.worksheets
        for row in ws.iter_rows()
        for c in row
        if c.value is not None
    ]  # fmt: skip


# The 数据来源 notes as they were when the golden dump was made (the report then read some
# derived tables; it reads rpt_* views only now): pinned, so every number is compared.
GOLDEN_SOURCES = {
    "headline": "rpt_area_summary（本年各县最新有效月份的评定）",
    "league": "rpt_area_summary（本期、上年）；上月：branch_rating 逐月评定（按 rpt_branch_rating 同样方式关联 roster、registry_region），截至上月各县最新有效月份",
    "stars": "rpt_branch_star 与 rpt_branch_rating",
    "changes": "branch_change（较上年终评、较上月评定；本期评定所在月份）与 rpt_branch_rating",
    "near_misses": "rpt_branch_star（未获得、未被否决且得分不低于达标线减5分的星）",
    "points": "branch_points（各县评定所在月份的参与情况）、rpt_points_tally（截至本期各对象最近一月的累计值；本年兑换合计）",
    "incentives": "rpt_branch_rating（本期星级、往年是否曾为五星）× config/rulebook.yaml incentives",
    "quality": "registry_region（在册县）、rpt_submission、rpt_dq_issue（本期各县最新版本）",
    "trend": "branch_rating 逐月评定（同上月口径），最后一点即本期",
}  # fmt: skip
GOLDEN_CARD_SOURCE = (
    "rpt_branch_rating、rpt_branch_star（本期评定）；branch_indicator_score（分项得分）；"
    "branch_rating、branch_star（历次评定）；branch_change（星级变化）；rpt_points_tally、branch_points（积分）"
)


def _report_dump(province: Province, out: Path) -> dict[str, Any]:
    """HTML text and XLSX cell values of the latest report, the previous-month (history) report
    and a branch card; the generation time and source notes are pinned, nothing else may differ."""
    from fivestar.report import render_branch_html, write_report

    dump: dict[str, Any] = {}
    latest = build_report_data(province.engine, None, None, province.rb)
    for key, as_of in (("latest", None), ("prev_month", month_add(latest["as_of"], -1))):
        d = build_report_data(province.engine, None, as_of, province.rb)
        d["generated_at"] = "GENERATED"
        # 报送情况 depends on the files' modification times and the run's clock (tests/report/
        # test_completeness.py checks it); the golden pages are of the rest.
        d["completeness"] = {"summary": "", "areas": [], "gaps": [], "periods": []}
        d["sources"] = GOLDEN_SOURCES
        html, xlsx = write_report(d, out / key)
        dump[f"{key}.html"] = html.read_text(encoding="utf-8")
        dump[f"{key}.xlsx"] = _xlsx_cells(xlsx)
    card = build_branch_data(province.engine, province.hostile["script_branch"], None, None, province.rb)
    card["generated_at"] = "GENERATED"
    card["source"] = GOLDEN_CARD_SOURCE
    dump["branch.html"] = render_branch_html(card)
    return dump


def test_report_output_unchanged(province: Province, tmp_path: Path) -> None:
    """The report's HTML and XLSX equal the golden dump made before the report read only views.

    Regenerate (only for an intended change of the report) with FIVESTAR_WRITE_GOLDEN=1.
    Intended changes since: issue 19 item 8 (leaders read to the end): the per-area table
    folds behind the charts, the change and near-miss lists show their top 20 with a count
    line, CSS lets tables wrap to fit 1280 px, and 主要问题 names where a problem is (sheet,
    column) instead of a rule id (HTML and XLSX column B of that sheet); no number changed.
    Issue 15: the rate-as-fraction message says what to write (如实为75%，请改填75).
    """
    import gzip
    import json

    dump = json.loads(json.dumps(_report_dump(province, tmp_path), ensure_ascii=False, default=str))
    if os.environ.get("FIVESTAR_WRITE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_bytes(gzip.compress(json.dumps(dump, ensure_ascii=False, indent=0).encode(), mtime=0))
    golden = json.loads(gzip.decompress(GOLDEN.read_bytes()))
    assert sorted(dump) == sorted(golden)
    for key in golden:
        if key.endswith(".html"):
            assert dump[key].splitlines() == golden[key].splitlines(), key
        else:
            assert dump[key] == golden[key], key
