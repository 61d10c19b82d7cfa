"""Files named without a county code that could belong to several counties: each county
the file's cover code or name points at is told, once per file, how to name it.

In: the alert stage's planner (`plan`, as in fivestar.alerts.cycle), Settings, the
registry, the run id and this run's undecided files (period, file_name, candidates).
Out: the deliveries owed, under the key `unnamed:<county>:<period>:<file name>`, so a
file still lying in the raw folder on later runs is not announced again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from fivestar.alerts.compose import PREFIX, Message, md_escape, plain_text
from fivestar.alerts.deliver import Target, delivery_targets
from fivestar.alerts.parallel import Delivery
from fivestar.alerts.reminder_text import FOOTER
from fivestar.config import Registry
from fivestar.ingest.naming import suggested_name
from fivestar.settings import Settings

log = logging.getLogger(__name__)
KIND = "unnamed"
Plan = Callable[
    [Callable[[], Message], Iterable[Target], Mapping[str, Any], str, tuple[Path, ...]], list[Delivery]
]


def unnamed_file_message(
    county: str, county_name: str, period: str, file_name: str, others: list[str], key: str
) -> Message:
    """What a county is told about a file that may be its own (plain Chinese)."""
    who = f"{county} {county_name}".strip()
    name = suggested_name(county, file_name)
    also = f"（也可能是{'、'.join(others)}的）" if others else ""
    body = (
        f"{period} 收到一份文件名没有县代码的报表“{file_name}”，系统无法确定是哪个县的{also}，"
        f"所以没有审核。如果这是您单位的报表，请把文件改名为“{name}”后重新报送；"
        "如果不是，请忽略本通知。"
    )
    return Message(
        subject=f"{PREFIX}{who} {period}：收到的报表文件名缺少县代码，请改名后重新报送",
        text=f"{who}：\n\n{plain_text(body)}\n\n{FOOTER}\n",
        markdown=f"### {PREFIX}{md_escape(who)} {period}：文件名缺少县代码\n\n{md_escape(body)}\n",
        status="unnamed_file",
        alert_key=key,
        meta={"county_code": county, "period": period, "file_name": file_name, "suggested_name": name},
    )


def plan_unnamed(
    plan: Plan, settings: Settings, registry: Registry, files: Iterable[Mapping[str, Any]], *, run_id: str
) -> list[Delivery]:
    """One notice per candidate county and file (see the module docstring)."""
    out: list[Delivery] = []
    for f in files:
        period, file_name, candidates = str(f["period"]), str(f["file_name"]), list(f["candidates"])
        for county in candidates:
            try:
                targets = delivery_targets(settings, registry.contacts_of(county))
            except Exception as exc:  # a malformed contacts frame must not stop the run
                log.error("unnamed file %s: contacts of %s: %s", file_name, county, exc)
                continue
            key = f"unnamed:{county}:{period}:{file_name}"
            others = [f"{c}{registry.county_name(c) or ''}" for c in candidates if c != county]
            name = registry.county_name(county) or ""
            columns = {"alert_key": key, "run_id": run_id, "county_code": county, "period": period}
            out += plan(
                lambda county=county, name=name, others=others, key=key, period=period, fn=file_name: (
                    unnamed_file_message(county, name, period, fn, others, key)
                ),
                targets,
                columns,
                KIND,
                (),
            )
    return out
