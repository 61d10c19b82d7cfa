"""The IT digests of a run: one per period the run processed or whose alerts failed,
were given up or put off; one for a month past its deadline while the raw folder is empty;
one for the latest month past its deadline while counties are missing or late.

In: the warehouse engine, Settings, the registry, the run's processed rows and what its
alert deliveries left (`DigestInputs`), the deadlines and the run's "now".
Out: (period, Message) pairs for the outbox (fivestar.alerts.outbox); nothing is sent here.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

from fivestar.alerts.closed import cycle_sections, latest_overdue_with_gaps
from fivestar.alerts.compose import Message, digest_message
from fivestar.alerts.policy import as_utc
from fivestar.config import Registry
from fivestar.deadlines import Deadlines
from fivestar.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DigestInputs:
    """What the run's alert deliveries left for the digest."""

    run_id: str
    now: dt.datetime
    given_up: list[dict[str, Any]] = field(default_factory=list)
    failed_new: list[dict[str, Any]] = field(default_factory=list)
    deferred_by_period: dict[str, int] = field(default_factory=dict)


def overdue_empty_period(
    engine: Engine, raw_dir: Path, now: dt.datetime, deadlines: Deadlines | None = None
) -> str | None:
    """The latest month whose reporting deadline has passed when the raw folder holds no
    workbook at all and the warehouse no version of that month (a wrong or unmounted
    folder on the night after the deadline); else None."""
    from fivestar.overview import has_tables

    deadlines = deadlines or Deadlines()
    if any(raw_dir.rglob("*.xlsx")):
        return None
    now_local = as_utc(now)
    y, m = now_local.year, now_local.month
    period = f"{y:04d}-{m:02d}"
    while deadlines.deadline(period) > now_local:
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
        period = f"{y:04d}-{m:02d}"
    if has_tables(engine, "submission"):
        with engine.connect() as conn:
            if conn.execute(text("SELECT 1 FROM submission WHERE period = :p"), {"p": period}).first():
                return None
    return period


def run_digests(
    engine: Engine,
    settings: Settings,
    registry: Registry,
    processed: list[dict[str, Any]],
    outcome: DigestInputs,
    deadlines: Deadlines | None = None,
) -> list[tuple[str, Message]]:
    """One digest per period this run processed, or in which alerts failed, were given up
    or put off; one for a month past its deadline while the raw folder is empty; and one
    for the latest month past its deadline while counties are missing or late there."""
    deadlines = deadlines or Deadlines()
    periods = {str(r["period"]) for r in processed}
    extra = {str(r.get("period") or "") for r in outcome.given_up + outcome.failed_new}
    extra |= set(outcome.deferred_by_period)
    gaps = latest_overdue_with_gaps(engine, deadlines, outcome.now)
    if gaps:
        extra.add(gaps)
    overdue = overdue_empty_period(engine, settings.raw_dir, outcome.now, deadlines)
    if overdue:
        log.warning(
            "the raw folder %s holds no workbook and %s is past its deadline", settings.raw_dir, overdue
        )
        periods.add(overdue)
    out = []
    cycle = cycle_sections(engine, deadlines, outcome.now, periods | (extra - {""}), processed)
    for per in sorted(periods | (extra - {""})):
        rows = [r for r in processed if str(r["period"]) == per]
        missing = None
        if per in periods:
            submitted = {r["county_code"] for r in rows}
            missing = [
                {"county_code": c, "county_name": registry.county_name(c)}
                for c in sorted(registry.county_codes - submitted)
            ]
        msg = digest_message(
            per,
            [r for r in rows if r["status"] in ("rejected", "failed")],
            missing,
            [r for r in outcome.failed_new if str(r.get("period")) == per],
            run_id=outcome.run_id,
            given_up=[r for r in outcome.given_up if str(r.get("period")) == per],
            deferred=outcome.deferred_by_period.get(per, 0),
            unnamed=[
                {**r, "county_name": registry.county_name(r["county_code"]) or ""}
                for r in rows
                if r.get("file_name") and not str(r["file_name"]).startswith(str(r["county_code"]))
            ],
            notice=(
                f"原始数据目录中没有任何报表，而 {per} 的报送截止时间已过；请检查数据目录设置（FIVESTAR_RAW_DIR）是否正确"
                if per == overdue
                else ""
            ),
            sections=cycle.get(per),
        )
        out.append((per, msg))
    return out
