"""The IT digest is retried after SMTP was down, like county alerts (issue 13, item 14).

In: one county, the real flow on SQLite, SMTP on a loopback port where nothing listens
for the first run and a real aiosmtpd sink for the next ones. Out: the first run's digest
(and the county's alert) arrive on the second run, exactly once; nothing is sent again.
"""

from __future__ import annotations

import email
import email.policy
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from alertkit import closed_port, pipeline_env, province, run_flow


class Sink:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd hook)
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), msg))
        return "250 OK"


def test_digest_undelivered_while_smtp_was_down_is_sent_on_the_next_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = closed_port()
    cfg = province(tmp_path, {"410522": "林州市"}, [("410522", "王五", "lz@example.org", "")])
    db = pipeline_env(
        monkeypatch,
        tmp_path,
        cfg,
        FIVESTAR_SMTP_HOST="127.0.0.1",
        FIVESTAR_SMTP_PORT=port,
        FIVESTAR_IT_ALERT_EMAIL="it@example.org",
    )
    first = run_flow()
    assert first["alerts"]["digests_owed"] == 1 and first["alerts"]["digests_sent"] == 0
    with sqlite3.connect(db) as conn:
        outcomes = conn.execute(
            "SELECT DISTINCT outcome FROM alert_delivery WHERE alert_key LIKE 'digest:%'"
        ).fetchall()
    assert outcomes == [("failed",)]

    sink = Sink()
    ctl = Controller(sink, hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        second = run_flow()  # nothing new: only what is still owed
        assert second["summary"] == []
        assert second["alerts"]["digests_sent"] == 1 and second["alerts"]["sent"] == 1
        by_rcpt = {tuple(r): m for r, m in sink.messages}
        assert set(by_rcpt) == {("it@example.org",), ("lz@example.org",)}
        digest = by_rcpt[("it@example.org",)]
        assert "运行汇总" in digest["Subject"]
        assert first["run_id"] in digest.get_body(preferencelist=("plain",)).get_content()

        third = run_flow()
        assert len(sink.messages) == 2 and third["alerts"]["digests_sent"] == 0
    finally:
        ctl.stop()
