"""The monthly cycle's deliveries in a run's alert stage: reminders (催报) and city lists.

In: the alert stage's planner (`plan`: message builder, targets, columns, kind,
attachments → deliveries still owed) and its delivery history per alert key, the
warehouse engine, Settings, the registry, the run id and "now" (the run's clock).
Out: the deliveries to make. What is due comes from fivestar.alerts.reminders; each
key is planned like any alert, so a target already sent (or given up) is never tried
again, and a failed one is retried by later runs under the retry policy while its
stage is still the latest due. A county's template is written (processed/templates/)
only when some e-mail target of its reminder is still owed, and reused by its later
reminders while the config folder is unchanged. FIVESTAR_REMINDERS=false: none.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from fivestar.alerts.compose import Message
from fivestar.alerts.deliver import EMAIL, Target, delivery_targets
from fivestar.alerts.dispatch import TargetState
from fivestar.alerts.parallel import Delivery
from fivestar.alerts.reminder_text import city_list_message, reminder_message
from fivestar.alerts.reminders import Reminder, city_name, due_now, load_closed, load_submissions
from fivestar.config import Registry
from fivestar.deadlines import load_deadlines
from fivestar.overview import has_tables
from fivestar.settings import Settings

log = logging.getLogger(__name__)
KIND = "reminder"
Plan = Callable[
    [Callable[[], Message], Iterable[Target], Mapping[str, Any], str, tuple[Path, ...]], list[Delivery]
]
States = Mapping[str, Mapping[tuple[str, str], TargetState]]


def _owed(states: States, key: str, targets: list[Target]) -> list[Target]:
    done = states.get(key, {})
    return [t for t in targets if not done.get((t.channel, t.recipient), TargetState()).done]


def _fresh(path: Path, config_dir: Path) -> bool:
    """`path` exists and is newer than every config file (rulebook, registry, layout)."""
    try:
        made = path.stat().st_mtime
        return all(made > p.stat().st_mtime for p in Path(config_dir).iterdir() if p.is_file())
    except OSError:
        return False


def template_for(
    settings: Settings, registry: Registry, engine: Engine, county: str, period: str
) -> Path | None:
    """The county's template of `period` under processed/templates/ (None when it cannot be made)."""
    from fivestar.config import load_rulebook
    from fivestar.template import previous_facts, template_file_name
    from fivestar.template.workbook import write_county_template

    try:
        name = template_file_name(county, registry.county_name(county) or "", period)
        path = settings.processed_dir / "templates" / period / name
        if _fresh(path, settings.config_dir):
            return path  # made by an earlier reminder of this county-month, config unchanged since
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            prev = previous_facts(engine, county, period)
        except Exception:  # last month's values are a convenience; the template works without them
            prev = None
        write_county_template(load_rulebook(settings.config_dir), registry, county, period, path, prev)
        return path
    except Exception as exc:  # the reminder goes without its attachment
        log.error("template of %s %s for its reminder: %s: %s", county, period, type(exc).__name__, exc)
        return None


def _reminder(plan: Plan, states: States, ctx: dict[str, Any], r: Reminder) -> list[Delivery]:
    settings, registry, engine, now = ctx["settings"], ctx["registry"], ctx["engine"], ctx["now"]
    county, period = r.gap.county_code, r.gap.period
    try:
        targets = delivery_targets(settings, registry.contacts_of(county))
    except Exception as exc:  # a malformed contacts frame must not stop the run
        log.error("reminder for %s %s: cannot read contacts: %s", county, period, exc)
        return []
    owed = _owed(states, r.alert_key, targets)
    if not owed:
        return []
    template = (
        template_for(settings, registry, engine, county, period)
        if any(t.channel == EMAIL for t in owed)
        else None
    )
    name = registry.county_name(county) or county
    columns = {"alert_key": r.alert_key, "run_id": ctx["run_id"], "county_code": county, "period": period}
    return plan(
        lambda: reminder_message(r, name, now, template_name=template.name if template else None),
        targets,
        columns,
        KIND,
        (template,) if template else (),
    )


def plan_cycle(
    plan: Plan,
    states: States,
    engine: Engine,
    settings: Settings,
    registry: Registry,
    *,
    run_id: str,
    now: dt.datetime,
) -> list[Delivery]:
    """The reminders and city lists this run owes (see the module docstring)."""
    if not settings.reminders or not has_tables(engine, "submission"):
        return []
    try:
        deadlines = load_deadlines(settings.config_dir)
        reminders, lists = due_now(load_submissions(engine), registry, deadlines, load_closed(engine), now)
    except Exception as exc:  # reminders must never stop a run's own alerts
        log.error("reminders: cannot work out what is due: %s: %s", type(exc).__name__, exc)
        return []
    ctx = {"settings": settings, "registry": registry, "engine": engine, "now": now, "run_id": run_id}
    out: list[Delivery] = []
    for r in reminders:
        out += _reminder(plan, states, ctx, r)
    names = {
        str(c): str(n) for c, n in zip(registry.counties["code"], registry.counties["name"], strict=True)
    }
    for cl in lists:
        try:
            targets = delivery_targets(settings, registry.contacts_of(cl.city_code))
        except Exception as exc:
            log.error("city list for %s %s: cannot read contacts: %s", cl.city_code, cl.period, exc)
            continue
        cname = city_name(registry, cl.city_code)
        columns = {
            "alert_key": cl.alert_key,
            "run_id": run_id,
            "county_code": cl.city_code,
            "period": cl.period,
        }
        out += plan(
            lambda cl=cl, cname=cname: city_list_message(cl, cname, names, now), targets, columns, KIND, ()
        )
    if reminders or lists:
        log.info(
            "reminders: %d county-months and %d city lists due; %d deliveries owed",
            len(reminders),
            len(lists),
            len(out),
        )
    return out
