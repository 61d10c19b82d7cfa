"""Tests of fivestar.score: rule kinds, rounding, the worked example of rulebook.md,
vetoes, gates, the prerequisite option, finality and changes.

Facts are built inline; expected numbers are hand-computed in the comments.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fivestar.config import Rulebook, load_rulebook
from fivestar.indicator_rules import indicator_points
from fivestar.score import Ratings, rate_county_year
from fivestar.score_text import round_half_up
from fivestar.star_changes import compute_changes
from fivestar.tally import mark_counted

RB = load_rulebook(Path(__file__).resolve().parents[1] / "config")
C = "410522"
V = "410522101201"  # a 村
V2 = "410522101202"  # another 村
S = "410522001001"  # a 社区
POINTS = dict(zip(RB.items["code"], pd.to_numeric(RB.items["points"], errors="coerce"), strict=True))

# Values at full marks for any as-of month (本月 counts of 1 a month meet per_month targets).
VILLAGE_FULL = {
    "meeting_rate": 100,
    "theme_days": 1,
    "member_participation_rate": 95,
    "is_weak": 0.0,
    "collective_income": 20,
    "leading_industries": 1,
    "farmer_income": 25000,
    "new_business_entities": 2,
    "toilet_rate": 80,
    "garbage_rate": 100,
    "sewage_rate": 60,
    "greening_rate": 40,
    "criminal_cases": 0,
    "safety_accidents": 0,
    "bypass_petitions": 0,
    "dispute_resolution_rate": 98,
    "has_civilization_station": 1.0,
    "revised_village_rules": 1.0,
    "culture_events": 1,
    "satisfaction_rate": 95,
}
COMMUNITY_FULL = {
    "meeting_rate": 100,
    "theme_days": 1,
    "member_participation_rate": 95,
    "is_weak": 0.0,
    "registered_members": 100,
    "cobuild_units": 3,
    "cobuild_projects": 1,
    "property_coverage_rate": 90,
    "criminal_cases": 0,
    "safety_accidents": 0,
    "bypass_petitions": 0,
    "dispute_resolution_rate": 98,
    "has_elderly_station": 1.0,
    "volunteer_hours": 100,
    "culture_events": 1,
    "satisfaction_rate": 95,
    "new_jobs": 5,
    "business_entities": 200,
    "employment_events": 1,
    "reemployment_rate": 80,
}
FULL = {"村": VILLAGE_FULL, "社区": COMMUNITY_FULL}


def facts(
    months: list[str],
    branches: dict[str, str],
    values: dict[tuple[str, str], dict[str, float]] | None = None,
    events: list[tuple] = (),
    vetoes: list[tuple[str, str, str]] = (),
) -> dict[str, pd.DataFrame]:
    """branches {code: type}; values {(period, code): overrides}; events (period, day, item[,
    subject_type, subject_id]); vetoes (period, code, veto_code). Every branch is in every
    month's roster."""
    values = values or {}
    roster, ind = [], []
    for p in months:
        for b, t in branches.items():
            roster.append(
                {
                    "county_code": C,
                    "period": p,
                    "version": 1,
                    "branch_code": b,
                    "branch_name": f"支部{b[-3:]}",
                    "branch_type": t,
                    "township": "城关镇",
                    "members": 30,
                    "households": 200,
                }
            )
            for k, v in {**FULL[t], **values.get((p, b), {})}.items():
                if v is not None:
                    ind.append(
                        {
                            "county_code": C,
                            "period": p,
                            "version": 1,
                            "branch_code": b,
                            "indicator_key": k,
                            "value": v,
                        }
                    )
    led = []
    for i, e in enumerate(events):
        p, day, item = e[0], e[1], e[2]
        branch = e[5] if len(e) > 5 else V
        stype = e[3] if len(e) > 3 else "支部"
        led.append(
            {
                "county_code": C,
                "period": p,
                "version": 1,
                "seq": i + 2,
                "event_date": pd.Timestamp(f"{p}-{day:02d}"),
                "branch_code": branch,
                "subject_type": stype,
                "subject_id": e[4] if len(e) > 4 else branch,
                "item_code": item,
                "points": float(POINTS[item]),
            }
        )
    ledger_cols = ["county_code", "period", "version", "seq", "event_date", "branch_code"]
    ledger_cols += ["subject_type", "subject_id", "item_code", "points"]
    ledger = pd.DataFrame(led, columns=ledger_cols)
    vet = pd.DataFrame(
        [
            {
                "county_code": C,
                "period": p,
                "version": 1,
                "seq": i + 2,
                "event_date": pd.Timestamp(f"{p}-01"),
                "branch_code": b,
                "veto_code": code,
            }
            for i, (p, b, code) in enumerate(vetoes)
        ],
        columns=["county_code", "period", "version", "seq", "event_date", "branch_code", "veto_code"],
    )
    ind_df = pd.DataFrame(ind)
    ind_df["value"] = ind_df["value"].astype(float)
    return {
        "roster": pd.DataFrame(roster),
        "indicators": ind_df,
        "ledger_counted": mark_counted(RB, ledger),
        "vetoes": vet,
    }


