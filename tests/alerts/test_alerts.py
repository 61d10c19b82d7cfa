"""Alerts against real loopback servers: aiosmtpd for SMTP, http.server for webhooks.

In: fivestar.alerts messages, senders and delivery. Out: assertions on what the
servers received and on the delivery records. Nothing leaves 127.0.0.1 (guarded).
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ipaddress
import json
import logging
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from servers import free_port

from fivestar.alerts import (
    Message,
    WebhookError,
    build_payload,
    deliver_digest,
    deliver_submission_alert,
    digest_message,
    post_webhook,
    redact_url,
    send_email,
    sent_targets,
    submission_message,
    webhook_kind,
)
from fivestar.findings import ERROR, WARNING, finding, make_findings
from fivestar.settings import Settings

PASSWORD = "S3cret-Pässwörd-密码"  # non-ASCII: smtplib.login cannot send it, our AUTH PLAIN can
ASCII_PASSWORD = "S3cret-pass-xyz"
TOKEN = "tok_0123456789abcdef0123"
XLSX_NAME = "410522林州市_2026-11_第2版_审核批注.xlsx"

# --------------------------------------------------------------------------- guards


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any connection or name lookup that is not loopback; ignore proxy settings."""
    for var in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)

    def is_loopback(host: Any) -> bool:
        if host in ("localhost", "", None):
            return True
        try:
            return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
        except ValueError:
            return False

    real_connect, real_connect_ex, real_gai = (
        socket.socket.connect,
        socket.socket.connect_ex,
        socket.getaddrinfo,
    )

    def check(address: Any) -> None:
        if isinstance(address, tuple) and not is_loopback(address[0]):
            raise AssertionError(f"test tried to reach non-loopback address {address!r}")

    def connect(self: socket.socket, address: Any) -> Any:
        check(address)
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> Any:
        check(address)
        return real_connect_ex(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not is_loopback(host.decode() if isinstance(host, bytes) else host):
            raise AssertionError(f"test tried to resolve {host!r}")
        return real_gai(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


# --------------------------------------------------------------------------- SMTP server


class Collector:
    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd hook)
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


class Auth:
    def __init__(self, user: str, password: str) -> None:
        self.user, self.password = user, password
        self.seen: list[str] = []

    def __call__(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        login = auth_data.login.decode()
        self.seen.append(login)
        ok = login == self.user and auth_data.password.decode() == self.password
        return AuthResult(success=ok, handled=False)


def start_smtp(**kwargs: Any) -> tuple[Controller, Collector]:
    handler = Collector()
    ctl = Controller(handler, hostname="127.0.0.1", port=free_port(), **kwargs)
    ctl.start()
    return ctl, handler


@pytest.fixture
def smtp():
    ctl, handler = start_smtp()
    yield ctl, handler
    ctl.stop()


def settings_for(port: int | None, **kw: Any) -> Settings:
    return Settings(
        warehouse_url="sqlite://",
        raw_dir=Path("raw"),
        processed_dir=Path("processed"),
        config_dir=Path("config"),
        smtp_host="127.0.0.1" if port else None,
        smtp_port=port or 25,
        smtp_from="fivestar@example.org",
        **kw,
    )


def parse(envelope: Any) -> email.message.EmailMessage:
    return email.message_from_bytes(
        envelope.original_content or envelope.content, policy=email.policy.default
    )


# --------------------------------------------------------------------------- HTTP receiver


class Receiver:
    """Collects POSTs. Reply by path: /fail500 → 500, /errcode → 200 {"errcode":310000}, else 200 ok."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server hook)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append(
                    {
                        "path": self.path,
                        "content_type": self.headers.get("Content-Type"),
                        "json": json.loads(body),
                    }
                )
                if "/fail500" in self.path:
                    code, reply = 500, b'{"error":"boom"}'
                elif "/errcode" in self.path:
                    code, reply = (
                        200,
                        json.dumps({"errcode": 310000, "errmsg": "keywords not in content"}).encode(),
                    )
                else:
                    code, reply = 200, b'{"errcode":0,"errmsg":"ok"}'
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def http():
    r = Receiver()
    yield r
    r.close()


# --------------------------------------------------------------------------- data


def county_findings(n_err: int = 3, n_warn: int = 2, file_key: str = "abc") -> pd.DataFrame:
    rows = [
        finding(
            ERROR,
            "village.members.range",
            f"党员人数应为 1–500 的整数，第{12 + i}行填写的是“-{i + 1}”，请更正。",
            file_key=file_key,
            sheet="村指标",
            row=12 + i,
            column_name="党员人数",
            cell=f"F{12 + i}",
        )
        for i in range(n_err)
    ]
    rows += [
        finding(WARNING, "roster.households.jump", "户数比上月增加超过50%，请核实或在说明表中说明。",
                file_key=file_key, sheet="支部名册", row=5 + i, cell=f"H{5 + i}")
        for i in range(n_warn)
    ]  # fmt: skip
    return make_findings(rows)


def rejected_msg(**kw: Any) -> Message:
    return submission_message(
        "410522", "林州市", "2026-11", 2, "rejected", county_findings(), workbook_name=XLSX_NAME, **kw
    )


@pytest.fixture
def xlsx(tmp_path: Path) -> Path:
    p = tmp_path / XLSX_NAME
    p.write_bytes(b"PK\x03\x04 fake xlsx bytes \x00\xff" * 50)
    return p


def no_sleep(_: float) -> None:
    pass


# --------------------------------------------------------------------------- messages


def test_submission_message_subject_and_body() -> None:
    msg = rejected_msg()
    assert msg.subject == "【五星支部数据审核】410522 林州市 2026-11 第2版：退回（错误3条，提示2条）"
    assert msg.alert_key == "submission:410522:2026-11:v2"
    assert msg.status == "rejected"
    assert "审核结果：退回" in msg.text
    assert "1. 村指标!F12：党员人数应为 1–500 的整数" in msg.text
    assert "支部名册!H5：户数比上月增加" in msg.text
    assert XLSX_NAME in msg.text and "附件" in msg.text
    assert "- 村指标!F14：" in msg.markdown
    # errors come before warnings
    assert msg.text.index("村指标!F14") < msg.text.index("支部名册!H5")


def test_submission_message_limits_items_and_maps_status() -> None:
    msg = submission_message("410522", "林州市", "2026-11", 1, "rejected", county_findings(), max_items=2)
    assert "村指标!F13" in msg.text and "村指标!F14" not in msg.text
    assert "另有 3 条未列出" in msg.text
    ok = submission_message("410522", "林州市", "2026-11", 3, "accepted", county_findings(0, 0))
    assert ok.subject.endswith("第3版：通过（错误0条，提示0条）")
    warn = submission_message(
        "410522", "林州市", "2026-11", 3, "accepted_with_warnings", county_findings(0, 1)
    )
    assert "通过（有提示）（错误0条，提示1条）" in warn.subject
    whole = make_findings([finding(ERROR, "file.sheet_missing", "缺少“村指标”工作表。")])
    assert (
        "整个文件：缺少“村指标”工作表。"
        in submission_message("410522", "林州市", "2026-11", 1, "rejected", whole).text
    )
    with pytest.raises(ValueError):
        submission_message("410522", "林州市", "2026-11", 1, "ok", county_findings())


def test_submission_message_refuses_other_counties_findings() -> None:
    f = county_findings().assign(county_code=["410522"] * 4 + ["410523"])
    with pytest.raises(ValueError, match="other counties"):
        submission_message("410522", "林州市", "2026-11", 1, "rejected", f)
    mixed = pd.concat([county_findings(1, 0, "k1"), county_findings(1, 0, "k2")], ignore_index=True)
    with pytest.raises(ValueError, match="different files"):
        submission_message("410522", "林州市", "2026-11", 1, "rejected", mixed)
    same = county_findings().assign(county_code="410522")
    assert "退回" in submission_message("410522", "林州市", "2026-11", 1, "rejected", same).subject


def test_digest_message() -> None:
    msg = digest_message(
        "2026-11",
        rejected=[
            {"county_code": "410522", "county_name": "林州市", "version": 2, "errors": 3, "warnings": 1}
        ],
        missing_counties=[{"county_code": "410523", "county_name": "安阳县"}],
        failed_deliveries=[
            {
                "alert_key": "submission:410522:2026-11:v2",
                "channel": "email",
                "recipient": "a@x.cn",
                "error": "X",
            }
        ],
    )
    assert msg.subject == "【五星支部数据审核】2026-11 运行汇总：退回1份，未报送1个县，通知失败1次"
    assert "410522 林州市 第2版：错误3条，提示1条" in msg.text
    assert "410523 安阳县" in msg.text and "a@x.cn" in msg.text
    assert msg.status == "digest"


# --------------------------------------------------------------------------- webhook formats


def test_webhook_kind_detection() -> None:
    assert webhook_kind(f"https://oapi.dingtalk.com/robot/send?access_token={TOKEN}") == "dingtalk"
    assert webhook_kind(f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={TOKEN}") == "wecom"
    assert webhook_kind("http://127.0.0.1:9/robot/send?access_token=x&kind=dingtalk") == "dingtalk"
    assert webhook_kind("http://127.0.0.1:9/wecom/send?key=x") == "wecom"
    assert webhook_kind("https://ops.example.org/hooks/fivestar") == "generic"


def test_webhook_payload_shapes(http: Receiver) -> None:
    msg = rejected_msg()
    post_webhook(f"{http.base}/robot/send?access_token=x&kind=dingtalk", msg)
    post_webhook(f"{http.base}/cgi-bin/webhook/send?key=x&kind=wecom", msg)
    post_webhook(f"{http.base}/hooks/generic", msg)
    ding, wecom, generic = (r["json"] for r in http.requests)
    assert all(r["content_type"].startswith("application/json") for r in http.requests)
    assert ding == {"msgtype": "markdown", "markdown": {"title": msg.subject, "text": msg.markdown}}
    assert wecom == {"msgtype": "markdown", "markdown": {"content": msg.markdown}}
    assert generic["title"] == msg.subject and generic["text"] == msg.text
    assert generic["status"] == "rejected" and generic["alert_key"] == "submission:410522:2026-11:v2"
    assert generic["county_code"] == "410522" and generic["errors"] == 3 and generic["version"] == 2


def test_wecom_content_is_cut_to_its_byte_limit() -> None:
    big = submission_message(
        "410522", "林州市", "2026-11", 1, "rejected", county_findings(300, 0), max_items=300
    )
    content = build_payload("http://127.0.0.1/wecom", big)["markdown"]["content"]
    assert len(content.encode("utf-8")) <= 4096 and content.endswith("（内容过长已截断）")


def test_webhook_raises_on_500_and_on_errcode(http: Receiver) -> None:
    with pytest.raises(WebhookError, match="HTTP 500"):
        post_webhook(f"{http.base}/fail500", rejected_msg())
    with pytest.raises(WebhookError, match="errcode=310000"):
        post_webhook(f"{http.base}/errcode/robot/send?access_token=x&kind=dingtalk", rejected_msg())
    # A generic receiver's body is not interpreted: errcode in a generic reply is not an error.
    post_webhook(f"{http.base}/errcode/generic", rejected_msg())


# --------------------------------------------------------------------------- e-mail


def test_send_email_subject_body_and_attachment(smtp: tuple[Controller, Collector], xlsx: Path) -> None:
    ctl, handler = smtp
    msg = rejected_msg()
    send_email(settings_for(ctl.port), ["zhang@county.example.cn"], msg, [xlsx])
    (env,) = handler.envelopes
    assert env.rcpt_tos == ["zhang@county.example.cn"]
    assert env.mail_from == "fivestar@example.org"
    raw = env.original_content.decode("ascii")  # everything non-ASCII is encoded on the wire
    assert "filename*" in raw and "utf-8''" in raw  # RFC 2231 parameter encoding
    em = parse(env)
    assert em["Subject"] == msg.subject
    assert em.get_body(("plain",)).get_content() == msg.text
    (att,) = list(em.iter_attachments())
    assert att.get_filename() == XLSX_NAME
    assert att.get_content_type() == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert att.get_content() == xlsx.read_bytes()


def make_cert(tmp_path: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_p, key_p = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_p.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_p.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_p, key_p


@pytest.mark.parametrize("password", [ASCII_PASSWORD, PASSWORD])
def test_send_email_starttls_and_login(tmp_path: Path, xlsx: Path, password: str) -> None:
    cert_p, key_p = make_cert(tmp_path)
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert_p, key_p)
    auth = Auth("alerts", password)
    ctl, handler = start_smtp(
        tls_context=server_ctx, require_starttls=True, authenticator=auth, auth_require_tls=True
    )
    try:
        s = settings_for(ctl.port, smtp_user="alerts", smtp_password=password, smtp_starttls=True)
        client_ctx = ssl.create_default_context(cafile=str(cert_p))  # trusts only our test CA
        send_email(s, ["li@county.example.cn"], rejected_msg(), [xlsx], ssl_context=client_ctx)
        (env,) = handler.envelopes
        assert auth.seen == ["alerts"]
        assert parse(env)["Subject"] == rejected_msg().subject
        # Without STARTTLS the server refuses (require_starttls): send_email raises.
        plain = settings_for(ctl.port, smtp_user="alerts", smtp_password=password)
        with pytest.raises(Exception):  # noqa: B017 (any smtplib error)
            send_email(plain, ["li@county.example.cn"], rejected_msg(), [])
    finally:
        ctl.stop()


def test_send_email_implicit_tls(tmp_path: Path) -> None:
    cert_p, key_p = make_cert(tmp_path)
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert_p, key_p)
    ctl, handler = start_smtp(ssl_context=server_ctx)
    try:
        client_ctx = ssl.create_default_context(cafile=str(cert_p))
        send_email(
            settings_for(ctl.port), ["a@b.cn"], rejected_msg(), [], ssl_context=client_ctx, implicit_tls=True
        )
        assert [e.rcpt_tos for e in handler.envelopes] == [["a@b.cn"]]
    finally:
        ctl.stop()


# --------------------------------------------------------------------------- delivery


def contacts_frame(http: Receiver) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"county_code": "410522", "name": "张三", "email": "zhang@county.example.cn",
             "webhook_url": f"{http.base}/robot/send?access_token={TOKEN}&kind=dingtalk"},
            {"county_code": "410522", "name": "李四", "email": "li@county.example.cn; wang@county.example.cn",
             "webhook_url": f"{http.base}/cgi-bin/webhook/send?key={TOKEN}&kind=wecom"},
            # same group robot as 张三: must not be posted twice
            {"county_code": "410522", "name": "赵五", "email": "",
             "webhook_url": f"{http.base}/robot/send?access_token={TOKEN}&kind=dingtalk"},
            {"county_code": "410522", "name": "钱六", "email": None, "webhook_url": float("nan")},
        ]
    )  # fmt: skip


def test_deliver_submission_alert_all_channels(
    smtp: tuple[Controller, Collector], http: Receiver, xlsx: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ctl, handler = smtp
    caplog.set_level(logging.DEBUG)
    records = deliver_submission_alert(
        settings_for(ctl.port), contacts_frame(http), rejected_msg(), [xlsx], backoff_s=0
    )
    assert [(r["channel"], r["outcome"], r["attempt"]) for r in records] == [
        ("email", "sent", 1),
        ("webhook", "sent", 1),
        ("email", "sent", 1),
        ("email", "sent", 1),
        ("webhook", "sent", 1),
    ]
    assert sorted(rc for e in handler.envelopes for rc in e.rcpt_tos) == [
        "li@county.example.cn",
        "wang@county.example.cn",
        "zhang@county.example.cn",
    ]
    assert all(parse(e)["Subject"] == rejected_msg().subject for e in handler.envelopes)
    assert [r["json"]["msgtype"] for r in http.requests] == ["markdown", "markdown"]
    assert (
        "title" in http.requests[0]["json"]["markdown"] and "content" in http.requests[1]["json"]["markdown"]
    )
    for r in records:
        assert r["alert_key"] == "submission:410522:2026-11:v2" and r["error"] is None
        assert dt.datetime.fromisoformat(r["attempted_at"]).utcoffset() == dt.timedelta(0)
    # webhook tokens never stored or logged
    assert TOKEN not in json.dumps(records) and TOKEN not in caplog.text
    assert "sent (attempt 1/3)" in caplog.text


def test_already_sent_targets_are_skipped(
    smtp: tuple[Controller, Collector], http: Receiver, xlsx: Path
) -> None:
    ctl, handler = smtp
    s, msg = settings_for(ctl.port), rejected_msg()
    first = deliver_submission_alert(s, contacts_frame(http), msg, [xlsx], backoff_s=0)
    done = sent_targets(first, msg.alert_key)
    assert len(done) == 5
    again = deliver_submission_alert(s, contacts_frame(http), msg, [xlsx], skip=done, backoff_s=0)
    assert again == []
    assert len(handler.envelopes) == 3 and len(http.requests) == 2
    # another version of the same county is a different key: nothing counts as sent for it
    assert sent_targets(first, "submission:410522:2026-11:v3") == set()


def test_webhook_500_is_retried_then_failed(http: Receiver, caplog: pytest.LogCaptureFixture) -> None:
    waits: list[float] = []
    contacts = pd.DataFrame(
        [
            {
                "county_code": "410522",
                "name": "张三",
                "email": "",
                "webhook_url": f"{http.base}/fail500?key={TOKEN}",
            }
        ]
    )
    records = deliver_submission_alert(
        settings_for(None), contacts, rejected_msg(), [], retries=3, backoff_s=0.5, sleep=waits.append
    )
    assert [(r["attempt"], r["outcome"]) for r in records] == [(1, "failed"), (2, "failed"), (3, "failed")]
    assert all("HTTP 500" in r["error"] for r in records)
    assert waits == [0.5, 1.0]  # exponential backoff between attempts, none after the last
    assert len(http.requests) == 3
    assert TOKEN not in json.dumps(records) and TOKEN not in caplog.text
    assert records[0]["recipient"].startswith(f"{http.base}/fail500?key=***#")


def test_dingtalk_errcode_reply_is_a_failure(http: Receiver) -> None:
    contacts = pd.DataFrame(
        [{"county_code": "1", "name": "x", "email": "", "webhook_url": f"{http.base}/errcode/dingtalk/send"}]
    )
    records = deliver_submission_alert(
        settings_for(None), contacts, rejected_msg(), [], retries=2, sleep=no_sleep
    )
    assert [r["outcome"] for r in records] == ["failed", "failed"]
    assert "errcode=310000" in records[-1]["error"]


def test_retry_recovers_after_a_transient_failure(
    smtp: tuple[Controller, Collector], monkeypatch: pytest.MonkeyPatch
) -> None:
    import fivestar.alerts.deliver as deliver_mod

    ctl, handler = smtp
    calls = {"n": 0}

    def flaky(*args: Any, **kwargs: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionResetError("connection reset by peer")
        send_email(*args, **kwargs)

    monkeypatch.setattr(deliver_mod, "send_email", flaky)
    contacts = pd.DataFrame([{"county_code": "1", "name": "x", "email": "a@b.cn", "webhook_url": ""}])
    records = deliver_submission_alert(settings_for(ctl.port), contacts, rejected_msg(), [], sleep=no_sleep)
    assert [(r["attempt"], r["outcome"]) for r in records] == [(1, "failed"), (2, "sent")]
    assert len(handler.envelopes) == 1


def test_smtp_down_gives_failed_records_without_raising(xlsx: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    s = settings_for(free_port(), smtp_user="alerts", smtp_password=PASSWORD)  # nothing listens there
    contacts = pd.DataFrame([{"county_code": "1", "name": "x", "email": "a@b.cn", "webhook_url": ""}])
    records = deliver_submission_alert(s, contacts, rejected_msg(), [xlsx], retries=2, sleep=no_sleep)
    assert [(r["channel"], r["attempt"], r["outcome"]) for r in records] == [
        ("email", 1, "failed"),
        ("email", 2, "failed"),
    ]
    assert "ConnectionRefusedError" in records[0]["error"]
    assert PASSWORD not in json.dumps(records, ensure_ascii=False) and PASSWORD not in caplog.text


@pytest.mark.parametrize("password", [ASCII_PASSWORD, PASSWORD])
def test_password_never_in_records_or_logs(
    xlsx: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, password: str
) -> None:
    caplog.set_level(logging.DEBUG)
    auth = Auth("alerts", "the-right-one")
    ctl, handler = start_smtp(authenticator=auth, auth_require_tls=False)
    try:
        s = settings_for(ctl.port, smtp_user="alerts", smtp_password=password)
        contacts = pd.DataFrame([{"county_code": "1", "name": "x", "email": "a@b.cn", "webhook_url": ""}])
        records = deliver_submission_alert(s, contacts, rejected_msg(), [xlsx], retries=2, sleep=no_sleep)
        assert [r["outcome"] for r in records] == ["failed", "failed"]
        assert "SMTPAuthenticationError" in records[0]["error"]
        assert auth.seen and set(auth.seen) == {"alerts"} and handler.envelopes == []

        # Even an error text that quotes the password is scrubbed before it is stored or logged.
        import fivestar.alerts.deliver as deliver_mod

        def leaky(*args: Any, **kwargs: Any) -> None:
            raise RuntimeError(f"login failed for alerts:{password}")

        monkeypatch.setattr(deliver_mod, "send_email", leaky)
        leaked = deliver_submission_alert(s, contacts, rejected_msg(), [xlsx], retries=1)
        assert leaked[0]["error"] == "RuntimeError: login failed for alerts:***"
        text = json.dumps(records + leaked, ensure_ascii=False)
        assert password not in text and password not in caplog.text
    finally:
        ctl.stop()


def test_no_smtp_means_webhooks_only_and_bad_addresses_fail_once(http: Receiver) -> None:
    contacts = pd.DataFrame(
        [
            {"county_code": "1", "name": "x", "email": "a@b.cn", "webhook_url": f"{http.base}/hooks/generic"},
            {"county_code": "1", "name": "y", "email": "", "webhook_url": "ftp://files.example.org/x"},
        ]
    )
    records = deliver_submission_alert(settings_for(None), contacts, rejected_msg(), [], sleep=no_sleep)
    assert [(r["channel"], r["outcome"]) for r in records] == [("webhook", "sent"), ("webhook", "failed")]
    assert records[1]["error"].startswith("unsupported webhook URL scheme")

    s = settings_for(free_port())
    bad = pd.DataFrame([{"county_code": "1", "name": "x", "email": "无", "webhook_url": ""}])
    (rec,) = deliver_submission_alert(s, bad, rejected_msg(), [], sleep=no_sleep)
    assert (rec["attempt"], rec["outcome"], rec["error"]) == (1, "failed", "invalid e-mail address")


def test_deliver_digest(smtp: tuple[Controller, Collector], http: Receiver) -> None:
    ctl, handler = smtp
    msg = digest_message("2026-11", [], [{"county_code": "410523", "county_name": "安阳县"}], [])
    records = deliver_digest(
        settings_for(ctl.port), msg, "it@prov.example.cn", f"{http.base}/hooks/it", sleep=no_sleep
    )
    # The digest's key is its period and a hash of its content (not the run id).
    assert msg.alert_key.startswith("digest:2026-11:")
    assert [(r["channel"], r["outcome"], r["alert_key"]) for r in records] == [
        ("email", "sent", msg.alert_key),
        ("webhook", "sent", msg.alert_key),
    ]
    assert handler.envelopes[0].rcpt_tos == ["it@prov.example.cn"]
    assert http.requests[0]["json"]["status"] == "digest"
    assert deliver_digest(settings_for(ctl.port), msg, None, None) == []


def test_redact_url() -> None:
    r = redact_url(f"https://user:pw@oapi.dingtalk.com/robot/send?access_token={TOKEN}")
    assert r.startswith("https://oapi.dingtalk.com/robot/send?access_token=***#")
    assert TOKEN not in r and "pw" not in r
    assert TOKEN not in redact_url(f"https://open.feishu.cn/open-apis/bot/v2/hook/{TOKEN}")
    # two robots on one host stay distinguishable
    assert redact_url("https://h/x?k=aaa") != redact_url("https://h/x?k=bbb")
