"""Send one alert e-mail over SMTP (stdlib smtplib).

In: Settings (FIVESTAR_SMTP_*), recipients, a Message and files to attach.
Out: nothing; raises on any failure (connection, TLS, login, refused recipient),
so the caller can retry and record the outcome.
"""

from __future__ import annotations

import base64
import logging
import mimetypes
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from fivestar.alerts.compose import Message
from fivestar.settings import Settings

log = logging.getLogger(__name__)

XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
DEFAULT_FROM = "fivestar@localhost"


def _mime_type(path: Path) -> tuple[str, str]:
    # mimetypes may not know .xlsx on minimal systems; the attachment must open in Excel/WPS.
    if path.suffix.lower() == ".xlsx":
        return XLSX_TYPE
    guessed, _ = mimetypes.guess_type(path.name)
    if guessed and "/" in guessed:
        major, minor = guessed.split("/", 1)
        return major, minor
    return "application", "octet-stream"


def build_email(settings: Settings, to: list[str], msg: Message, attachments: list[Path]) -> EmailMessage:
    """The MIME message: UTF-8 subject (RFC 2047) and body, attachments with RFC 2231 file names."""
    sender = settings.smtp_from or DEFAULT_FROM
    em = EmailMessage()  # policy=email.policy.default: encodes non-ASCII headers and parameters
    em["Subject"] = msg.subject
    em["From"] = sender
    em["To"] = ", ".join(to)
    em["Date"] = formatdate(localtime=True)
    domain = sender.rsplit("@", 1)[-1] if "@" in sender else None
    em["Message-ID"] = make_msgid(domain=domain)
    em.set_content(msg.text, charset="utf-8")
    for path in attachments:
        path = Path(path)
        major, minor = _mime_type(path)
        em.add_attachment(path.read_bytes(), maintype=major, subtype=minor, filename=path.name)
    return em


def _login(client: smtplib.SMTP, user: str, password: str) -> None:
    if (user + password).isascii():
        client.login(user, password)  # negotiates CRAM-MD5 / PLAIN / LOGIN
        return
    # smtplib encodes credentials as ASCII and would fail on e.g. a Chinese password;
    # AUTH PLAIN is defined over UTF-8 (RFC 4616), so send it by hand.
    if not client.has_extn("auth") or "PLAIN" not in client.esmtp_features["auth"].upper().split():
        raise smtplib.SMTPException("server offers no AUTH PLAIN for a non-ASCII login")
    token = base64.b64encode(b"\0" + user.encode("utf-8") + b"\0" + password.encode("utf-8")).decode("ascii")
    code, resp = client.docmd("AUTH", "PLAIN " + token)
    if code not in (235, 503):  # 503: already authenticated
        raise smtplib.SMTPAuthenticationError(code, resp)


def send_email(
    settings: Settings,
    to: list[str],
    msg: Message,
    attachments: list[Path],
    *,
    timeout: float = 30,
    ssl_context: ssl.SSLContext | None = None,
    implicit_tls: bool | None = None,
) -> None:
    """Send `msg` to `to`. Raises on failure.

    STARTTLS when settings.smtp_starttls; login when settings.smtp_user is set.
    `implicit_tls` (SMTPS) defaults to True for port 465, the usual submission port of
    Chinese mail providers. `ssl_context` overrides the default (system CAs) context.
    """
    if not settings.smtp_host:
        raise RuntimeError("SMTP is not configured (FIVESTAR_SMTP_HOST is unset)")
    if not to:
        raise ValueError("no e-mail recipients")
    em = build_email(settings, to, msg, attachments)
    context = ssl_context or ssl.create_default_context()
    use_smtps = settings.smtp_port == 465 if implicit_tls is None else implicit_tls
    host, port = settings.smtp_host, settings.smtp_port

    client: smtplib.SMTP
    if use_smtps:
        client = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
    else:
        client = smtplib.SMTP(host, port, timeout=timeout)
    with client:
        client.ehlo()
        if settings.smtp_starttls and not use_smtps:
            client.starttls(context=context)
            client.ehlo()  # capabilities (AUTH) are announced again after TLS
        if settings.smtp_user:
            if not (use_smtps or settings.smtp_starttls):
                log.warning("SMTP login to %s:%s without TLS: the password travels in clear text", host, port)
            _login(client, settings.smtp_user, settings.smtp_password or "")
        refused = client.send_message(em, from_addr=settings.smtp_from or DEFAULT_FROM, to_addrs=to)
    if refused:
        # Partial refusal still means someone did not get the alert: report it as a failure.
        raise smtplib.SMTPRecipientsRefused(refused)