def rate(year: int = 2026, rb=RB, **kw) -> Ratings:
    return rate_county_year(rb, year=year, **facts(**kw))


def star(r: Ratings, period: str, branch: str, code: str) -> pd.Series:
    s = r.stars
    hit = s[(s["as_of_period"] == period) & (s["branch_code"] == branch) & (s["star_code"] == code)]
    assert len(hit) == 1
    return hit.iloc[0]


def indicator(r: Ratings, period: str, branch: str, key: str) -> pd.Series:
    s = r.indicator_scores
    hit = s[(s["as_of_period"] == period) & (s["branch_code"] == branch) & (s["indicator_key"] == key)]
    assert len(hit) == 1
    return hit.iloc[0]


def rating(r: Ratings, period: str, branch: str) -> pd.Series:
    s = r.ratings
    hit = s[(s["as_of_period"] == period) & (s["branch_code"] == branch)]
    assert len(hit) == 1
    return hit.iloc[0]


def with_settings(**changes) -> Rulebook:
    return dataclasses.replace(RB, settings={**RB.settings, **changes})


# ------------------------------------------------------------ rule kinds ---


def pts(rule, value, lo=np.nan, hi=np.nan, m=12, n=12) -> float:
    return float(indicator_points([rule], [value], [lo], [hi], m, n)[0])


@pytest.mark.parametrize(
    ("value", "expected"),
    [(-5, 0.0), (79.9, 0.0), (80, 0.0), (80.5, 0.5), (90, 10.0), (99.9, 19.9), (100, 20.0), (120, 20.0)],
)
def test_linear_80_to_100(value: float, expected: float) -> None:
    # 20 × clamp((v − 80) / 20, 0, 1) = v − 80 inside the range.
    assert pts("linear", value, 80, 100) == pytest.approx(expected)


def test_linear_other_ranges() -> None:
    assert pts("linear", 90, 70, 95) == pytest.approx(16.0)  # 20 × 20/25
    assert pts("linear", 20000, 15000, 25000) == pytest.approx(10.0)
    assert pts("linear", 96, 90, 98) == pytest.approx(15.0)  # 20 × 6/8


@pytest.mark.parametrize(
    ("value", "m", "expected"),
    [
        (2.5, 6, 0.0),  # m=6: lo = 5 × 6/12 = 2.5, hi = 10
        (2.4, 6, 0.0),
        (6.25, 6, 10.0),  # halfway
        (10, 6, 20.0),
        (12, 6, 20.0),  # clamped
        (12.5, 12, 10.0),  # m=12: the plain 5→20 range
        (10, 12, 20.0 / 3),  # 20 × 5/15
        (12.5, 11, 380 / 33),  # the worked example: 20 × (12.5 − 55/12) / (165/12)
    ],
)
def test_linear_ytd_spreads_the_target_over_m(value: float, m: int, expected: float) -> None:
    assert pts("linear_ytd", value, 5, 20, m=m, n=1) == pytest.approx(expected)


@pytest.mark.parametrize(("value", "expected"), [(0, 0.0), (1.99, 0.0), (2, 20.0), (7, 20.0)])
def test_at_least(value: float, expected: float) -> None:
    assert pts("at_least", value, 2) == expected


@pytest.mark.parametrize(("value", "expected"), [(0, 20.0), (0.5, 0.0), (1, 0.0), (3, 0.0)])
def test_zero(value: float, expected: float) -> None:
    assert pts("zero", value) == expected


def test_yes_and_no() -> None:
    assert pts("yes", 1.0) == 20.0 and pts("yes", 0.0) == 0.0
    assert pts("no", 0.0) == 20.0 and pts("no", 1.0) == 0.0


@pytest.mark.parametrize(
    ("value", "k", "n", "expected"),
    [
        (0, 1, 2, 0.0),
        (1, 1, 2, 10.0),  # the worked example: 20 × 1 / (1 × 2)
        (2, 1, 2, 20.0),
        (3, 1, 2, 20.0),  # clamped
        (1, 1, 1, 20.0),
        (1, 0.5, 3, 40.0 / 3),  # 20 × 1 / 1.5
        (250, 100, 5, 10.0),  # 20 × 250 / 500
    ],
)
def test_per_month_uses_n(value: float, k: float, n: int, expected: float) -> None:
    assert pts("per_month", value, k, m=11, n=n) == pytest.approx(expected)


