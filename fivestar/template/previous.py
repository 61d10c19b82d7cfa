"""What the template takes from the warehouse, if there is one: last month's facts, ledger size.

In: a warehouse URL (or Engine), a county and a period. Out: an Engine when the warehouse
exists and answers (None otherwise, never an exception: a template without carry-over is
still a template), the fact frames of the county's latest accepted month before the
period (None when there is none or it cannot be read), and the county's largest month of
积分台账 events (None when there is none).
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)


def open_warehouse(url: str) -> Engine | None:
    """An Engine on the warehouse when it exists and answers; None otherwise (never raises).

    A missing SQLite file means "no warehouse yet": it is not created here.
    """
    from sqlalchemy import inspect
    from sqlalchemy.engine import make_url

    from fivestar.warehouse.engine import check_reachable, make_engine, safe_url

    try:
        u = make_url(url)
        if u.get_backend_name() == "sqlite":
            db = u.database or ""
            if (
                not db
                or db == ":memory:"
                or (not db.startswith("file:") and not Path(db).expanduser().is_file())
            ):
                return None
        engine = make_engine(url)
    except Exception as exc:  # a malformed URL or missing driver: no carry-over, no failure
        log.warning("warehouse not usable for templates (%s): %s", type(exc).__name__, exc)
        return None
    try:
        check_reachable(engine)
        if not inspect(engine).has_table("submission"):
            engine.dispose()
            return None
    except Exception as exc:
        log.warning(
            "warehouse %s not reachable; templates without last month's values: %s", safe_url(engine), exc
        )
        engine.dispose()
        return None
    return engine


def previous_facts(engine: Engine, county: str, period: str) -> dict[str, pd.DataFrame] | None:
    """Fact frames of the county's latest accepted month before `period`, or None."""
    from fivestar.warehouse.facts import current_facts, previous_accepted_period

    try:
        prev = previous_accepted_period(engine, county, period)
        if not prev:
            return None
        return current_facts(engine, county_code=county, periods=[prev])
    except Exception as exc:  # carry-over is a convenience: never fail a template for it
        log.warning("could not read %s's previous month from the warehouse: %s", county, exc)
        return None


def largest_ledger_month(engine: Engine, county: str) -> int | None:
    """The most 积分台账 events the county sent in one month (any loaded version), or None
    when the warehouse has none or cannot be read (the template then keeps its default size)."""
    from sqlalchemy import text

    try:
        with engine.connect() as conn:
            n = conn.execute(
                text(
                    "SELECT MAX(n) FROM (SELECT COUNT(*) AS n FROM ledger WHERE county_code = :c "
                    "GROUP BY period, version) AS months"
                ),
                {"c": county},
            ).scalar_one_or_none()
    except Exception as exc:  # sizing is a convenience: never fail a template for it
        log.warning("could not read %s's ledger sizes from the warehouse: %s", county, exc)
        return None
    return int(n) if n else None
