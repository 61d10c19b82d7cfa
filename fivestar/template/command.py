"""`fivestar template`: templates for one county or all, optionally e-mailed.

In: a period, an output path, an optional county, settings and config from the
environment (FIVESTAR_CONFIG_DIR, FIVESTAR_WAREHOUSE_URL, FIVESTAR_SMTP_*). Out: the
written template files (one per county), each with last month's values and a ledger
sized from the county's largest month when the warehouse has them, e-mailed to the county's contacts with `--email`.
"""

from __future__ import annotations

import logging
from pathlib import Path

from fivestar.config import Registry, Rulebook
from fivestar.template.mail import email_template
from fivestar.template.previous import largest_ledger_month, open_warehouse, previous_facts
from fivestar.template.workbook import TemplateError, check_period, template_file_name, write_county_template

log = logging.getLogger(__name__)


def write_templates(
    rb: Rulebook,
    registry: Registry,
    period: str,
    out: str | Path,
    *,
    county: str | None = None,
    warehouse_url: str | None = None,
) -> list[tuple[str, Path, bool]]:
    """Templates for one county (`out` = file, or a folder) or all (`out` = folder).

    Returns (county, path, carried-over?) per file. The warehouse is read when its URL
    is given and reachable (last month's values; 积分台账 sized to 1.5 × the county's
    largest month); otherwise templates have no previous-month values and 5,000 ledger rows.
    """
    check_period(period)
    out = Path(out)
    if county is not None:
        county = county.strip()
        if county not in registry.county_codes:
            raise TemplateError(f"county {county} is not in the registry (registry.csv)", "'--county'")
        counties = [county]
    else:
        counties = sorted(registry.county_codes)
    engine = open_warehouse(warehouse_url) if warehouse_url else None
    done: list[tuple[str, Path, bool]] = []
    try:
        for code in counties:
            name = registry.county_name(code) or ""
            default_name = template_file_name(code, name, period)
            if county is None or out.is_dir() or out.suffix.lower() != ".xlsx":
                path = out / default_name
            else:
                path = out
            prev = previous_facts(engine, code, period) if engine is not None else None
            largest = largest_ledger_month(engine, code) if engine is not None else None
            _, carried_from = write_county_template(rb, registry, code, period, path, prev, largest)
            done.append((code, path, carried_from is not None))
    finally:
        if engine is not None:
            engine.dispose()
    return done


def run_template_command(
    *, period: str, out: str | Path, county: str | None = None, send_email: bool = False
) -> list[Path]:
    """CLI entry: settings and config from the environment; write (and optionally mail) templates."""
    from fivestar.config import load_registry, load_rulebook
    from fivestar.settings import load_settings

    settings = load_settings()
    rb = load_rulebook(settings.config_dir)
    registry = load_registry(settings.config_dir)
    done = write_templates(rb, registry, period, out, county=county, warehouse_url=settings.warehouse_url)
    if send_email:
        if not settings.email_enabled:
            log.warning("--email given but FIVESTAR_SMTP_HOST is unset: templates written, none sent")
        else:
            for code, path, carried in done:
                email_template(settings, registry, code, period, path, carried)
    return [p for _, p, _ in done]