def test_missing_value_scores_zero_and_unknown_rule_is_a_config_error() -> None:
    assert pts("linear", np.nan, 80, 100) == 0.0
    assert pts("yes", np.nan) == 0.0
    with pytest.raises(ValueError, match="between"):
        pts("between", 5, 1, 2)


def test_indicator_points_is_vectorised_and_uses_configured_full_marks() -> None:
    out = indicator_points(
        ["linear", "zero", "yes"], [90, 0, 0.0], [80, np.nan, np.nan], [100, np.nan, np.nan], 6, 2
    )
    assert out.tolist() == [10.0, 20.0, 0.0]
    assert indicator_points(["linear"], [90], [80], [100], 6, 2, full=25.0).tolist() == [12.5]


# -------------------------------------------------------------- rounding ---


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (62.005, 62.01),
        (20 * 0.60025 + 50.0, 62.01),  # = 62.004999999999995: naive round() gives 62.0
        (1.5 + 60.505, 62.01),
        (71.515151, 71.52),
        (61.0 + 1.0, 62.0),
        (2.675, 2.68),  # stored as 2.67499999…: naive round() gives 2.67
        (1.005, 1.01),
        (62.004999, 62.0),
        (79.994, 79.99),
        (79.995, 80.0),
        (-1.005, -1.01),  # half away from zero
        (0.0, 0.0),
    ],
)
def test_round_half_up(value: float, expected: float) -> None:
    assert round_half_up(value) == expected


def test_round_half_up_keeps_the_container() -> None:
    s = pd.Series([62.005, 71.5151515], index=[3, 4])
    out = round_half_up(s)
    assert isinstance(out, pd.Series) and out.index.tolist() == [3, 4]
    assert out.tolist() == [62.01, 71.52]
    assert round_half_up(np.array([0.125, 0.135])).tolist() == [0.13, 0.14]


# -------------------------------------------------------- worked example ---

WORKED_OCT = {
    "meeting_rate": 95,
    "theme_days": 1,
    "member_participation_rate": 90,
    "is_weak": 0.0,
    "collective_income": 9,
    "leading_industries": 1,
    "farmer_income": 20000,
    "new_business_entities": 2,
    "criminal_cases": 0,
    "safety_accidents": 1,
    "bypass_petitions": 0,
    "dispute_resolution_rate": 96,
}
WORKED_NOV = {**WORKED_OCT, "theme_days": 0, "collective_income": 12.5, "safety_accidents": 0}
WORKED_EVENTS = (
    [("2026-10", 5, "ZB01"), ("2026-10", 6, "ZB03")]
    + [("2026-11", 3, "ZB01"), ("2026-11", 4, "ZB01"), ("2026-11", 5, "ZB02")]
    + [("2026-11", 10 + i, "CY01") for i in range(3)]
    + [("2026-11", 15 + i, "PA01") for i in range(6)]
)


def worked(**extra) -> Ratings:
    return rate(
        months=["2026-10", "2026-11"],
        branches={V: "村"},
        values={("2026-10", V): WORKED_OCT, ("2026-11", V): WORKED_NOV},
        events=WORKED_EVENTS,
        **extra,
    )


def test_worked_example_indicator_points() -> None:
    r = worked()
    nov = "2026-11"
    expected = {
        "meeting_rate": (95, 15.0),
        "theme_days": (1, 10.0),  # 1 + 0 year to date, n = 2
        "member_participation_rate": (90, 16.0),
        "is_weak": (0.0, 20.0),
        "collective_income": (12.5, 380 / 33),  # 11.5152…
        "leading_industries": (1, 20.0),
        "farmer_income": (20000, 10.0),
        "new_business_entities": (2, 20.0),
        "criminal_cases": (0, 20.0),
        "safety_accidents": (1, 0.0),  # 1 + 0 year to date
        "bypass_petitions": (0, 20.0),
        "dispute_resolution_rate": (96, 15.0),
    }
    for key, (value, points) in expected.items():
        row = indicator(r, nov, V, key)
        assert row["value"] == value, key
        assert row["points"] == pytest.approx(points), key
    assert indicator(r, nov, V, "collective_income")["points"] == pytest.approx(11.5152, abs=1e-4)
    assert indicator(r, nov, V, "meeting_rate")["rule"] == "linear 80→100"
    assert indicator(r, nov, V, "theme_days")["rule"] == "per_month 1"
    assert indicator(r, nov, V, "collective_income")["rule"] == "linear_ytd 5→20"


