"""Alerts through the whole pipeline: a real SMTP sink and HTTP receiver on loopback.

In: two counties' workbooks (one with a known error cell), submitters.csv pointing
at a local aiosmtpd server and a local webhook receiver. Out: assertions on who
gets which e-mail (subject, attachment, red cells in the attached workbook), the
webhook payload, no repeat on an unchanged rerun, a new message after a correction,
and no county ever receiving another county's findings.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import shutil
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from servers import SmtpSink, WebhookReceiver

import wbfactory as W
from fivestar.config import load_rulebook

ROOT = Path(__file__).resolve().parents[2]
RED = "FFC7CE"


@pytest.fixture
def smtp(smtp_sink: SmtpSink) -> tuple[SmtpSink, SmtpSink]:
    return smtp_sink, smtp_sink  # (the server, with .port; what it received, .messages)


@pytest.fixture
def hook(webhook: WebhookReceiver) -> tuple[int, list[dict[str, Any]]]:
    return webhook.port, webhook.bodies


def _province(root: Path, webhook_port: int) -> tuple[Path, dict[str, list[dict[str, str]]]]:
    cfg = root / "config"
    shutil.copytree(ROOT / "config", cfg, ignore=shutil.ignore_patterns("registry.csv", "submitters.csv"))
    rb = load_rulebook(cfg)
    brs = {"410522": W.branches("410522", 3, 1), "410523": W.branches("410523", 2, 1)}
    W.registry_frame({"410522": "林州市", "410523": "安阳县"}, brs).to_csv(cfg / "registry.csv", index=False)
    (cfg / "submitters.csv").write_text(
        "county_code,name,email,webhook_url\n"
        "410522,王五,linzhou@example.org,\n"
        f"410523,赵六,anyang@example.org,http://127.0.0.1:{webhook_port}/robot/send?kind=dingtalk\n",
        encoding="utf-8",
    )

    def bad(wb: Any) -> None:
        wb["村指标"]["C3"] = 150  # 三会一课完成率 of the second village: out of range

    W.write_workbook(
        root / "raw/2026-11/410522_林州市_2026-11.xlsx",
        rb,
        "410522",
        "林州市",
        "2026-11",
        brs["410522"],
        edit=bad,
    )
    W.write_workbook(
        root / "raw/2026-11/410523_安阳县_2026-11.xlsx",
        rb,
        "410523",
        "安阳县",
        "2026-11",
        brs["410523"],
        ledger=[[dt.date(2026, 11, 3), brs["410523"][0]["code"], "支部", "", "ZB01", 2, ""]],
    )
    return rb.directory, brs


def test_alerts_end_to_end(tmp_path: Path, smtp: Any, hook: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from flows.nightly import fivestar_run

    ctl, sink = smtp
    port, bodies = hook
    cfg, brs = _province(tmp_path, port)
    for k, v in {
        "FIVESTAR_RAW_DIR": tmp_path / "raw",
        "FIVESTAR_CONFIG_DIR": cfg,
        "FIVESTAR_PROCESSED_DIR": tmp_path / "processed",
        "FIVESTAR_WAREHOUSE_URL": f"sqlite:///{tmp_path / 'wh.db'}",
        "FIVESTAR_SMTP_HOST": "127.0.0.1",
        "FIVESTAR_SMTP_PORT": ctl.port,
        "FIVESTAR_SMTP_FROM": "fivestar@example.org",
    }.items():
        monkeypatch.setenv(k, str(v))
    for k in ("FIVESTAR_IT_ALERT_EMAIL", "FIVESTAR_IT_ALERT_WEBHOOK", "http_proxy", "HTTP_PROXY"):
        monkeypatch.delenv(k, raising=False)

    result = fivestar_run.fn()
    statuses = {r["county_code"]: r["status"] for r in result["summary"]}
    assert statuses == {"410522": "rejected", "410523": "accepted"}

    by_rcpt = {tuple(r): m for r, m in sink.messages}
    assert set(by_rcpt) == {("linzhou@example.org",), ("anyang@example.org",)}
    rejected = by_rcpt[("linzhou@example.org",)]
    assert (
        "410522" in rejected["Subject"] and "2026-11" in rejected["Subject"] and "退回" in rejected["Subject"]
    )
    atts = [p for p in rejected.iter_attachments()]
    assert len(atts) == 1 and atts[0].get_filename().endswith(".xlsx")
    wb = openpyxl.load_workbook(io.BytesIO(atts[0].get_content()))
    assert wb.sheetnames[0] == "审核结果"
    red = {
        (ws.title, c.coordinate)
        for ws in wb.worksheets
        for row in ws.iter_rows()
        for c in row
        if c.fill is not None
        and c.fill.fgColor is not None
        and str(c.fill.fgColor.rgb).endswith(RED)
        and ws.title != "审核结果"
    }
    assert red == {("村指标", "C3")}
    assert "三会一课" in wb["村指标"]["C3"].comment.text
    # The other county's message never mentions this county's findings.
    accepted = by_rcpt[("anyang@example.org",)]
    body = accepted.get_body(preferencelist=("plain",)).get_content()
    assert "410522" not in body and "村指标!C3" not in body and "通过" in accepted["Subject"]
    assert len(bodies) == 1 and bodies[0]["json"]["msgtype"] == "markdown"
    assert "410523" in bodies[0]["json"]["markdown"]["title"] + bodies[0]["json"]["markdown"]["text"]

    # Unchanged rerun: nothing new is sent.
    fivestar_run.fn()
    assert len(sink.messages) == 2 and len(bodies) == 1

    # A correction for 410522: exactly one new message, to 410522 only, now accepted.
    rb = load_rulebook(cfg)
    corrected = tmp_path / "raw/2026-11/410522_林州市_2026-11_更正.xlsx"
    W.write_workbook(corrected, rb, "410522", "林州市", "2026-11", brs["410522"])
    os.utime(corrected, (dt.datetime(2030, 1, 1).timestamp(),) * 2)
    result = fivestar_run.fn()
    assert [(r["county_code"], r["version"], r["status"]) for r in result["summary"]] == [
        ("410522", 2, "accepted")
    ]
    assert len(sink.messages) == 3 and len(bodies) == 1
    rcpt, msg = sink.messages[-1]
    assert rcpt == ["linzhou@example.org"] and "第2版" in msg["Subject"] and "通过" in msg["Subject"]


def test_force_rerun_with_a_superseded_version_completes_and_alerts_rightly(
    tmp_path: Path, smtp: Any, hook: Any, warehouse_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`run --force` once a correction superseded an accepted version (issue 14 item 1):
    the reprocessed old version ends `superseded`, the run completes (alerts, digest,
    summary), and nobody is alerted about the superseded version."""
    from flows.nightly import fivestar_run

    ctl, sink = smtp
    port, bodies = hook
    cfg, brs = _province(tmp_path, port)
    for k, v in {
        "FIVESTAR_RAW_DIR": tmp_path / "raw",
        "FIVESTAR_CONFIG_DIR": cfg,
        "FIVESTAR_PROCESSED_DIR": tmp_path / "processed",
        "FIVESTAR_WAREHOUSE_URL": warehouse_url,
        "FIVESTAR_SMTP_HOST": "127.0.0.1",
        "FIVESTAR_SMTP_PORT": ctl.port,
        "FIVESTAR_SMTP_FROM": "fivestar@example.org",
        "FIVESTAR_IT_ALERT_EMAIL": "it@example.org",
    }.items():
        monkeypatch.setenv(k, str(v))
    for k in ("FIVESTAR_IT_ALERT_WEBHOOK", "http_proxy", "HTTP_PROXY"):
        monkeypatch.delenv(k, raising=False)
    rb = load_rulebook(cfg)
    # 410523 sends an accepted v1, then an accepted correction v2: v1 becomes superseded.
    fivestar_run.fn()
    corrected = tmp_path / "raw/2026-11/410523_安阳县_2026-11_更正.xlsx"
    W.write_workbook(corrected, rb, "410523", "安阳县", "2026-11", brs["410523"])
    os.utime(corrected, (dt.datetime(2030, 1, 1).timestamp(),) * 2)
    fivestar_run.fn()
    sent_before = len(sink.messages)

    result = fivestar_run.fn(force=True)

    got = sorted((r["county_code"], r["version"], r["status"]) for r in result["summary"])
    assert got == [("410522", 1, "rejected"), ("410523", 1, "superseded"), ("410523", 2, "accepted")]
    # Every version was alerted on its first run; a forced rerun repeats none of them.
    new = sink.messages[sent_before:]
    assert all(rcpt != ["anyang@example.org"] for rcpt, _ in new)
    assert all("第1版" not in m["Subject"] or "410523" not in m["Subject"] for _, m in new)
    # The IT digest of the forced run went out: the run reached its end.
    assert any(rcpt == ["it@example.org"] for rcpt, _ in new)
