"""Post one alert to a chat robot or a generic JSON webhook (stdlib urllib).

In: a webhook URL and a Message. Out: nothing; raises `WebhookError` on a
non-2xx reply, on a DingTalk/WeCom reply with errcode != 0, or on a network error.
The payload shape follows the URL: DingTalk robot, WeCom (企业微信) robot, or generic JSON.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from fivestar.alerts.compose import Message

DINGTALK = "dingtalk"
WECOM = "wecom"
GENERIC = "generic"
WECOM_MAX_BYTES = 4096  # WeCom rejects markdown content longer than this (errcode 40058)
DINGTALK_MAX_CHARS = 18000  # DingTalk's documented limit is 20000 bytes-ish; stay below it


class WebhookError(RuntimeError):
    """A webhook delivery failed (HTTP status, robot errcode, or network)."""


def webhook_kind(url: str) -> str:
    """'dingtalk' | 'wecom' | 'generic', from host, path or query.

    Matching words anywhere in the URL (not only the official hosts) lets relays and
    loopback test receivers choose the format, e.g. http://127.0.0.1:8080/robot/send?kind=dingtalk.
    """
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    rest = f"{parts.path}?{parts.query}".lower()
    if host == "oapi.dingtalk.com" or "dingtalk" in host or "dingtalk" in rest:
        return DINGTALK
    if host == "qyapi.weixin.qq.com" or any(w in host or w in rest for w in ("wecom", "weixin")):
        return WECOM
    return GENERIC


def _truncate_bytes(text: str, limit: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    tail = "\n…（内容过长已截断）"
    keep = limit - len(tail.encode("utf-8"))
    return data[:keep].decode("utf-8", errors="ignore") + tail


def build_payload(url: str, msg: Message, kind: str | None = None) -> dict[str, Any]:
    kind = kind or webhook_kind(url)
    if kind == DINGTALK:
        text = (
            msg.markdown
            if len(msg.markdown) <= DINGTALK_MAX_CHARS
            else msg.markdown[:DINGTALK_MAX_CHARS] + "…"
        )
        return {"msgtype": "markdown", "markdown": {"title": msg.subject, "text": text}}
    if kind == WECOM:
        return {
            "msgtype": "markdown",
            "markdown": {"content": _truncate_bytes(msg.markdown, WECOM_MAX_BYTES)},
        }
    return {
        "title": msg.subject,
        "text": msg.text,
        "markdown": msg.markdown,
        "status": msg.status,
        "alert_key": msg.alert_key,
        **{
            k: v for k, v in msg.meta.items() if k not in ("title", "text", "markdown", "status", "alert_key")
        },
    }


def post_webhook(url: str, msg: Message, timeout: float = 10, *, kind: str | None = None) -> None:
    """POST the message as JSON. Raises WebhookError on any failure."""
    kind = kind or webhook_kind(url)
    body = json.dumps(build_payload(url, msg, kind), ensure_ascii=False).encode("utf-8")
    req = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json; charset=utf-8"}
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status = resp.status
            reply = resp.read(65536)
    except urllib.error.HTTPError as exc:
        # Never put the URL in the error: robot URLs carry their access token.
        raise WebhookError(f"HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise WebhookError(f"connection failed: {reason}") from None
    if not 200 <= status < 300:
        raise WebhookError(f"HTTP {status}")
    if kind in (DINGTALK, WECOM):
        # Robots answer HTTP 200 even when they drop the message; the verdict is in errcode.
        try:
            data = json.loads(reply.decode("utf-8") or "{}")
        except ValueError:
            raise WebhookError(f"{kind} robot sent a non-JSON reply") from None
        errcode = data.get("errcode", 0) if isinstance(data, dict) else 0
        if errcode not in (0, "0"):
            raise WebhookError(f"{kind} robot replied errcode={errcode} errmsg={data.get('errmsg', '')}")