def test_worked_example_star_scores() -> None:
    r = worked()
    zbgy, cyxw, pafz = (star(r, "2026-11", V, c) for c in ("ZBGY", "CYXW", "PAFZ"))
    assert zbgy["indicator_score"] == pytest.approx(61.0)
    assert zbgy["points_score"] == 1.0  # 2 − 5 + 2 + 2; the second Nov ZB01 is over its cap
    assert zbgy["total_score"] == 62.0
    assert not zbgy["awarded"] and not zbgy["vetoed"] and not zbgy["gate_failed"]
    assert zbgy["reason"].startswith("差 18.00 分；")
    assert "三会一课完成率（%） 95 → 100 可得满分" in zbgy["reason"]
    assert "主题党日开展次数 本年累计 1 → 2 可得满分" in zbgy["reason"]
    assert "是否软弱涣散" not in zbgy["reason"]  # at full marks: not listed

    assert cyxw["indicator_score"] == pytest.approx(50 + 380 / 33)  # 20 + 10 + 20 + 11.5152… = 61.5152…
    assert cyxw["points_score"] == 10.0  # CY01 × 2 counted
    assert cyxw["total_score"] == 71.52  # 71.5151… rounded half up
    assert not cyxw["awarded"]
    # Full marks need 20 × 11/12 = 18.333…, shown rounded up so it really suffices.
    assert "村集体经济收入（万元） 12.5 → 18.34 可得满分" in cyxw["reason"]
    assert cyxw["reason"].startswith("差 8.48 分；")

    assert pafz["indicator_score"] == pytest.approx(55.0)
    assert pafz["points_score"] == 5.0  # PA01 × 5 counted
    assert pafz["total_score"] == 60.0
    assert not pafz["awarded"] and not pafz["vetoed"]
    assert "安全事故数 本年累计 1，须为 0 才得满分" in pafz["reason"]

    rt = rating(r, "2026-11", V)
    assert rt["months_accepted"] == 2
    assert rt["star_level"] == 2  # STYJ and WMXF at full marks (80.00) in this fixture
    assert bool(rt["is_latest"]) and not bool(rt["is_final"])
    assert star(r, "2026-11", V, "STYJ")["reason"] == "达标（80.00分）"
    assert star(r, "2026-11", V, "STYJ")["star_name"] == "生态宜居星"


def test_worked_example_as_of_october() -> None:
    r = worked()
    # As of October: m = 10, n = 1.
    assert indicator(r, "2026-10", V, "theme_days")["points"] == 20.0  # 20 × 1 / (1 × 1)
    # linear_ytd: lo = 5 × 10/12, hi = 20 × 10/12 → 20 × (9 − 50/12) / (150/12) = 7.7333…
    assert indicator(r, "2026-10", V, "collective_income")["points"] == pytest.approx(
        20 * (9 - 50 / 12) / 12.5
    )
    assert star(r, "2026-10", V, "ZBGY")["points_score"] == -3.0  # ZB01 + ZB03 = 2 − 5
    assert star(r, "2026-10", V, "ZBGY")["total_score"] == 68.0  # 15 + 20 + 16 + 20 − 3
    rt = rating(r, "2026-10", V)
    assert rt["months_accepted"] == 1 and not bool(rt["is_latest"])


def test_worked_example_with_a_veto_sets_vetoed_for_pafz() -> None:
    r = worked(vetoes=[("2026-10", V, "V01")])
    pafz = star(r, "2026-11", V, "PAFZ")
    assert bool(pafz["vetoed"]) and not pafz["awarded"]
    assert pafz["total_score"] == 60.0  # the score is still reported
    assert pafz["reason"].startswith("一票否决：V01 发生较大及以上安全生产事故；差 20.00 分")


# ------------------------------------------------------- threshold/points ---


def test_all_full_marks_gives_five_stars_for_both_types() -> None:
    r = rate(months=["2026-06"], branches={V: "村", S: "社区"})
    assert rating(r, "2026-06", V)["star_level"] == 5
    assert rating(r, "2026-06", S)["star_level"] == 5
    assert sorted(r.stars.loc[r.stars["branch_code"] == S, "star_code"]) == [
        "GJGX",
        "PAFZ",
        "XFHX",
        "YYXY",
        "ZBGY",
    ]
    assert (r.stars["total_score"] == 80.0).all()
    assert (r.indicator_scores["hint"] == "").all()


