"""Deliver many (message, target) pairs at once within a time budget: the one place
where alerts use threads.

In: Settings, `Delivery` items (a message, one target, tries for this run) and a
`Budget`. Out: each item's records, handed to `on_done` in the caller's thread as
items finish (so the caller alone writes to the warehouse). Deliveries are network
waits, so a small thread pool overlaps them; an item whose turn comes after the
budget is spent is not tried and gets a 'queued' record (fivestar.alerts.deliver).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fivestar.alerts.compose import Message
from fivestar.alerts.deliver import FAILED, Target, deliver_target, delivery_record
from fivestar.alerts.policy import BACKOFF_S, Budget
from fivestar.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivery:
    msg: Message
    target: Target
    attachments: tuple[Path, ...] = ()
    tries: int = 1
    first_attempt: int = 1  # failed attempts on earlier runs + 1
    columns: Mapping[str, Any] = field(default_factory=dict)  # run_id, county_code, … for alert_delivery
    kind: str = ""  # the caller's label, e.g. new | retry | digest


def deliver_all(
    settings: Settings,
    deliveries: list[Delivery],
    budget: Budget,
    on_done: Callable[[Delivery, list[dict[str, Any]]], None],
    *,
    workers: int = 8,
    backoff_s: float = BACKOFF_S,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Try every delivery, at most `workers` at a time, in the given order (first come,
    first tried). Returns when all are done: attempts in flight end by the deadline,
    since each attempt's timeout is cut to the budget left."""
    if not deliveries:
        return

    def one(d: Delivery) -> list[dict[str, Any]]:
        return deliver_target(
            settings,
            d.target,
            d.msg,
            list(d.attachments),
            tries=d.tries,
            backoff_s=backoff_s,
            sleep=sleep,
            budget=budget,
            first_attempt=d.first_attempt,
        )

    n = max(1, min(int(workers), len(deliveries)))
    with ThreadPoolExecutor(max_workers=n, thread_name_prefix="alert") as pool:
        futures = {pool.submit(one, d): d for d in deliveries}
        for fut in as_completed(futures):
            d = futures[fut]
            try:
                records = fut.result()
            except Exception as exc:  # deliver_target does not raise; a bug must not stop the run
                log.error("alert %s: delivery crashed: %s", d.msg.alert_key, type(exc).__name__)
                records = [delivery_record(d.msg, d.target, d.first_attempt, FAILED, type(exc).__name__)]
            on_done(d, records)
