"""No live markdown from submitters in chat alerts or the IT digest (issue 13, item 9).

In: a link in markdown syntax (and a bare URL) placed where submitters control the text:
a sheet name, a column header, a cell value quoted in a finding, a file name, a county
name; messages delivered to a local HTTP receiver posing as DingTalk, WeCom and a
generic webhook, and to a local SMTP sink; one county through the whole pipeline.
Out: no payload holds link syntax or a clickable URL, and the words are still there.
"""

from __future__ import annotations

import email
import email.policy
import socket
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from aiosmtpd.controller import Controller
from alertkit import PERIOD, Receiver, pipeline_env, province, run_flow

from fivestar.alerts import deliver_digest, deliver_submission_alert, digest_message, submission_message
from fivestar.findings import ERROR, WARNING, finding, make_findings
from fivestar.settings import Settings

LINK = "[点此重新上报](http://evil.example/phish)"
FILE_LINK = "[点此重新上报](evil.example)"  # a file name cannot hold "/"
LIVE = ("](", "[点此重新上报]", "http://", "<http", "www.evil")


def _assert_inert(markdown: str) -> None:
    for bad in LIVE:
        assert bad not in markdown, (bad, markdown)
    assert "点此重新上报" in markdown  # escaped, not dropped


class Sink:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd hook)
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"


@pytest.fixture
def smtp() -> Any:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sink = Sink()
    ctl = Controller(sink, hostname="127.0.0.1", port=port)
    ctl.start()
    yield port, sink
    ctl.stop()


@pytest.fixture
def hook() -> Any:
    r = Receiver()
    yield r
    r.close()


def _settings(port: int) -> Settings:
    return Settings(
        warehouse_url="sqlite://",
        raw_dir=Path("raw"),
        processed_dir=Path("processed"),
        config_dir=Path("config"),
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_from="fivestar@example.org",
    )


def _robots(hook: Receiver) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"county_code": "410522", "name": "a", "email": "", "webhook_url": f"{hook.base}/robot/send?kind=dingtalk"},
            {"county_code": "410522", "name": "b", "email": "", "webhook_url": f"{hook.base}/cgi-bin/webhook/send?kind=wecom"},
            {"county_code": "410522", "name": "c", "email": "it@example.org", "webhook_url": f"{hook.base}/generic"},
        ]
    )  # fmt: skip


def _markdown_of(body: dict[str, Any]) -> str:
    if "markdown" in body and isinstance(body["markdown"], dict):
        return str(body["markdown"].get("text") or body["markdown"].get("content"))
    return str(body["markdown"])


def test_submission_alert_markdown_has_no_live_link(hook: Receiver, smtp: Any) -> None:
    port, sink = smtp
    findings = make_findings(
        [
            finding(
                ERROR, "x", f"列“{LINK}”不在统一模板中，已忽略该列", sheet=LINK, cell="A1", column_name=LINK
            ),
            finding(WARNING, "y", f"类型填写的是“{LINK} see www.evil.example”", sheet="支部名册", cell="C2"),
        ]
    )
    msg = submission_message(
        "410522", "林州市", PERIOD, 1, "rejected", findings, workbook_name=f"410522_{FILE_LINK}.xlsx"
    )
    records = deliver_submission_alert(_settings(port), _robots(hook), msg, [], sleep=lambda _: None)
    assert [r["outcome"] for r in records] == ["sent"] * 4
    assert [b["path"].split("?")[0] for b in hook.bodies] == [
        "/robot/send",
        "/cgi-bin/webhook/send",
        "/generic",
    ]
    for body in hook.bodies:
        _assert_inert(_markdown_of(body["json"]))
    # Plain text (e-mail, generic webhook): brackets are harmless there, URLs are not clickable.
    text = sink.messages[0].get_body(preferencelist=("plain",)).get_content()
    assert "http://evil" not in text and "http://evil" not in hook.bodies[2]["json"]["text"]
    assert "点此重新上报" in text


def test_digest_markdown_and_text_have_no_live_link(hook: Receiver, smtp: Any) -> None:
    port, sink = smtp
    msg = digest_message(
        PERIOD,
        [{"county_code": "410522", "county_name": LINK, "version": 1, "errors": 1, "warnings": 0,
          "file_name": f"410522_林州市_{PERIOD}_{FILE_LINK}.xlsx"}],
        [{"county_code": "410523", "county_name": LINK}],
        [{"alert_key": "submission:410522:2026-11:v1", "channel": "webhook",
          "recipient": "http://evil.example/x", "error": f"robot replied errmsg={LINK}"}],
        given_up=[{"alert_key": "submission:410522:2026-11:v1", "channel": "email",
                   "recipient": "a@b.cn", "error": LINK}],
    )  # fmt: skip
    records = deliver_digest(
        _settings(port), msg, "it@example.org", f"{hook.base}/robot/send?kind=dingtalk", sleep=lambda _: None
    )
    assert [r["outcome"] for r in records] == ["sent", "sent"]
    _assert_inert(_markdown_of(hook.bodies[0]["json"]))
    text = sink.messages[0].get_body(preferencelist=("plain",)).get_content()
    assert "http://evil" not in text and "点此重新上报" in text


def test_a_hostile_header_and_file_name_reach_the_robots_inert(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hook: Receiver
) -> None:
    def hostile(wb: Any) -> None:
        ws = wb["村指标"]
        ws.cell(row=1, column=ws.max_column + 1, value=LINK)  # an extra column: a warning quoting it
        ws["C3"] = 150  # out of range: rejected, so the file is named in the IT digest

    robot = f"{hook.base}/robot/send?kind=dingtalk"
    cfg = province(tmp_path, {"410522": "林州市"}, [("410522", "王五", "", robot)], edit=hostile)
    src = tmp_path / "raw" / PERIOD / f"410522_林州市_{PERIOD}.xlsx"
    src.rename(src.with_name(f"410522_林州市_{PERIOD}_{FILE_LINK}.xlsx"))
    pipeline_env(monkeypatch, tmp_path, cfg, FIVESTAR_IT_ALERT_WEBHOOK=f"{hook.base}/it/send?kind=wecom")

    result = run_flow()
    assert [r["status"] for r in result["summary"]] == ["rejected"]
    county = [b["json"] for b in hook.bodies if b["path"].startswith("/robot/")]
    digest = [b["json"] for b in hook.bodies if b["path"].startswith("/it/")]
    assert len(county) == 1 and len(digest) == 1
    md = _markdown_of(county[0])
    _assert_inert(md)
    assert "不在统一模板中" in md  # the header's warning is there, quoted inert
    _assert_inert(_markdown_of(digest[0]))
