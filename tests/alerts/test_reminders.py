"""Reminders (催报) and city lists across a deadline, with a fixed clock.

In: a province from `fivestar sample` (4 counties in 2 cities, 2026-11, deadline
2026-12-05 23:59:59 Beijing time): 410522 rejected, 410523 and 410622 accepted,
410621 missing at first and late later; county and city contacts at a loopback SMTP
sink and webhook receiver; SQLite and PostgreSQL. The alert stage runs at chosen
"now"s (never the machine's clock). Out: each due stage sent once and never again on a
rerun; a missed stage caught up once (no burst of the earlier ones); the rejected
county's reminder quotes its error count; the template attached and the deadline in
Beijing time; the city list once, naming the counties still lacking an accepted
version; a closed period gets nothing; a failed delivery is retried by the next run.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pytest
from servers import SmtpSink, WebhookReceiver
from sqlalchemy import text

from fivestar.alerts.stage import alert_stage
from fivestar.config import load_registry
from fivestar.settings import load_settings
from fivestar.warehouse.engine import make_engine

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
PERIOD = "2026-11"


def at(month: int, day: int, hour: int = 9) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, 0, tzinfo=SHANGHAI)


@pytest.fixture(scope="module")
def sample_province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from fivestar.sample import generate

    out = tmp_path_factory.mktemp("sample")
    generate(
        out, PERIOD, counties=4, seed=0, months=1, rulebook_dir=Path(__file__).resolve().parents[2] / "config"
    )
    return out


def _setup(
    root: Path, sample: Path, url: str, smtp: SmtpSink, hook: WebhookReceiver, mp: pytest.MonkeyPatch
) -> None:
    shutil.copytree(sample / "config", root / "config")
    shutil.copytree(sample / "raw", root / "raw")
    rows = ["county_code,name,email,webhook_url"]
    for code in ("410522", "410523", "410621", "410622", "410500", "410600"):
        rows.append(f"{code},联系人{code},c{code}@example.org,{hook.base}/h/{code}")
    (root / "config" / "submitters.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    for k, v in {
        "FIVESTAR_CONFIG_DIR": root / "config",
        "FIVESTAR_RAW_DIR": root / "raw",
        "FIVESTAR_PROCESSED_DIR": root / "processed",
        "FIVESTAR_WAREHOUSE_URL": url,
        "FIVESTAR_SMTP_HOST": "127.0.0.1",
        "FIVESTAR_SMTP_PORT": smtp.port,
        "FIVESTAR_TASK_RUNNER": "local",
        "FIVESTAR_REMINDERS": "true",
    }.items():
        mp.setenv(k, str(v))
    for k in ("FIVESTAR_IT_ALERT_EMAIL", "FIVESTAR_IT_ALERT_WEBHOOK"):
        mp.delenv(k, raising=False)


def _pipeline(now: dt.datetime) -> None:
    from fivestar.context import open_context
    from fivestar.pipeline import run_pipeline
    from fivestar.run_params import RunParams
    from fivestar.runtime import executor_for

    ctx = open_context()
    try:
        with executor_for(ctx.settings) as ex:
            run_pipeline(ctx, RunParams(), ex, now=now)
    finally:
        ctx.engine.dispose()


def _alerts(now: dt.datetime) -> dict[str, Any]:
    s = load_settings()
    engine = make_engine(s.warehouse_url)
    try:
        return alert_stage(
            engine,
            s,
            load_registry(s.config_dir),
            run_id="t",
            items=[],
            processed=[],
            now=now,
            sleep=lambda _: None,
        )
    finally:
        engine.dispose()


def _cycle_mail(smtp: SmtpSink) -> list[tuple[str, Any]]:
    """(recipient, message) of every reminder and city list the sink got, in order."""
    return [
        (rcpt[0], m) for rcpt, m in smtp.messages if "催报" in m["Subject"] or "尚无通过审核" in m["Subject"]
    ]


def _hooks(hook: WebhookReceiver) -> list[dict[str, Any]]:
    return [
        b
        for b in hook.bodies
        if isinstance(b["json"], dict) and b["json"].get("status") in ("reminder", "city_list")
    ]


def _keys(url: str) -> list[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return [
                r[0]
                for r in conn.execute(
                    text(
                        "SELECT alert_key FROM alert_delivery WHERE outcome = 'sent' AND "
                        "(alert_key LIKE 'reminder:%' OR alert_key LIKE 'citylist:%') ORDER BY id"
                    )
                )
            ]
    finally:
        engine.dispose()


def test_reminders_across_a_deadline(
    tmp_path: Path,
    sample_province: Path,
    warehouse_url: str,
    smtp_sink: SmtpSink,
    webhook: WebhookReceiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _setup(tmp_path, sample_province, warehouse_url, smtp_sink, webhook, monkeypatch)
    late = next((tmp_path / "raw" / PERIOD).glob("410621*.xlsx"))
    held = tmp_path / "held.xlsx"
    shutil.move(late, held)  # 410621 has sent nothing yet

    _pipeline(at(12, 1))  # before the first stage (d-3 = 12-02 00:00): only feedback mails
    assert _cycle_mail(smtp_sink) == [] and _hooks(webhook) == []
    engine = make_engine(warehouse_url)
    with engine.connect() as conn:
        status = dict(conn.execute(text("SELECT county_code, status FROM submission")).all())
        errors = conn.execute(text("SELECT errors FROM submission WHERE county_code = '410522'")).scalar_one()
    engine.dispose()
    assert status["410522"] == "rejected" and errors > 0 and "410621" not in status

    # d-3: the rejected county is asked for its correction, the missing one for its file.
    _alerts(at(12, 2))
    mails = _cycle_mail(smtp_sink)
    assert sorted(r for r, _ in mails) == ["c410522@example.org", "c410621@example.org"]
    body = {r: m.get_body(("plain",)).get_content() for r, m in mails}
    assert f"第1版未通过审核（错误{errors}条）" in body["c410522@example.org"]
    assert "尚未报送" in body["c410621@example.org"]
    for r, m in mails:
        assert "2026年12月5日 23:59（北京时间）" in m.get_body(("plain",)).get_content()
        names = [a.get_filename() for a in m.iter_attachments()]  # the county's template
        assert len(names) == 1 and names[0].endswith(".xlsx") and names[0].startswith(r[1:7])
    assert sorted(b["path"] for b in _hooks(webhook)) == ["/h/410522", "/h/410621"]
    assert sorted(set(_keys(warehouse_url))) == [
        f"reminder:410522:{PERIOD}:d-3",
        f"reminder:410621:{PERIOD}:d-3",
    ]

    made = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "processed" / "templates" / PERIOD).iterdir()}
    assert sorted(n[:6] for n in made) == ["410522", "410621"]
    _alerts(at(12, 2, 18))  # a rerun the same day: nothing again
    assert len(_cycle_mail(smtp_sink)) == 2 and len(_hooks(webhook)) == 2

    # No run on 12-05 (d0): the run of 12-06 sends d+1 only, once; d0 is never sent.
    _alerts(at(12, 6))
    _alerts(at(12, 6, 11))
    keys = _keys(warehouse_url)
    assert len(_cycle_mail(smtp_sink)) == 4 and len(_hooks(webhook)) == 4
    assert f"reminder:410621:{PERIOD}:d+1" in keys and not any(k.endswith(":d0") for k in keys)
    assert "已超过截止时间1天" in _cycle_mail(smtp_sink)[-1][1]["Subject"]
    assert all(len(list(m.iter_attachments())) == 1 for _, m in _cycle_mail(smtp_sink)[2:])
    again = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "processed" / "templates" / PERIOD).iterdir()}
    assert again == made  # the templates of d-3 were reused

    # 410621's file arrives late and is accepted: its reminders stop.
    shutil.move(held, late)
    _pipeline(at(12, 7))
    # d+3 (12-08) and the city lists (3 days late: from 12-08 23:59:59): 12-09.
    _alerts(at(12, 9))
    _alerts(at(12, 9, 20))
    new = _cycle_mail(smtp_sink)[4:]
    assert sorted(r for r, _ in new) == ["c410500@example.org", "c410522@example.org"]  # 410600: none missing
    city = next(m for r, m in new if r == "c410500@example.org")
    text_ = city.get_body(("plain",)).get_content()
    assert PERIOD in city["Subject"] and "410522" in text_ and f"错误{errors}条" in text_
    assert "410523" not in text_ and "410621" not in text_
    assert f"citylist:410500:{PERIOD}" in _keys(warehouse_url)

    # The period is closed: d+7 (12-12) sends nothing.
    from fivestar.warehouse.periods import CLOSE, record_period_event

    engine = make_engine(warehouse_url)
    record_period_event(engine, period=PERIOD, action=CLOSE, actor="test", now=at(12, 10))
    engine.dispose()
    _alerts(at(12, 13))
    assert len(_cycle_mail(smtp_sink)) == 6 and not any(k.endswith(":d+7") for k in _keys(warehouse_url))


def test_a_failed_reminder_is_retried_by_the_next_run(
    tmp_path: Path, warehouse_url: str, smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    def reply(path: str) -> tuple[int, bytes]:
        calls.append(path)
        return (500, b"down") if len(calls) <= 3 else (200, b'{"errcode":0}')

    hook = WebhookReceiver(reply)
    try:
        root = tmp_path
        shutil.copytree(Path(__file__).resolve().parents[2] / "config", root / "config")
        (root / "raw").mkdir()
        (root / "config" / "submitters.csv").write_text(
            f"county_code,name,email,webhook_url\n410522,甲,,{hook.base}/h/410522\n", encoding="utf-8"
        )
        _setup_env(root, warehouse_url, monkeypatch)
        engine = make_engine(warehouse_url)
        from fivestar.warehouse.schema import ensure_schema

        ensure_schema(engine)
        with engine.begin() as conn:  # one rejected version of 410522 (its other counties: missing)
            conn.execute(
                text(
                    "INSERT INTO submission (county_code, period, version, status, errors, warnings) "
                    "VALUES ('410522', :p, 1, 'rejected', 4, 0)"
                ),
                {"p": PERIOD},
            )
        engine.dispose()
        monkeypatch.setenv("FIVESTAR_REMINDERS", "false")  # reminders off: nothing is sent
        assert _alerts(at(12, 6, 1))["summary"]["failed"] == 0 and calls == []
        monkeypatch.setenv("FIVESTAR_REMINDERS", "true")
        out = _alerts(at(12, 6))
        assert out["summary"]["failed"] == 1 and len(calls) == 3  # three tries in this run
        out = _alerts(at(12, 6, 12))  # the next run the same day: retried, sent
        assert out["summary"]["sent"] == 1 and len(calls) == 4
        assert "错误4条" in hook.bodies[-1]["json"]["text"]
        out = _alerts(at(12, 6, 18))
        assert out["summary"]["sent"] == 0 and len(calls) == 4
    finally:
        hook.stop()


def _setup_env(root: Path, url: str, mp: pytest.MonkeyPatch) -> None:
    for k, v in {
        "FIVESTAR_CONFIG_DIR": root / "config",
        "FIVESTAR_RAW_DIR": root / "raw",
        "FIVESTAR_PROCESSED_DIR": root / "processed",
        "FIVESTAR_WAREHOUSE_URL": url,
        "FIVESTAR_REMINDERS": "true",
    }.items():
        mp.setenv(k, str(v))
    for k in ("FIVESTAR_SMTP_HOST", "FIVESTAR_IT_ALERT_EMAIL", "FIVESTAR_IT_ALERT_WEBHOOK"):
        mp.delenv(k, raising=False)
