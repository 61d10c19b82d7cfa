"""Prefect tasks around the warehouse: load versions, derive ratings, run records.

In/out as the wrapped functions. A load task covers a chunk of counties (each its own
transaction, retried on its own), since every task run costs the Prefect API server
work of its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy.engine import Engine

from fivestar.config import Registry, Rulebook
from fivestar.ingest.discover import FileVersion
from fivestar.ingest.read import ParsedWorkbook
from fivestar.submission import load_submissions
from fivestar.warehouse.ahead import DeriveAhead, derive_all
from fivestar.warehouse.load import finish_run, start_run, sync_registry


@task(name="load-versions", cache_policy=NO_CACHE)
def load_task(
    engine: Engine,
    jobs: list[tuple[FileVersion, ParsedWorkbook, pd.DataFrame, Path]],
    run_id: str,
    rb: Rulebook,
) -> list[tuple[str | None, str | None]]:
    return load_submissions(engine, jobs, run_id, rb)


@task(name="derive", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=2)
def derive_task(
    engine: Engine, rb: Rulebook, run_id: str, ahead: DeriveAhead | None = None
) -> list[tuple[str, int]]:
    return derive_all(engine, rb, run_id, ahead)


@task(name="start-run", cache_policy=NO_CACHE)
def start_run_task(engine: Engine, registry: Registry, params: dict[str, Any], rulebook_hash: str) -> str:
    sync_registry(engine, registry)
    return start_run(engine, params, rulebook_hash)


@task(name="finish-run", cache_policy=NO_CACHE)
def finish_run_task(engine: Engine, run_id: str, outcome: str, summary: Any) -> None:
    finish_run(engine, run_id, outcome, summary)
