"""The Prefect flows `fivestar-close` and `fivestar-reopen`: `fivestar close` / `fivestar
reopen` as deployments (an operator without a shell on the server uses the Prefect UI or
`prefect deployment run 'fivestar-close/close' -p period=2026-10 -p reason=…`).

In: parameters period (YYYY-MM), for a reopen county and reason, optionally by (who;
default the worker's operating-system user). Out: one rpt_period_event row, written under
the run lock (after a running pipeline run), and the change as the flow's result data.
A mistyped parameter fails the flow run with a message saying what to type.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import Any

from prefect import flow

from fivestar.closing import close_period, reopen_county
from fivestar.config import load_registry
from fivestar.settings import load_settings
from fivestar.warehouse.engine import check_reachable, make_engine
from fivestar.warehouse.schema import ensure_schema


def _engine() -> Any:
    settings = load_settings()
    engine = make_engine(settings.warehouse_url)
    check_reachable(engine)
    ensure_schema(engine, auto_upgrade=settings.auto_upgrade)
    return engine


@flow(name="fivestar-close", log_prints=False, validate_parameters=True)
def fivestar_close(period: str, reason: str | None = None, by: str | None = None) -> dict[str, Any]:
    registry = load_registry(load_settings().config_dir)
    engine = _engine()
    try:
        done = close_period(
            engine, str(period), reason=reason, by=by, now=dt.datetime.now(dt.UTC), registry=registry
        )
    finally:
        engine.dispose()
    return asdict(done)


@flow(name="fivestar-reopen", log_prints=False, validate_parameters=True)
def fivestar_reopen(period: str, county: str | int, reason: str, by: str | None = None) -> dict[str, Any]:
    registry = load_registry(load_settings().config_dir)
    engine = _engine()
    try:
        done = reopen_county(
            engine,
            str(period),
            str(county),
            reason=reason,
            by=by,
            now=dt.datetime.now(dt.UTC),
            registry=registry,
        )
    finally:
        engine.dispose()
    return asdict(done)
