"""The outbox: messages kept in the warehouse until delivered (today: the IT digest).

In: an Engine and a Message. Out: rows of table alert_outbox, and the stored Messages
back. A county's alert is rebuilt from its stored findings when it is retried; the
digest describes one run and cannot be rebuilt, so it is stored when made, keyed by
period and content (`digest_alert_key`), and retried from here on later runs.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

from fivestar.alerts.compose import Message
from fivestar.alerts.policy import as_utc


def _local_naive(now: dt.datetime) -> dt.datetime:
    # The warehouse keeps naive UTC everywhere (fivestar.warehouse.timestamps).
    return as_utc(now).replace(tzinfo=None, microsecond=0)


def save_message(engine: Engine, msg: Message, period: str, now: dt.datetime) -> None:
    """Store `msg` once (a message with the same key is already there: nothing changes)."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO alert_outbox (alert_key, period, created_at, subject, body_text, "
                "body_markdown, status, meta) VALUES (:k, :p, :t, :s, :x, :m, :st, :meta) "
                "ON CONFLICT (alert_key) DO NOTHING"
            ),
            {
                "k": msg.alert_key,
                "p": period,
                "t": _local_naive(now),
                "s": msg.subject,
                "x": msg.text,
                "m": msg.markdown,
                "st": msg.status,
                "meta": json.dumps(dict(msg.meta), ensure_ascii=False, default=str),
            },
        )


def stored_messages(engine: Engine, exclude: set[str] | frozenset[str] = frozenset()) -> list[dict[str, Any]]:
    """Every stored message whose key is not in `exclude` (keys every target has or
    gave up), oldest first: dicts with message, period, created_at."""
    sql = text(
        "SELECT alert_key, period, created_at, subject, body_text, body_markdown, status, meta "
        "FROM alert_outbox ORDER BY created_at, alert_key"
    )
    out: list[dict[str, Any]] = []
    with engine.connect() as conn:
        for r in conn.execute(sql).mappings():
            if r["alert_key"] in exclude:
                continue
            try:
                meta = json.loads(r["meta"] or "{}")
            except ValueError:
                meta = {}
            msg = Message(
                subject=r["subject"],
                text=r["body_text"],
                markdown=r["body_markdown"],
                status=r["status"] or "",
                alert_key=r["alert_key"],
                meta=meta,
            )
            out.append({"message": msg, "period": r["period"], "created_at": r["created_at"]})
    return out