def test_threshold_compares_the_rounded_score() -> None:
    # meeting_rate linear 80→100 gives v − 80 points: 99.995 → 79.995 → 80.00 (awarded);
    # 99.994 → 79.994 → 79.99 (not awarded).
    r = rate(
        months=["2026-06"],
        branches={V: "村", V2: "村"},
        values={("2026-06", V): {"meeting_rate": 99.995}, ("2026-06", V2): {"meeting_rate": 99.994}},
    )
    assert star(r, "2026-06", V, "ZBGY")["total_score"] == 80.0
    assert star(r, "2026-06", V, "ZBGY")["awarded"]
    assert star(r, "2026-06", V2, "ZBGY")["total_score"] == 79.99
    assert not star(r, "2026-06", V2, "ZBGY")["awarded"]
    assert star(r, "2026-06", V2, "ZBGY")["reason"] == "差 0.01 分；三会一课完成率（%） 99.99 → 100 可得满分"


def test_points_part_is_clamped_and_configurable() -> None:
    # WM01 (+10, cap 1 a month) in 3 months → 30 star points for WMXF, clamped to 20.
    events = [(p, 2, "WM01") for p in ("2026-01", "2026-02", "2026-03")]
    values = {("2026-03", V): {"satisfaction_rate": 80}}  # WMXF indicators 60
    r = rate(months=["2026-01", "2026-02", "2026-03"], branches={V: "村"}, values=values, events=events)
    w = star(r, "2026-03", V, "WMXF")
    assert (w["indicator_score"], w["points_score"], w["total_score"], w["awarded"]) == (
        60.0,
        20.0,
        80.0,
        True,
    )
    assert star(r, "2026-02", V, "WMXF")["points_score"] == 20.0  # 20 as of February, within bounds
    assert star(r, "2026-01", V, "WMXF")["points_score"] == 10.0
    capped = rate_county_year(
        with_settings(points_part={"min": -5, "max": 15}),
        year=2026,
        **facts(months=["2026-01", "2026-02", "2026-03"], branches={V: "村"}, values=values, events=events),
    )
    assert star(capped, "2026-03", V, "WMXF")["points_score"] == 15.0
    # Negative side: ZB03 (−5, no cap) × 5 = −25 → −20 by default.
    r2 = rate(months=["2026-01"], branches={V: "村"}, events=[("2026-01", d, "ZB03") for d in range(1, 6)])
    assert star(r2, "2026-01", V, "ZBGY")["points_score"] == -20.0
    assert star(r2, "2026-01", V, "ZBGY")["total_score"] == 60.0


def test_member_and_household_items_enter_stars_only_when_configured() -> None:
    events = [("2026-01", 1, "HH01", "户", "H001"), ("2026-01", 1, "DY01", "党员", "DY01")]
    kw = {"months": ["2026-01"], "branches": {V: "村"}, "events": events}
    assert star(rate(**kw), "2026-01", V, "STYJ")["points_score"] == 0.0
    on = rate(rb=with_settings(member_household_points_in_stars=True), **kw)
    assert star(on, "2026-01", V, "STYJ")["points_score"] == 2.0  # HH01 → STYJ for a 村
    assert star(on, "2026-01", V, "ZBGY")["points_score"] == 1.0  # DY01 → ZBGY


def test_items_map_to_the_star_of_the_branch_type() -> None:
    # WM01 feeds WMXF for a 村 and XFHX for a 社区.
    events = [("2026-01", 1, "WM01", "支部", V, V), ("2026-01", 1, "WM01", "支部", S, S)]
    r = rate(months=["2026-01"], branches={V: "村", S: "社区"}, events=events)
    assert star(r, "2026-01", V, "WMXF")["points_score"] == 10.0
    assert star(r, "2026-01", S, "XFHX")["points_score"] == 10.0
    assert set(r.stars.loc[r.stars["points_score"] != 0, "star_code"]) == {"WMXF", "XFHX"}


def test_config_edit_changes_the_result() -> None:
    ind = RB.indicators.copy()
    ind.loc[(ind["key"] == "meeting_rate"), ["lo", "hi"]] = ["90", "110"]
    edited = dataclasses.replace(RB, indicators=ind)
    r = rate(rb=edited, months=["2026-06"], branches={V: "村"})
    assert indicator(r, "2026-06", V, "meeting_rate")["points"] == pytest.approx(10.0)  # 20 × 10/20
    assert indicator(r, "2026-06", V, "meeting_rate")["rule"] == "linear 90→110"
    r2 = rate(
        rb=with_settings(award_threshold=70),
        months=["2026-06"],
        branches={V: "村"},
        values={("2026-06", V): {"meeting_rate": 90}},
    )
    assert star(r2, "2026-06", V, "ZBGY")["awarded"]  # 70.00 ≥ 70


# ------------------------------------------------------ YTD, m and n ---


