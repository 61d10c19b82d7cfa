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
from fivestar.alerts.dispatch import alert_digest, alert_submissions, retry_pending_alerts
from fivestar.config import Registry
from fivestar.feedback.stage import write_feedback_many
from fivestar.settings import Settings


@task(name="feedback", cache_policy=NO_CACHE)
def feedback_task(jobs: list[tuple[Any, ...]], in_helper: bool = False) -> list[tuple[Path, Path] | str]:
    # in_helper: on the helper process (a local run), so this thread only waits.
    return helper.call(write_feedback_many, jobs) if in_helper else write_feedback_many(jobs)


@task(name="alert-submissions", cache_policy=NO_CACHE)
def alerts_task(
    engine: Engine, settings: Settings, registry: Registry, run_id: str, items: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    return alert_submissions(engine, settings, registry, run_id=run_id, items=items)


@task(name="alert-digest", cache_policy=NO_CACHE)
def digest_task(engine: Engine, settings: Settings, run_id: str, **kw: Any) -> list[dict[str, Any]]:
    return alert_digest(engine, settings, run_id=run_id, **kw)


@task(name="retry-pending-alerts", cache_policy=NO_CACHE)
def retry_alerts_task(
    engine: Engine, settings: Settings, registry: Registry, run_id: str, skip: set[tuple[str, str, int]]
) -> list[dict[str, Any]]:
    return retry_pending_alerts(engine, settings, registry, run_id=run_id, skip=skip)


def warm_up_helper() -> None:
    """Start the helper process and its imports now (a plain call, not a task)."""
    helper.warm_up()
