"""Prefect tasks around feedback files and alerts.

In/out as the wrapped functions; each task covers several counties (a chunk or a
period), since every task run costs the Prefect API server work of its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy.engine import Engine

from fivestar import helper
from fivestar.alerts.stage import alert_stage
from fivestar.config import Registry
from fivestar.feedback.stage import write_feedback_many
from fivestar.settings import Settings


@task(name="feedback", cache_policy=NO_CACHE)
def feedback_task(jobs: list[tuple[Any, ...]], in_helper: bool = False) -> list[tuple[Path, Path] | str]:
    # in_helper: on the helper process (a local run), so this thread only waits.
    return helper.call(write_feedback_many, jobs) if in_helper else write_feedback_many(jobs)


@task(name="alert-submissions", cache_policy=NO_CACHE)
def alerts_task(
    engine: Engine,
    settings: Settings,
    registry: Registry,
    run_id: str,
    items: list[dict[str, Any]],
    processed: list[dict[str, Any]],
) -> dict[str, Any]:
    """The run's alert stage (this run's alerts, those still owed, the IT digest) within
    FIVESTAR_ALERT_BUDGET_SECONDS; {"records", "summary"}."""
    return alert_stage(engine, settings, registry, run_id=run_id, items=items, processed=processed)


def warm_up_helper() -> None:
    """Start the helper process and its imports now (a plain call, not a task)."""
    helper.warm_up()
