"""Deliver alerts to every contact of a county (or to IT) with retries; never raises.

In: Settings, a county's contacts (submitters.csv rows: county_code, name, email,
webhook_url), a Message and attachments. Out: one record per attempt, ready for
the warehouse table alert_delivery:
    {alert_key, channel ('email'|'webhook'), recipient, attempted_at (UTC ISO),
     attempt (1-based, counted on across runs; 0 = not tried), outcome ('sent' |
     'failed' | 'queued' | 'given_up'), error (English text or None)}
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

from fivestar.alerts.compose import Message
from fivestar.alerts.email import send_email
from fivestar.alerts.policy import Budget
from fivestar.alerts.webhook import post_webhook
from fivestar.settings import Settings

log = logging.getLogger(__name__)

EMAIL = "email"
WEBHOOK = "webhook"
SENT = "sent"
FAILED = "failed"
QUEUED = "queued"  # owed, not tried yet (the run's time budget was used up)
GIVEN_UP = "given_up"  # the retry policy stopped trying (fivestar.alerts.policy)
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
            else:  # summarised once per run by the alert stage (email_without_smtp)
                log.debug("SMTP not configured: no e-mail to contact %r", name)
        if not _blank(row.get("webhook_url")):
            url = str(row["webhook_url"]).strip()
            out.setdefault((WEBHOOK, url), Target(WEBHOOK, redact_url(url), url, name))
    return list(out.values())


def email_without_smtp(settings: Settings, contacts: pd.DataFrame) -> int:
    """Contacts with an e-mail address that gets nothing because SMTP is not configured."""
    if settings.email_enabled or "email" not in contacts:
        return 0
    return sum(not _blank(v) for v in contacts["email"])


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


def precheck(target: Target) -> str | None:
    """Problems no retry can fix: reported once, without a network attempt."""
    if target.channel == EMAIL and "@" not in target.address:
        return "invalid e-mail address"
    if target.channel == WEBHOOK and urlsplit(target.address).scheme.lower() not in ("http", "https"):
        return "unsupported webhook URL scheme (http or https required)"
    return None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def delivery_record(
    msg: Message, target: Target, attempt: int, outcome: str, error: str | None, at: str | None = None
) -> dict[str, Any]:
    """One alert_delivery record (see the module docstring)."""
    return {
        "alert_key": msg.alert_key,
        "channel": target.channel,
        "recipient": target.recipient,
        "attempted_at": at or _now(),
        "attempt": attempt,
        "outcome": outcome,
        "error": error,
    }


def deliver_target(
    settings: Settings,
    target: Target,
    msg: Message,
    attachments: list[Path],
    *,
    tries: int = 3,
    backoff_s: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
    email_timeout: float = 30,
    webhook_timeout: float = 10,
    budget: Budget | None = None,
    first_attempt: int = 1,
) -> list[dict[str, Any]]:
    """Up to `tries` attempts to one target; its records. Never raises; thread-safe.

    With a `budget`, no attempt starts after it is spent and each attempt's socket
    timeout is cut to the time left, so a target that accepts and never answers holds a
    thread only until the deadline; a target not tried at all gets one 'queued' record
    (attempt 0), which keeps it owed for the next run. `first_attempt` numbers the
    attempts on from earlier runs'.
    """
    problem = precheck(target)
    if problem:
        log.error(
            "alert %s: %s to %s not attempted: %s", msg.alert_key, target.channel, target.recipient, problem
        )
        return [delivery_record(msg, target, first_attempt, FAILED, problem)]
    records: list[dict[str, Any]] = []
    tries = max(1, int(tries))
    last_attempt = first_attempt + tries - 1
    for attempt in range(first_attempt, last_attempt + 1):
        left = budget.remaining() if budget is not None else None
        if left is not None and left <= 0:
            break
        started = _now()
        try:
            if target.channel == EMAIL:
                timeout = email_timeout if left is None else min(email_timeout, left)
                send_email(settings, [target.address], msg, attachments, timeout=timeout)
            else:
                # Attachments cannot go to a chat robot; the message says where the workbook is.
                timeout = webhook_timeout if left is None else min(webhook_timeout, left)
                post_webhook(target.address, msg, timeout=timeout)
        except Exception as exc:  # any failure becomes a record; alerts must not stop the run
            error = _scrub(f"{type(exc).__name__}: {exc}", _secrets(settings, target))
            records.append(delivery_record(msg, target, attempt, FAILED, error, started))
            last = attempt == last_attempt
            # One warning per target and run; the attempts before it are detail.
            log.log(
                logging.WARNING if last else logging.INFO,
                "alert %s: %s to %s failed (attempt %d/%d): %s",
                msg.alert_key,
                target.channel,
                target.recipient,
                attempt,
                last_attempt,
                error,
            )
            if last:
                break
            wait = backoff_s * 2 ** (attempt - first_attempt)  # exponential backoff
            if budget is not None and budget.remaining() <= wait:
                break  # no time left for another try in this run
            sleep(wait)
        else:
            records.append(delivery_record(msg, target, attempt, SENT, None, started))
            log.info(
                "alert %s: %s to %s sent (attempt %d/%d)",
                msg.alert_key,
                target.channel,
                target.recipient,
                attempt,
                last_attempt,
            )
            break
    if not records:
        records.append(
            delivery_record(msg, target, 0, QUEUED, "not tried: the run's alert time budget was used up")
        )
    return records


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
    for target in targets:
        if (target.channel, target.recipient) in skip:
            log.info(
                "alert %s: %s to %s already sent, skipped", msg.alert_key, target.channel, target.recipient
            )
            continue
        records += deliver_target(
            settings,
            target,
            msg,
            attachments,
            tries=retries,
            backoff_s=backoff_s,
            sleep=sleep,
            email_timeout=email_timeout,
            webhook_timeout=webhook_timeout,
        )
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