def test_m_is_the_calendar_month_and_n_the_accepted_months() -> None:
    # Accepted months March and July only: as of July m = 7, n = 2.
    months = ["2026-03", "2026-07"]
    values = {
        ("2026-03", V): {"theme_days": 1, "collective_income": 2, "culture_events": 0},
        ("2026-07", V): {"theme_days": 0, "collective_income": 7, "culture_events": 3},
    }
    r = rate(months=months, branches={V: "村"}, values=values)
    # per_month 1 with n = 2: YTD 1 → 20 × 1/2; culture_events YTD 3 → clamp → 20.
    assert indicator(r, "2026-07", V, "theme_days")[["value", "points"]].tolist() == [1.0, 10.0]
    assert indicator(r, "2026-07", V, "culture_events")[["value", "points"]].tolist() == [3.0, 20.0]
    # linear_ytd with m = 7: lo = 35/12, hi = 140/12 → 20 × (7 − 35/12) / (105/12) = 9.333…
    assert indicator(r, "2026-07", V, "collective_income")["points"] == pytest.approx(
        20 * (7 - 35 / 12) / (105 / 12)
    )
    # As of March: m = 3, n = 1; culture_events 0 → 0; 累计 2 with lo 1.25, hi 5 → 20 × 0.75/3.75 = 4.
    assert indicator(r, "2026-03", V, "culture_events")["points"] == 0.0
    assert indicator(r, "2026-03", V, "collective_income")["points"] == pytest.approx(4.0)
    assert rating(r, "2026-07", V)["months_accepted"] == 2
    assert rating(r, "2026-03", V)["months_accepted"] == 1


def test_zero_rule_uses_year_to_date_sums_of_the_year_only() -> None:
    months25, months26 = ["2025-12"], ["2026-01", "2026-02"]
    values = {
        ("2025-12", V): {"criminal_cases": 4},  # last year: does not count in 2026
        ("2026-01", V): {"bypass_petitions": 2},
        ("2026-02", V): {"bypass_petitions": 0, "safety_accidents": 1},
    }
    f25 = facts(months=months25, branches={V: "村"}, values=values)
    f26 = facts(months=months26, branches={V: "村"}, values=values)
    both = {k: pd.concat([f25[k], f26[k]], ignore_index=True) for k in f25}
    r = rate_county_year(RB, year=2026, **both)
    assert [rt for rt in r.ratings["as_of_period"]] == ["2026-01", "2026-02"]
    assert indicator(r, "2026-02", V, "criminal_cases")[["value", "points"]].tolist() == [0.0, 20.0]
    assert indicator(r, "2026-02", V, "bypass_petitions")[["value", "points"]].tolist() == [2.0, 0.0]
    assert indicator(r, "2026-02", V, "safety_accidents")[["value", "points"]].tolist() == [1.0, 0.0]
    assert indicator(r, "2026-01", V, "safety_accidents")["points"] == 20.0
    assert star(r, "2026-02", V, "PAFZ")["indicator_score"] == 40.0


def test_missing_indicator_value_scores_zero_with_a_hint() -> None:
    r = rate(months=["2026-05"], branches={V: "村"}, values={("2026-05", V): {"greening_rate": None}})
    row = indicator(r, "2026-05", V, "greening_rate")
    assert np.isnan(row["value"]) and row["points"] == 0.0
    assert row["hint"] == "村庄绿化覆盖率（%） 缺少数据"
    assert star(r, "2026-05", V, "STYJ")["total_score"] == 60.0


def test_yes_no_hints() -> None:
    r = rate(months=["2026-05"], branches={V: "村"}, values={("2026-05", V): {"revised_village_rules": 0.0}})
    assert indicator(r, "2026-05", V, "revised_village_rules")["hint"] == "是否修订村规民约 否 → 是 可得满分"
    assert indicator(r, "2026-05", V, "has_civilization_station")["hint"] == ""


# ---------------------------------------------------------------- vetoes ---


def test_veto_in_an_earlier_month_of_the_year_vetoes_pafz() -> None:
    months = ["2026-09", "2026-10", "2026-11"]
    r = rate(months=months, branches={V: "村"}, vetoes=[("2026-10", V, "V01")])
    assert not star(r, "2026-09", V, "PAFZ")["vetoed"]  # before the event
    assert star(r, "2026-09", V, "PAFZ")["awarded"]
    for p in ("2026-10", "2026-11"):
        pafz = star(r, p, V, "PAFZ")
        assert pafz["vetoed"] and not pafz["awarded"] and pafz["total_score"] == 80.0
        assert pafz["reason"] == "一票否决：V01 发生较大及以上安全生产事故"
        assert rating(r, p, V)["star_level"] == 4
    assert not r.stars.loc[r.stars["star_code"] != "PAFZ", "vetoed"].any()


