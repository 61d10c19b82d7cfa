"""Deliver alerts to every contact of a county (or to IT) with retries; never raises.

In: Settings, a county's contacts (submitters.csv rows: county_code, name, email,
webhook_url), a Message and attachments. Out: one record per attempt, ready for
the warehouse table alert_delivery:
    {alert_key, channel ('email'|'webhook'), recipient, attempted_at (UTC ISO),
     attempt (1-based), outcome ('sent'|'failed'), error (English text or None)}
`recipient` is safe to store and log: webhook URLs have their tokens masked.

"Already sent" check for the caller: records carry `msg.alert_key`
(submission:<county>:<period>:v<version>). Pass the (channel, recipient) pairs already
'sent' for that key as `skip=` (see `sent_targets`) and only the missing targets are tried.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pandas as pd

from fivestar.alerts.email import send_email
from fivestar.alerts.messages import Message
from fivestar.alerts.webhook import post_webhook
from fivestar.settings import Settings

log = logging.getLogger(__name__)

EMAIL = "email"
WEBHOOK = "webhook"
SENT = "sent"
FAILED = "failed"
_EMAIL_SPLIT = re.compile(r"[;,；，\s]+")  # one cell may list several addresses


@dataclass(frozen=True)
class Target:
    channel: str  # email | webhook
    recipient: str  # what is stored and logged (webhook token masked)
    address: str  # the real address; a webhook URL may hold a secret token: never log it
    contact: str = ""  # contact name, for logs


def redact_url(url: str) -> str:
    """A webhook URL safe for logs and the warehouse: query values and long path
    segments (tokens) masked, user:password dropped, plus a short hash so two robots
    on the same host stay distinguishable."""
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    path = "/".join("***" if len(seg) >= 16 else seg for seg in parts.path.split("/"))
    query = "&".join(f"{k}=***" for k, _ in parse_qsl(parts.query, keep_blank_values=True))
    digest = hashlib.sha256(url.strip().encode("utf-8")).hexdigest()[:8]
    return f"{parts.scheme}://{host}{path}" + (f"?{query}" if query else "") + f"#{digest}"


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and pd.isna(value)) or not str(value).strip()


def delivery_targets(settings: Settings, contacts: pd.DataFrame) -> list[Target]:
    """Where a county's alert goes: e-mail (when SMTP is configured) and webhooks,
    de-duplicated (a county's contacts often share one group robot)."""
    out: dict[tuple[str, str], Target] = {}
    for row in contacts.to_dict("records"):
        name = "" if _blank(row.get("name")) else str(row.get("name")).strip()
        if not _blank(row.get("email")):
            if settings.email_enabled:
                for addr in _EMAIL_SPLIT.split(str(row["email"]).strip()):
                    if addr:
                        out.setdefault((EMAIL, addr.lower()), Target(EMAIL, addr, addr, name))
            else:
                log.info("SMTP not configured: no e-mail to contact %r", name)
        if not _blank(row.get("webhook_url")):
            url = str(row["webhook_url"]).strip()
            out.setdefault((WEBHOOK, url), Target(WEBHOOK, redact_url(url), url, name))
    return list(out.values())


def sent_targets(records: Iterable[Mapping[str, Any]], alert_key: str | None = None) -> set[tuple[str, str]]:
    """(channel, recipient) pairs with a 'sent' record (for `alert_key`, when given)."""
    return {
        (str(r["channel"]), str(r["recipient"]))
        for r in records
        if r.get("outcome") == SENT and (alert_key is None or r.get("alert_key") == alert_key)
    }


def _scrub(text: str, secrets: Iterable[str]) -> str:
    for s in secrets:
        if s and len(s) >= 3:
            text = text.replace(s, "***")
    return text


def _secrets(settings: Settings, target: Target) -> list[str]:
    found = [settings.smtp_password or ""]
    if target.channel == WEBHOOK:
        parts = urlsplit(target.address)
        found += [target.address, parts.password or ""]
        found += [v for _, v in parse_qsl(parts.query)]
        found += [seg for seg in parts.path.split("/") if len(seg) >= 16]
    # Longest first so a token inside the URL does not break the URL's own replacement.
    return sorted({s for s in found if s}, key=len, reverse=True)


def _precheck(target: Target) -> str | None:
    """Problems no retry can fix: reported once, without a network attempt."""
    if target.channel == EMAIL and "@" not in target.address:
        return "invalid e-mail address"
    if target.channel == WEBHOOK and urlsplit(target.address).scheme.lower() not in ("http", "https"):
        return "unsupported webhook URL scheme (http or https required)"
    return None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _deliver(
    settings: Settings,
    targets: list[Target],
    msg: Message,
    attachments: list[Path],
    *,
    retries: int,
    backoff_s: float,
    skip: Collection[tuple[str, str]],
    sleep: Callable[[float], None],
    email_timeout: float,
    webhook_timeout: float,
) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    retries = max(1, int(retries))
    for target in targets:
        if (target.channel, target.recipient) in skip:
            log.info(
                "alert %s: %s to %s already sent, skipped", msg.alert_key, target.channel, target.recipient
            )
            continue

        def record(
            attempt: int, outcome: str, error: str | None, started: str, target: Target = target
        ) -> None:
            records.append(
                {
                    "alert_key": msg.alert_key,
                    "channel": target.channel,
                    "recipient": target.recipient,
                    "attempted_at": started,
                    "attempt": attempt,
                    "outcome": outcome,
                    "error": error,
                }
            )

        problem = _precheck(target)
        if problem:
            log.error(
                "alert %s: %s to %s not attempted: %s",
                msg.alert_key,
                target.channel,
                target.recipient,
                problem,
            )
            record(1, FAILED, problem, _now())
            continue

        for attempt in range(1, retries + 1):
            started = _now()
            try:
                if target.channel == EMAIL:
                    send_email(settings, [target.address], msg, attachments, timeout=email_timeout)
                else:
                    # Attachments cannot go to a chat robot; the message says where the workbook is.
                    post_webhook(target.address, msg, timeout=webhook_timeout)
            except Exception as exc:  # any failure becomes a record; alerts must not stop the run
                error = _scrub(f"{type(exc).__name__}: {exc}", _secrets(settings, target))
                record(attempt, FAILED, error, started)
                last = attempt == retries
                log.log(
                    logging.ERROR if last else logging.WARNING,
                    "alert %s: %s to %s failed (attempt %d/%d): %s",
                    msg.alert_key,
                    target.channel,
                    target.recipient,
                    attempt,
                    retries,
                    error,
                )
                if not last:
                    sleep(backoff_s * 2 ** (attempt - 1))  # exponential backoff
            else:
                record(attempt, SENT, None, started)
                log.info(
                    "alert %s: %s to %s sent (attempt %d/%d)",
                    msg.alert_key,
                    target.channel,
                    target.recipient,
                    attempt,
                    retries,
                )
                break
    return records


def deliver_submission_alert(
    settings: Settings,
    contacts: pd.DataFrame,
    msg: Message,
    attachments: list[Path],
    *,
    retries: int = 3,
    backoff_s: float = 0.5,
    skip: Collection[tuple[str, str]] = (),
    sleep: Callable[[float], None] = time.sleep,
    email_timeout: float = 30,
    webhook_timeout: float = 10,
) -> list[dict[str, Any]]:
    """Send `msg` to each contact (e-mail with attachments, and webhook). Never raises.

    `contacts` = Registry.contacts_of(county). `skip` = (channel, recipient) pairs
    already sent for msg.alert_key (from alert_delivery), so a rerun only retries the rest.
    """
    try:
        targets = delivery_targets(settings, contacts)
    except Exception as exc:  # a malformed contacts frame must not stop the run either
        log.error("alert %s: cannot read contacts: %s", msg.alert_key, type(exc).__name__)
        return []
    if not targets:
        log.info("alert %s: no reachable contact (no e-mail with SMTP, no webhook)", msg.alert_key)
    return _deliver(
        settings,
        targets,
        msg,
        [Path(p) for p in attachments],
        retries=retries,
        backoff_s=backoff_s,
        skip=skip,
        sleep=sleep,
        email_timeout=email_timeout,
        webhook_timeout=webhook_timeout,
    )


def deliver_digest(
    settings: Settings,
    msg: Message,
    email: str | None,
    webhook: str | None,
    *,
    attachments: list[Path] | None = None,
    retries: int = 3,
    backoff_s: float = 0.5,
    skip: Collection[tuple[str, str]] = (),
    sleep: Callable[[float], None] = time.sleep,
    email_timeout: float = 30,
    webhook_timeout: float = 10,
) -> list[dict[str, Any]]:
    """Send the IT digest to `email` (e.g. settings.it_alert_email) and/or `webhook`
    (settings.it_alert_webhook). Same records and guarantees as deliver_submission_alert."""
    contacts = pd.DataFrame(
        [{"county_code": "", "name": "IT", "email": email or "", "webhook_url": webhook or ""}]
    )
    return deliver_submission_alert(
        settings,
        contacts,
        msg,
        list(attachments or []),
        retries=retries,
        backoff_s=backoff_s,
        skip=skip,
        sleep=sleep,
        email_timeout=email_timeout,
        webhook_timeout=webhook_timeout,
    )
