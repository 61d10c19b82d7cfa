"""Prefect tasks around feedback files and alerts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy.engine import Engine

from fivestar.alerts.dispatch import alert_digest, alert_submission, retry_pending_alerts
from fivestar.config import Registry
from fivestar.feedback.stage import write_feedback
from fivestar.ingest.discover import FileVersion
from fivestar.settings import Settings


@task(name="feedback", cache_policy=NO_CACHE)
def feedback_task(
    fv: FileVersion,
    archived: Path,
    findings: pd.DataFrame,
    status: str,
    county_name: str,
    feedback_dir: Path,
    explanations: pd.DataFrame | None,
) -> tuple[Path, Path]:
    return write_feedback(fv, archived, findings, status, county_name, feedback_dir, explanations)


@task(name="alert-submission", cache_policy=NO_CACHE)
def alert_task(
    engine: Engine, settings: Settings, registry: Registry, run_id: str, **kw: Any
) -> list[dict[str, Any]]:
    return alert_submission(engine, settings, registry, run_id=run_id, **kw)


@task(name="alert-digest", cache_policy=NO_CACHE)
def digest_task(engine: Engine, settings: Settings, run_id: str, **kw: Any) -> list[dict[str, Any]]:
    return alert_digest(engine, settings, run_id=run_id, **kw)


@task(name="retry-pending-alerts", cache_policy=NO_CACHE)
def retry_alerts_task(
    engine: Engine, settings: Settings, registry: Registry, run_id: str, skip: set[tuple[str, str, int]]
) -> list[dict[str, Any]]:
    return retry_pending_alerts(engine, settings, registry, run_id=run_id, skip=skip)
