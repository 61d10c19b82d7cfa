"""Closing and reopening county-months (fivestar.warehouse.periods), SQLite and PostgreSQL.

In: a fresh warehouse with three registered counties. Out: checks that a whole-period close
closes every registered county, a reopen opens one, a later close closes it again, and
that rpt_period_event / rpt_completeness.closed say the same (times in Asia/Shanghai).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.engine import Engine

from fivestar.warehouse.periods import closed_county_months, period_events, record_period_event

NOW = dt.datetime(2026, 12, 10, 2, 0, tzinfo=dt.UTC)  # 10:00 in Beijing


def _registry(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO registry_region (code, name, level, parent_code) VALUES "
            "('410000', '省', 'province', NULL), ('410500', '市', 'city', '410000'), "
            "('410522', '甲县', 'county', '410500'), ('410523', '乙县', 'county', '410500'), "
            "('410526', '丙县', 'county', '410500')"
        )


def test_close_reopen_close_again(warehouse_engine: Engine) -> None:
    e = warehouse_engine
    _registry(e)
    assert closed_county_months(e) == set()
    record_period_event(e, period="2026-11", action="close", actor="it", now=NOW, reason="年度结账")
    everyone = {("2026-11", c) for c in ("410522", "410523", "410526")}
    assert closed_county_months(e) == everyone
    later = NOW + dt.timedelta(hours=1)
    record_period_event(
        e, period="2026-11", action="reopen", county_code="410523", actor="王", now=later, reason="补报"
    )
    assert closed_county_months(e) == everyone - {("2026-11", "410523")}
    with e.connect() as conn:
        assert closed_county_months(conn) == everyone - {("2026-11", "410523")}  # a Connection works too
    record_period_event(e, period="2026-11", action="close", actor="it", now=later + dt.timedelta(hours=1))
    assert closed_county_months(e) == everyone
    assert [(r["county_code"], r["action"]) for r in period_events(e)] == [
        ("", "close"),
        ("410523", "reopen"),
        ("", "close"),
    ]
    with e.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT period, county_code, action, actor, at, reason FROM rpt_period_event ORDER BY event_id"
        ).all()
    assert [tuple(r[:4]) for r in rows][:2] == [
        ("2026-11", "", "close", "it"),
        ("2026-11", "410523", "reopen", "王"),
    ]
    assert str(rows[0][4])[:19] == "2026-12-10 10:00:00"  # stored UTC, shown in Beijing time
    assert rows[0][5] == "年度结账" and rows[1][5] == "补报"
