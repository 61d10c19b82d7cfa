"""The monthly cycle across a deadline, on SQLite and PostgreSQL: completeness, closing,
a late_closed file, a reopen, and a rulebook change that leaves a closed month alone.

In: a generated province (5 counties, 2026-10 and 2026-11) whose files get modification
times around the deadlines (os.utime), a clean copy of the same province (the correction
of a rejected file), an SMTP sink, and runs with a fixed clock (`now`). Out: checks of
rpt_completeness row by row, rpt_period_event, the late_closed version (archived, not
loaded, county and IT told), its load after a reopen (same version), and that ratings
of a closed month never change while an open month is re-rated.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from servers import SmtpSink
from sqlalchemy import text
from typer.testing import CliRunner

from fivestar.cli import app
from fivestar.sample import generate
from fivestar.warehouse.engine import make_engine

CST = ZoneInfo("Asia/Shanghai")
NOV, OCT = "2026-11", "2026-10"


def _at(text_: str) -> float:
    return dt.datetime.fromisoformat(text_).replace(tzinfo=CST).timestamp()


def _touch(path: Path, when: str) -> None:
    os.utime(path, (_at(when), _at(when)))


@pytest.fixture(scope="module")
def provinces(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    kw = dict(counties=5, seed=3, months=2, branches_per_county=(12, 20), events_per_branch=3)
    dirty = tmp_path_factory.mktemp("province")
    generate(dirty, NOV, **kw)
    clean = tmp_path_factory.mktemp("clean")
    generate(clean, NOV, inject=False, **kw)
    return dirty, clean


def _rows(url: str, sql: str) -> pd.DataFrame:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return pd.read_sql(text(sql), conn)
    finally:
        engine.dispose()


def _completeness(url: str) -> dict[tuple[str, str], dict]:
    df = _rows(url, "SELECT * FROM rpt_completeness")
    out = {}
    for r in df.to_dict("records"):
        r = {k: (None if not isinstance(v, str) and pd.isna(v) else v) for k, v in r.items()}
        for k in ("deadline", "first_received_at", "last_received_at"):
            r[k] = None if r[k] is None else str(r[k])[:19]
        for k in ("expected", "on_time", "closed"):
            r[k] = bool(r[k])
        out[(r["period"], r["county_code"])] = r
    return out


def test_deadline_close_late_closed_reopen_and_rulebook_change(
    warehouse_url: str, provinces: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.nightly import fivestar_run

    dirty, clean = provinces
    root = tmp_path / "province"
    shutil.copytree(dirty / "config", root / "config")
    raw = root / "raw"
    manifest = json.loads((dirty / "manifest.json").read_text(encoding="utf-8"))
    expected = {(f["county_code"], f["period"]): f["expected_status"] for f in manifest["files"]}
    files = {(f["county_code"], f["period"]): dirty / f["path"] for f in manifest["files"]}
    counties = sorted({c for c, _ in expected})
    rejected = [c for c in counties if expected[(c, NOV)] == "rejected"]
    assert rejected, expected
    a = rejected[0]  # rejected, then corrected before the deadline
    others = [c for c in counties if c != a]
    b, c_late, d_missing, e = others[0], others[1], others[2], others[3]

    def put(county: str, period: str, when: str, src: Path | None = None, suffix: str = "") -> None:
        src = src or files[(county, period)]
        dest = raw / period / (src.stem + suffix + src.suffix)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest)
        _touch(dest, when)

    for county in counties:  # October: everyone on time except D, whose file is held back
        if county != d_missing:
            put(county, OCT, "2026-11-03T10:00:00")
    put(a, NOV, "2026-12-03T10:00:00")
    put(a, NOV, "2026-12-05T20:00:00", clean / files[(a, NOV)].relative_to(dirty), "_更正")
    put(b, NOV, "2026-12-05T23:59:59")  # at the deadline: on time
    put(c_late, NOV, "2026-12-08T03:00:00")  # 2 days 3 hours late: 3 started days
    put(e, NOV, "2026-12-01T08:00:00")

    sink = SmtpSink()
    try:
        env = {
            "FIVESTAR_RAW_DIR": raw,
            "FIVESTAR_CONFIG_DIR": root / "config",
            "FIVESTAR_PROCESSED_DIR": tmp_path / "processed",
            "FIVESTAR_WAREHOUSE_URL": warehouse_url,
            "FIVESTAR_SMTP_HOST": "127.0.0.1",
            "FIVESTAR_SMTP_PORT": sink.port,
            "FIVESTAR_SMTP_FROM": "fivestar@example.org",
            "FIVESTAR_IT_ALERT_EMAIL": "it@example.org",
        }
        for k, v in env.items():
            monkeypatch.setenv(k, str(v))
        for k in ("FIVESTAR_IT_ALERT_WEBHOOK", "http_proxy", "HTTP_PROXY"):
            monkeypatch.delenv(k, raising=False)

        # ---- run 1: 10 December, after November's deadline -------------------------
        fivestar_run.fn(now="2026-12-10T02:00:00")
        subs = _rows(warehouse_url, "SELECT county_code, period, version, status FROM rpt_submission")
        status = {(r.county_code, r.period, int(r.version)): r.status for r in subs.itertuples()}
        assert status[(a, NOV, 1)] == "rejected" and status[(a, NOV, 2)].startswith("accepted")
        got = _completeness(warehouse_url)
        assert set(got) == {(p, c) for p in (OCT, NOV) for c in counties}  # 2 periods × 5 counties
        assert got[(NOV, a)]["deadline"] == "2026-12-05 23:59:59"  # Beijing time
        assert {k: got[(NOV, a)][k] for k in (
            "versions", "current_version", "status", "on_time", "days_late", "first_received_at",
            "last_received_at", "closed", "expected",
        )} == {
            "versions": 2, "current_version": 2, "status": status[(a, NOV, 2)], "on_time": True,
            "days_late": 0, "first_received_at": "2026-12-03 10:00:00",
            "last_received_at": "2026-12-05 20:00:00", "closed": False, "expected": True,
        }  # fmt: skip
        assert (got[(NOV, b)]["on_time"], got[(NOV, b)]["days_late"]) == (True, 0)
        assert (got[(NOV, c_late)]["on_time"], got[(NOV, c_late)]["days_late"]) == (False, 3)
        assert got[(NOV, c_late)]["status"] == expected[(c_late, NOV)]
        missing = got[(NOV, d_missing)]
        assert (missing["versions"], missing["status"], missing["current_version"], missing["days_late"]) == (
            0, "missing", None, None,
        )  # fmt: skip
        assert missing["first_received_at"] is None and missing["on_time"] is False
        assert got[(OCT, d_missing)]["status"] == "missing"
        for county in others:
            if county != d_missing:
                st = expected[(county, OCT)]
                row = got[(OCT, county)]
                assert row["status"] == st and row["versions"] == 1
                assert row["on_time"] is (st != "rejected")
                assert row["days_late"] == (None if st == "rejected" else 0)
        assert got[(NOV, a)]["city_code"] == next(
            x["city_code"] for x in manifest["counties"] if x["code"] == a
        )
        it_mail = [m for rcpt, m in sink.messages if "it@example.org" in rcpt]
        assert any(d_missing in m.get_body(("plain",)).get_content() for m in it_mail)  # missing, listed

        # ---- close October; the rulebook changes; D's October file arrives ---------
        result = CliRunner().invoke(
            app, ["close", "--period", OCT, "--reason", "10月数据已上报省委组织部", "--by", "李四"]
        )
        assert result.exit_code == 0, result.output
        oct_stars = "SELECT county_code, branch_code, star_code, total_score FROM branch_star WHERE as_of_period = '{}' ORDER BY 1, 2, 3"
        before_oct = _rows(warehouse_url, oct_stars.format(OCT))
        before_nov = _rows(warehouse_url, oct_stars.format(NOV))
        rb = root / "config" / "rulebook.yaml"
        rb.write_text(
            rb.read_text(encoding="utf-8").replace("indicator_points: 20", "indicator_points: 15"),
            encoding="utf-8",
        )
        put(d_missing, OCT, "2026-11-10T09:30:00")
        sink.received.clear()

        fivestar_run.fn(now="2026-12-12T09:00:00")
        late = _rows(
            warehouse_url,
            f"SELECT version, status, errors FROM rpt_submission WHERE county_code = '{d_missing}' AND period = '{OCT}'",
        )
        assert late.to_dict("records") == [{"version": 1, "status": "late_closed", "errors": 0}]
        archived = _rows(
            warehouse_url,
            f"SELECT archive_path FROM submission WHERE county_code = '{d_missing}' AND period = '{OCT}'",
        )["archive_path"][0]
        assert Path(archived).is_file()
        roster = f"SELECT count(*) AS n FROM roster WHERE county_code = '{d_missing}' AND period = '{OCT}'"
        assert int(_rows(warehouse_url, roster)["n"][0]) == 0  # not loaded
        got = _completeness(warehouse_url)
        row = got[(OCT, d_missing)]
        assert (row["versions"], row["status"], row["closed"], row["late_closed"]) == (1, "missing", True, 1)
        assert all(got[(OCT, c)]["closed"] for c in counties) and not any(
            got[(NOV, c)]["closed"] for c in counties
        )
        # The county is told, in Chinese, that October is closed and whom to ask.
        d_mail = [m for rcpt, m in sink.messages if f"{d_missing}@example.org" in rcpt]
        assert len(d_mail) == 1, [m["Subject"] for _, m in sink.messages]
        body = d_mail[0].get_body(("plain",)).get_content()
        assert OCT in d_mail[0]["Subject"] and "已关闭" in body and OCT in body and "联系" in body
        it_body = "\n".join(
            m.get_body(("plain",)).get_content() for rcpt, m in sink.messages if "it@example.org" in rcpt
        )
        assert "已关闭后收到" in it_body and d_missing in it_body
        # Closed ratings never change; the open month is re-rated under the new rulebook.
        pd.testing.assert_frame_equal(_rows(warehouse_url, oct_stars.format(OCT)), before_oct)
        after_nov = _rows(warehouse_url, oct_stars.format(NOV))
        assert len(after_nov) == len(before_nov) and not after_nov["total_score"].equals(
            before_nov["total_score"]
        )

        # ---- reopen D's October: the next run takes the waiting file (same version) --
        result = CliRunner().invoke(
            app, ["reopen", "--period", OCT, "--county", d_missing, "--reason", "补报"]
        )
        assert result.exit_code == 0, result.output
        events = _rows(
            warehouse_url,
            "SELECT period, county_code, action, actor, reason FROM rpt_period_event ORDER BY event_id",
        )
        assert events.to_dict("records")[0] == {
            "period": OCT, "county_code": "", "action": "close", "actor": "李四", "reason": "10月数据已上报省委组织部",
        }  # fmt: skip
        assert events.to_dict("records")[1]["action"] == "reopen" and events["actor"][1]  # the OS user
        fivestar_run.fn(now="2026-12-13T09:00:00")
        again = _rows(
            warehouse_url,
            f"SELECT version, status FROM rpt_submission WHERE county_code = '{d_missing}' AND period = '{OCT}'",
        )
        assert again.to_dict("records") == [{"version": 1, "status": expected[(d_missing, OCT)]}]
        if expected[(d_missing, OCT)] != "rejected":
            assert int(_rows(warehouse_url, roster)["n"][0]) > 0  # loaded now
        row = _completeness(warehouse_url)[(OCT, d_missing)]
        assert (row["closed"], row["late_closed"], row["versions"]) == (False, 0, 1)
        if expected[(d_missing, OCT)] != "rejected":
            assert (row["on_time"], row["days_late"]) == (False, 5)  # 10 Nov 09:30 vs 5 Nov 23:59:59
        # The other counties' October stays closed and untouched.
        kept = _rows(warehouse_url, oct_stars.format(OCT))
        pd.testing.assert_frame_equal(
            kept[kept["county_code"] != d_missing].reset_index(drop=True),
            before_oct[before_oct["county_code"] != d_missing].reset_index(drop=True),
        )
    finally:
        sink.stop()