def test_veto_of_last_year_does_not_reach_this_year() -> None:
    f25 = facts(months=["2025-12"], branches={V: "村"}, vetoes=[("2025-12", V, "V02")])
    f26 = facts(months=["2026-01"], branches={V: "村"})
    both = {k: pd.concat([f25[k], f26[k]], ignore_index=True) for k in f25}
    assert rating(rate_county_year(RB, year=2026, **both), "2026-01", V)["star_level"] == 5
    assert rating(rate_county_year(RB, year=2025, **both), "2025-12", V)["star_level"] == 4


def test_v04_applies_to_villages_only_and_v05_to_two_stars() -> None:
    vetoes = [("2026-04", V, "V04"), ("2026-04", S, "V04"), ("2026-04", V2, "V05")]
    r = rate(months=["2026-04"], branches={V: "村", S: "社区", V2: "村"}, vetoes=vetoes)
    vetoed = r.stars[r.stars["vetoed"]].groupby("branch_code")["star_code"].apply(sorted).to_dict()
    assert vetoed == {V: ["STYJ"], V2: ["PAFZ", "WMXF"]}  # V04 does not apply to a 社区
    assert rating(r, "2026-04", S)["star_level"] == 5
    assert rating(r, "2026-04", V2)["star_level"] == 3


def test_v06_vetoes_all_five_and_several_vetoes_are_listed() -> None:
    r = rate(
        months=["2026-04"],
        branches={V: "村", S: "社区"},
        vetoes=[("2026-04", V, "V06"), ("2026-04", S, "V06")],
    )
    assert r.stars["vetoed"].all() and not r.stars["awarded"].any()
    assert (r.ratings["star_level"] == 0).all()
    r2 = rate(months=["2026-04"], branches={V: "村"}, vetoes=[("2026-04", V, "V06"), ("2026-04", V, "V01")])
    assert star(r2, "2026-04", V, "PAFZ")["reason"] == (
        "一票否决：V01 发生较大及以上安全生产事故、V06 创星工作弄虚作假"
    )


# ------------------------------------------------------------------ gate ---


def test_weak_branch_gate_is_not_a_veto() -> None:
    values = {("2026-10", V): {"is_weak": 1.0}, ("2026-11", V): {"is_weak": 0.0}}
    r = rate(months=["2026-10", "2026-11"], branches={V: "村"}, values=values)
    z = star(r, "2026-10", V, "ZBGY")
    assert z["gate_failed"] and not z["vetoed"] and not z["awarded"]
    assert z["total_score"] == 60.0  # is_weak scores 0 under rule `no`
    assert z["reason"] == "支部软弱涣散；差 20.00 分；是否软弱涣散 是 → 否 可得满分"
    # The gate looks at month m only: 否 in November → passed again.
    z11 = star(r, "2026-11", V, "ZBGY")
    assert not z11["gate_failed"] and z11["awarded"]
    assert not r.stars.loc[r.stars["star_code"] != "ZBGY", "gate_failed"].any()


def test_gate_withholds_the_star_even_above_the_threshold() -> None:
    low = with_settings(award_threshold=50)
    r = rate(
        rb=low, months=["2026-10"], branches={V: "村", S: "社区"}, values={("2026-10", V): {"is_weak": 1.0}}
    )
    z = star(r, "2026-10", V, "ZBGY")
    assert z["total_score"] == 60.0 and z["gate_failed"] and not z["awarded"] and not z["vetoed"]
    assert z["reason"] == "支部软弱涣散"
    assert rating(r, "2026-10", V)["star_level"] == 4
    assert star(r, "2026-10", S, "ZBGY")["awarded"]


# ---------------------------------------------------------- prerequisite ---


def test_prerequisite_option() -> None:
    # V lacks ZBGY (theme_days 0 → 60 points) but holds the other four; V2 holds all five.
    kw = {
        "months": ["2026-01"],
        "branches": {V: "村", V2: "村"},
        "values": {("2026-01", V): {"theme_days": 0}},
    }
    off = rate(**kw)
    assert not star(off, "2026-01", V, "ZBGY")["awarded"]
    assert rating(off, "2026-01", V)["star_level"] == 4
    on = rate(rb=with_settings(prerequisite="ZBGY"), **kw)
    assert rating(on, "2026-01", V)["star_level"] == 0
    assert rating(on, "2026-01", V2)["star_level"] == 5
    assert star(on, "2026-01", V, "CYXW")["awarded"]  # stars themselves are unchanged


# -------------------------------------------------- finality, branch set ---


