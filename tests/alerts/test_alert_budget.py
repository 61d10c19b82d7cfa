"""Dead contacts cost a bounded time and are given up (issue 19, item 2).

In: provinces whose contacts are a closed loopback port and servers that accept and
never answer (SMTP and robots), a real SQLite warehouse, the real flow; an IT robot
(local HTTP receiver) for the digest. Out: the loads are committed before any alert is
tried, the alert stage stops at its budget (recorded in the run's result and the `run`
row), each dead target is given up after the configured attempts and listed once in
the IT digest; the retry policy's age limit and the sample's contacts. No timing
asserts beyond generous bounds: the time cost is in `python -m bench` (case `dead`).
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from alertkit import PERIOD, Hang, Receiver, closed_port, pipeline_env, province, run_flow
from sqlalchemy import text

import wbfactory as W
from fivestar.alerts.policy import Budget, RetryPolicy
from fivestar.alerts.stage import alert_stage
from fivestar.config import Registry
from fivestar.findings import make_findings
from fivestar.settings import Settings

GIVEN_UP_TITLE = "已放弃的通知"


# ----------------------------------------------------------------------------- policy
def test_retry_policy_by_attempts_and_age() -> None:
    p = RetryPolicy(max_attempts=4, max_age=dt.timedelta(hours=48), tries_per_run=3)
    t0 = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)
    assert p.give_up_reason(0, None, t0) is None
    assert p.tries_now(0) == 3 and p.tries_now(2) == 2 and p.tries_now(4) == 0
    assert p.give_up_reason(3, t0, t0 + dt.timedelta(hours=47)) is None
    assert "4 failed attempts" in (p.give_up_reason(4, t0, t0) or "")
    assert "48 h" in (p.give_up_reason(1, t0, t0 + dt.timedelta(hours=49)) or "")
    # Warehouse timestamps are naive local time; `now` is aware: both compare correctly.
    local = (t0 + dt.timedelta(hours=1)).astimezone().replace(tzinfo=None)
    assert p.give_up_reason(1, local, t0 + dt.timedelta(hours=48, minutes=30)) is None
    assert p.give_up_reason(1, str(local), t0 + dt.timedelta(hours=49, minutes=30)) is not None


def test_budget_runs_on_the_given_clock() -> None:
    now = [100.0]
    b = Budget(5, clock=lambda: now[0])
    assert b.remaining() == 5 and not b.spent()
    now[0] = 104.0
    assert b.remaining() == pytest.approx(1) and b.until(0.5).remaining() == pytest.approx(0.5)
    now[0] = 106.0
    assert b.spent() and b.remaining() == 0


# ----------------------------------------------------------------------------- stage
def _settings(tmp_path: Path, **kw: Any) -> Settings:
    return Settings(
        warehouse_url=f"sqlite:///{tmp_path / 'wh.db'}",
        raw_dir=tmp_path / "raw",
        processed_dir=tmp_path / "processed",
        config_dir=tmp_path / "config",
        smtp_from="fivestar@example.org",
        **kw,
    )


def _item(code: str) -> dict[str, Any]:
    return {
        "county_code": code,
        "period": PERIOD,
        "version": 1,
        "status": "accepted",
        "findings": make_findings([]),
        "attachment": None,
    }


def test_an_alert_older_than_the_age_limit_is_given_up_without_a_new_attempt(
    warehouse_engine: Any, tmp_path: Path
) -> None:
    dead = f"http://127.0.0.1:{closed_port()}/hook"
    registry = Registry(
        regions=W.registry_frame({"410522": "林州市"}, {}),
        submitters=pd.DataFrame(
            [
                {"county_code": "410522", "name": "王五", "email": "", "webhook_url": dead},
                # A target no retry can fix is given up at once, without a network attempt.
                {"county_code": "410522", "name": "赵六", "email": "", "webhook_url": "ftp://x.invalid/h"},
            ]
        ),
    )
    s = _settings(tmp_path, alert_max_attempts=10, alert_max_age_hours=24)
    t0 = dt.datetime.now(dt.UTC)
    first = alert_stage(
        warehouse_engine,
        s,
        registry,
        run_id="r1",
        items=[_item("410522")],
        processed=[],
        sleep=lambda _: None,
    )
    assert first["summary"] | {"seconds": 0} == {
        "budget_s": 60.0,
        "seconds": 0,
        "sent": 0,
        "failed": 1,
        "deferred": 0,
        "given_up": 1,
        "budget_used_up": False,
        "digests_sent": 0,
        "digests_owed": 0,
    }
    # Still under both limits a day later: tried again, three more attempts.
    later = alert_stage(
        warehouse_engine,
        s,
        registry,
        run_id="r2",
        items=[_item("410522")],
        processed=[],
        now=t0 + dt.timedelta(hours=20),
        sleep=lambda _: None,
    )
    assert later["summary"]["failed"] == 1 and later["summary"]["given_up"] == 0
    assert [r["attempt"] for r in later["records"]] == [4, 5, 6]
    # Past the age limit: given up, no network attempt.
    old = alert_stage(
        warehouse_engine,
        s,
        registry,
        run_id="r3",
        items=[_item("410522")],
        processed=[],
        now=t0 + dt.timedelta(hours=25),
        sleep=lambda _: None,
    )
    assert [(r["outcome"], r["attempt"]) for r in old["records"]] == [("given_up", 6)]
    assert "24 h" in old["records"][0]["error"]
    with warehouse_engine.connect() as conn:
        rows = conn.execute(
            text("SELECT recipient, outcome, COUNT(*) FROM alert_delivery GROUP BY 1, 2 ORDER BY 1, 2")
        ).all()
    assert [(o, n) for _, o, n in rows] == [("failed", 1), ("given_up", 1), ("failed", 6), ("given_up", 1)]
    # Nothing is owed any more: a later stage tries nothing.
    again = alert_stage(warehouse_engine, s, registry, run_id="r4", items=[_item("410522")], processed=[])
    assert again["records"] == []


def test_a_spent_budget_defers_every_delivery(warehouse_engine: Any, tmp_path: Path) -> None:
    hook = Receiver()
    try:
        registry = Registry(
            regions=W.registry_frame({"410522": "林州市", "410523": "安阳县"}, {}),
            submitters=pd.DataFrame(
                [
                    {"county_code": c, "name": "x", "email": "", "webhook_url": f"{hook.base}/{c}"}
                    for c in ("410522", "410523")
                ]
            ),
        )
        items = [_item("410522"), _item("410523")]
        out = alert_stage(
            warehouse_engine,
            _settings(tmp_path, alert_budget_s=0),
            registry,
            run_id="r1",
            items=items,
            processed=[],
        )
        assert hook.bodies == []
        assert [(r["outcome"], r["attempt"]) for r in out["records"]] == [("queued", 0), ("queued", 0)]
        assert out["summary"]["deferred"] == 2 and out["summary"]["budget_used_up"]
        # With time to spare the put-off alerts go out, numbered as first attempts.
        again = alert_stage(
            warehouse_engine, _settings(tmp_path), registry, run_id="r2", items=items, processed=[]
        )
        assert [(r["outcome"], r["attempt"]) for r in again["records"]] == [("sent", 1), ("sent", 1)]
        assert len(hook.bodies) == 2
    finally:
        hook.close()


# ----------------------------------------------------------------------------- the flow
def _given_up_rows(digest_text: str) -> list[str]:
    rows, inside = [], False
    for line in digest_text.splitlines():
        if line.startswith(GIVEN_UP_TITLE):
            inside = True
        elif inside and line.startswith("  - "):
            rows.append(line[4:])
        elif inside:
            inside = False
    return rows


def test_dead_targets_cost_the_budget_then_are_given_up_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    counties = {f"4105{i:02d}": f"测试{i}县" for i in range(1, 11)}
    db_holder: dict[str, str] = {}
    committed: list[int] = []

    def loads_visible() -> None:
        # Runs when a dead target is contacted: the run's loads must be committed by then.
        with sqlite3.connect(db_holder["db"]) as conn:
            committed.append(conn.execute("SELECT COUNT(*) FROM submission").fetchone()[0])

    hang, it = Hang(loads_visible), Receiver()
    closed = closed_port()
    try:
        contacts = [
            (
                code,
                "联系人",
                f"c{code}@example.org",
                f"http://127.0.0.1:{closed if i % 2 else hang.port}/robot/{code}",
            )
            for i, code in enumerate(counties)
        ]
        cfg = province(tmp_path, counties, contacts)
        budget = 2.0
        db_holder["db"] = pipeline_env(
            monkeypatch,
            tmp_path,
            cfg,
            FIVESTAR_SMTP_HOST="127.0.0.1",
            FIVESTAR_SMTP_PORT=hang.port,  # accepts, never greets
            FIVESTAR_IT_ALERT_WEBHOOK=f"{it.base}/it",
            FIVESTAR_ALERT_BUDGET_SECONDS=budget,
            FIVESTAR_ALERT_WORKERS=4,
            FIVESTAR_ALERT_MAX_ATTEMPTS=2,
        )

        first = run_flow()
        assert {r["status"] for r in first["summary"]} == {"accepted"} and len(first["summary"]) == 10
        alerts = first["alerts"]
        assert alerts["budget_used_up"] and alerts["deferred"] > 0 and alerts["sent"] == 0
        assert alerts["budget_s"] == budget and alerts["seconds"] < budget + 10  # generous
        assert committed and set(committed) == {10}
        with sqlite3.connect(db_holder["db"]) as conn:
            (summary,) = conn.execute("SELECT summary FROM run ORDER BY started_at LIMIT 1").fetchone()
        assert json.loads(summary)["alerts"] == alerts

        # Later runs (nothing new) retry what is owed, all at once, until all is given up.
        monkeypatch.setenv("FIVESTAR_ALERT_WORKERS", "32")
        for _ in range(5):
            later = run_flow()
            assert later["summary"] == [] and later["alerts"]["seconds"] < budget + 10
            with sqlite3.connect(db_holder["db"]) as conn:
                owed = conn.execute(
                    "SELECT COUNT(*) FROM (SELECT alert_key, channel, recipient FROM alert_delivery "
                    "WHERE alert_key LIKE 'submission:%' GROUP BY 1, 2, 3 "
                    "HAVING SUM(CASE WHEN outcome = 'given_up' THEN 1 ELSE 0 END) = 0)"
                ).fetchone()[0]
            if not owed:
                break
        assert owed == 0
        with sqlite3.connect(db_holder["db"]) as conn:
            per_target = conn.execute(
                "SELECT alert_key, channel, SUM(outcome = 'failed'), SUM(outcome = 'given_up'), "
                "SUM(outcome = 'sent') FROM alert_delivery WHERE alert_key LIKE 'submission:%' "
                "GROUP BY alert_key, channel, recipient ORDER BY 1, 2"
            ).fetchall()
        assert len(per_target) == 20  # an e-mail and a robot per county
        assert all((f, g, s) == (2, 1, 0) for _, _, f, g, s in per_target), per_target

        # Each given-up alert is listed once, in the IT digest of the run that gave it up.
        digests = [b["json"] for b in it.bodies if b["json"].get("status") == "digest"]
        listed = [row for d in digests for row in _given_up_rows(d["text"])]
        assert len(listed) == 20
        for key, channel, *_ in per_target:
            assert sum(row.startswith(f"{key} {channel} →") for row in listed) == 1, (key, channel)

        # Given up means given up: the next run contacts nobody.
        accepted, n_bodies = len(hang.held), len(it.bodies)
        final = run_flow()
        assert final["alerts"]["sent"] + final["alerts"]["failed"] + final["alerts"]["deferred"] == 0
        assert len(hang.held) == accepted and len(it.bodies) == n_bodies
    finally:
        hang.close()
        it.close()


# ----------------------------------------------------------------------------- sample
def test_sample_writes_no_unreachable_contacts(rulebook: Any) -> None:
    from fivestar.sample.province import build_province

    contacts = [c for county in build_province(rulebook, 12, 7, (3, 4)) for c in county.contacts]
    assert contacts and all(c.webhook_url == "" for c in contacts)
    assert all(c.email for c in contacts)  # every contact still reachable by e-mail
