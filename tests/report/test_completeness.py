"""The report's 报送情况 section and the completeness rows under it, SQLite and PostgreSQL.

In: a registry of two cities and three counties, submission rows around the October
and November deadlines, the completeness stage with a fixed "now", a close of October.
Out: checks of compute_completeness's rules (range of months, on time at the deadline,
started days late, rejected, missing, late_closed waiting) and of the report section
(on-time rates per province / city / county, the missing and late county-months).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from fivestar.completeness import refresh_completeness
from fivestar.deadlines import Deadlines
from fivestar.report.completeness import TABLES, completeness
from fivestar.report.html import html_table
from fivestar.warehouse.periods import record_period_event

CST = ZoneInfo("Asia/Shanghai")


def _utc(text: str) -> str:
    local = dt.datetime.fromisoformat(text).replace(tzinfo=CST)
    return local.astimezone(dt.UTC).replace(tzinfo=None).isoformat(sep=" ")


def _setup(engine: Engine) -> None:
    subs = [  # county, period, version, status, received (Beijing time)
        ("410522", "2026-10", 1, "accepted", "2026-11-05 23:59:59"),  # at the deadline: on time
        ("410523", "2026-10", 1, "rejected", "2026-11-02 10:00:00"),
        ("410523", "2026-10", 2, "accepted_with_warnings", "2026-11-06 03:00:00"),  # 3 h late: 1 day
        ("410621", "2026-10", 1, "rejected", "2026-11-04 10:00:00"),  # never corrected
        ("410522", "2026-11", 1, "superseded", "2026-12-01 10:00:00"),
        ("410522", "2026-11", 2, "accepted", "2026-12-07 10:00:00"),  # the first accepted one counts
        ("410621", "2026-11", 1, "late_closed", "2026-12-09 10:00:00"),  # waiting: still missing
    ]
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO registry_region (code, name, level, parent_code) VALUES "
            "('410000', '河南省', 'province', NULL), ('410500', '安阳市', 'city', '410000'), "
            "('410600', '鹤壁市', 'city', '410000'), ('410522', '安阳县', 'county', '410500'), "
            "('410523', '汤阴县', 'county', '410500'), ('410621', '浚县', 'county', '410600')"
        )
        for c, p, v, s, at in subs:
            conn.exec_driver_sql(
                "INSERT INTO submission (county_code, period, version, status, received_at) "
                f"VALUES ('{c}', '{p}', {v}, '{s}', '{_utc(at)}')"
            )


def test_completeness_rows_and_the_report_section(warehouse_engine: Engine) -> None:
    e = warehouse_engine
    _setup(e)
    now = dt.datetime(2027, 1, 10, 9, 0, tzinfo=CST)  # December's deadline (5 Jan) has passed too
    assert refresh_completeness(e, Deadlines(), now) == 9  # 2026-10 … 2026-12 × 3 counties
    record_period_event(e, period="2026-11", action="close", actor="it", now=now)
    with e.connect() as conn:
        rows = {
            (r.period, r.county_code): r
            for r in conn.exec_driver_sql(
                "SELECT period, county_code, versions, current_version, status, on_time, days_late, closed, "
                "late_closed, accepted_version FROM rpt_completeness"
            )
        }
    got = {
        k: (r.versions, r.current_version, r.status, bool(r.on_time), r.days_late) for k, r in rows.items()
    }
    assert got == {
        ("2026-10", "410522"): (1, 1, "accepted", True, 0),
        ("2026-10", "410523"): (2, 2, "accepted_with_warnings", False, 1),
        ("2026-10", "410621"): (1, None, "rejected", False, None),
        ("2026-11", "410522"): (2, 2, "accepted", True, 0),  # v1 (since superseded) was on time
        ("2026-11", "410523"): (0, None, "missing", False, None),
        ("2026-11", "410621"): (1, None, "missing", False, None),  # a late_closed file changes nothing
        ("2026-12", "410522"): (0, None, "missing", False, None),
        ("2026-12", "410523"): (0, None, "missing", False, None),
        ("2026-12", "410621"): (0, None, "missing", False, None),
    }
    assert [bool(rows[("2026-11", c)].closed) for c in ("410522", "410523", "410621")] == [True] * 3
    assert not bool(rows[("2026-10", "410522")].closed)
    assert rows[("2026-11", "410621")].late_closed == 1 and rows[("2026-10", "410523")].accepted_version == 2

    d = completeness(e, 2026)
    areas = {(a["area_level"], a["area_code"]): a for a in d["areas"]}
    prov = areas[("province", "")]
    assert (prov["due"], prov["accepted"], prov["on_time"], prov["late"], prov["missing"]) == (9, 3, 2, 1, 6)
    assert abs(prov["on_time_rate"] - 2 / 9) < 1e-9
    city = areas[("city", "410500")]
    assert (city["area_name"], city["due"], city["on_time"], city["avg_versions"]) == ("安阳市", 6, 2, 4 / 3)
    assert areas[("county", "410523")]["avg_days_late"] == 1.0
    gaps = {(g["period"], g["county_code"]): g for g in d["gaps"]}
    assert (
        gaps[("2026-10", "410523")]["state"] == "逾期 1 天报送"
        and gaps[("2026-10", "410523")]["accepted_version"] == 2
    )
    assert gaps[("2026-10", "410621")]["state"] == "已报 1 版均被退回，尚未改正"
    assert (
        gaps[("2026-11", "410523")]["state"] == "未报送"
        and gaps[("2026-11", "410523")]["closed_label"] == "已关闭"
    )
    assert "按时报送率 22.2%" in d["summary"] and "浚县（2026-10）" in d["summary"]
    sheet, cols = TABLES["completeness_gaps"]
    table = html_table("completeness_gaps", sheet, cols, d["gaps"])
    assert len(table.rows) == 7 and table.headers[4] == "情况"