def test_finality_latest_and_the_branch_set_of_each_month() -> None:
    f = facts(months=["2026-11", "2026-12"], branches={V: "村", V2: "村"})
    roster = f["roster"]
    f["roster"] = roster[~((roster["period"] == "2026-12") & (roster["branch_code"] == V2))]
    r = rate_county_year(RB, year=2026, **f)
    rt = r.ratings.set_index(["as_of_period", "branch_code"])
    assert rt.index.tolist() == [("2026-11", V), ("2026-11", V2), ("2026-12", V)]
    assert rt.loc[("2026-12", V), ["is_final", "is_latest", "months_accepted"]].tolist() == [True, True, 2]
    assert rt.loc[("2026-11", V), ["is_final", "is_latest"]].tolist() == [False, False]
    assert set(r.stars.loc[r.stars["as_of_period"] == "2026-12", "branch_code"]) == {V}
    assert (r.ratings["year"] == 2026).all() and (r.ratings["county_code"] == C).all()


def test_a_year_without_months_gives_empty_frames_with_the_contract_columns() -> None:
    r = rate(year=2027, months=["2026-01"], branches={V: "村"})
    assert r.ratings.empty and r.stars.empty and r.indicator_scores.empty
    assert (
        "star_level" in r.ratings.columns
        and "reason" in r.stars.columns
        and "hint" in r.indicator_scores.columns
    )


# --------------------------------------------------------------- changes ---


def history() -> tuple[pd.DataFrame, pd.DataFrame]:
    """2025-12: five stars. 2026-10: STYJ lost (toilet 60 → 0 points), PAFZ vetoed (V01).
    2026-11: STYJ back (toilet 80), PAFZ still vetoed."""
    values = {("2026-10", V): {"toilet_rate": 60}}
    f = facts(
        months=["2025-12", "2026-10", "2026-11"],
        branches={V: "村"},
        values=values,
        vetoes=[("2026-10", V, "V01")],
    )
    r25 = rate_county_year(RB, year=2025, **f)
    r26 = rate_county_year(RB, year=2026, **f)
    return pd.concat([r25.stars, r26.stars]), pd.concat([r25.ratings, r26.ratings])


def test_changes_against_previous_month_and_previous_year() -> None:
    stars_all, ratings_all = history()
    ch = compute_changes(RB, stars_all, ratings_all, 2026).set_index(["as_of_period", "basis"])
    assert sorted(ch.index.tolist()) == [
        ("2026-10", "prev_month"),
        ("2026-10", "prev_year"),
        ("2026-11", "prev_month"),
        ("2026-11", "prev_year"),
    ]
    oct_m = ch.loc[("2026-10", "prev_month")]  # nearest earlier as-of rating: 2025-12 (previous year)
    assert oct_m[["compared_period", "level_before", "level_after"]].tolist() == ["2025-12", 5, 3]
    assert oct_m[["stars_gained", "stars_lost"]].tolist() == ["", "STYJ|PAFZ"]
    assert oct_m["reason"] == (
        "较上月（2025-12）：星级 5 → 3；失去 生态宜居星（差 20.00 分；卫生厕所普及率（%） 60 → 80 可得满分）、"
        "平安法治星（一票否决：V01 发生较大及以上安全生产事故）"
    )
    nov_m = ch.loc[("2026-11", "prev_month")]
    assert nov_m[["compared_period", "level_before", "level_after"]].tolist() == ["2026-10", 3, 4]
    assert nov_m[["stars_gained", "stars_lost"]].tolist() == ["STYJ", ""]
    assert nov_m["reason"] == "较上月（2026-10）：星级 3 → 4；新增 生态宜居星"
    nov_y = ch.loc[("2026-11", "prev_year")]
    assert nov_y[["compared_period", "level_before", "level_after"]].tolist() == ["2025-12", 5, 4]
    assert nov_y[["stars_gained", "stars_lost"]].tolist() == ["", "PAFZ"]
    assert nov_y["reason"].startswith("较上年（2025-12）：星级 5 → 4；失去 平安法治星（一票否决：V01")
    assert (ch["year"] == 2026).all()


def test_changes_only_where_a_comparison_exists() -> None:
    stars_all, ratings_all = history()
    # 2025 has a single as-of month and no 2024 ratings: nothing to compare.
    assert compute_changes(RB, stars_all, ratings_all, 2025).empty
    f = facts(months=["2026-01", "2026-02"], branches={V: "村"})
    r = rate_county_year(RB, year=2026, **f)
    ch = compute_changes(RB, r.stars, r.ratings, 2026)
    assert ch[["as_of_period", "basis", "compared_period"]].values.tolist() == [
        ["2026-02", "prev_month", "2026-01"]
    ]
    assert ch.iloc[0]["reason"] == "较上月（2026-01）：星级 5 不变；无增减"
    assert ch.columns.tolist() == [
        "year",
        "as_of_period",
        "branch_code",
        "basis",
        "compared_period",
        "level_before",
        "level_after",
        "stars_gained",
        "stars_lost",
        "reason",
    ]
