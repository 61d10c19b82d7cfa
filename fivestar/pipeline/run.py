"""One run of the mission: discover → read → validate → feedback → load → derive →
alert → summary.

In: the run context (settings, rulebook, registry, limits, warehouse), the checked run
parameters, an executor (where work runs: fivestar.runtime), a stage runner (plain, or
Prefect's) and the run's "now" (its start time, or `fivestar run --now`: deadlines, completeness
and alerts use it; settling uses the later of it and the real clock). Out: a `RunResult`. Runs are serialised by the
warehouse run lock; every run is recorded in the `run` table, completed or failed.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import asdict

from fivestar.alerts.stage import alert_stage
from fivestar.completeness import refresh_completeness
from fivestar.context import RunContext
from fivestar.ingest.discover import Discovery, discover
from fivestar.ingest.files import reader_state
from fivestar.pipeline.closing import apply_closing, record_late
from fivestar.pipeline.derive_stage import DeriveAhead, derive_all, shares_derivation
from fivestar.pipeline.period import HELPER_MODULES, failure, process_period, reader_setup
from fivestar.pipeline.progress import tracking
from fivestar.pipeline.results import Outcome, RunResult
from fivestar.pipeline.stages import Stage, call
from fivestar.run_params import RunParams
from fivestar.runtime import Executor
from fivestar.summary import build_summary
from fivestar.warehouse.facts import known_versions
from fivestar.warehouse.lock import run_lock
from fivestar.warehouse.registry import sync_registry
from fivestar.warehouse.runs import finish_run, start_run


def start(ctx: RunContext, params: RunParams) -> str:
    sync_registry(ctx.engine, ctx.registry)
    return start_run(ctx.engine, params.as_dict(), ctx.rulebook.hash)


def find(ctx: RunContext, params: RunParams, now: dt.datetime) -> Discovery:
    """New and changed versions; those of closed county-months set aside (pipeline.closing).
    Settling is physical (is a copy still being written?): judged by the real clock when the
    run's "now" is set (`run --now`), so a backfill's clock never holds a settled file back."""
    found = discover(
        ctx.settings.raw_dir,
        ctx.registry.county_codes,
        known_versions(ctx.engine),
        period=params.period,
        county=params.county,
        force=params.force,
        now=max(now.timestamp(), time.time()),
        settle=ctx.settings.settle_seconds,
        county_names=dict(zip(ctx.registry.counties["code"], ctx.registry.counties["name"], strict=True)),
    )
    return apply_closing(ctx, found, params)


def run_pipeline(
    ctx: RunContext,
    params: RunParams,
    executor: Executor,
    *,
    stage: Stage = call,
    now: dt.datetime | None = None,
) -> RunResult:
    now = now or dt.datetime.now(dt.UTC)
    stage = tracking(stage)  # progress on the `fivestar.progress` logger (the CLI's spinner)
    with run_lock(ctx.engine, wait=True):
        run_id = stage("start-run", start, ctx, params)
        try:
            found = stage("discover", find, ctx, params, now)
            setup = reader_setup(ctx)
            if found.versions:  # start-up of the readers and the helper overlaps what follows
                executor.start_files(setup, reader_state)
                executor.prepare(HELPER_MODULES)
            periods = sorted({v.period for v in found.versions})
            ahead = DeriveAhead(ctx, executor, run_id) if shares_derivation(ctx, executor) else None
            outcomes: list[Outcome] = []
            if found.late_closed:  # arrived for a closed county-month: archived and recorded only
                outcomes += stage("late-closed", record_late, ctx, run_id, found.late_closed, now)
            for period in periods:
                batch = [v for v in found.versions if v.period == period]
                # Ahead only in the last period: no county is loaded again after it.
                last = ahead if period == periods[-1] else None
                outcomes += process_period(ctx, executor, stage, run_id, setup, batch, last)
            # Files that could not even be read: each its county's failure, the run goes on.
            outcomes += [
                failure(p.county_code, p.period, p.version, p.file_name, p.error) for p in found.failed
            ]
            derived = stage("derive", derive_all, ctx, executor, run_id, ahead)
            stage("completeness", refresh_completeness, ctx.engine, ctx.deadlines, now)
            rows = [o.row() for o in outcomes]
            alerts = stage(
                "alert",
                alert_stage,
                ctx.engine,
                ctx.settings,
                ctx.registry,
                run_id=run_id,
                items=[o.alert_item() for o in outcomes if o.findings is not None],
                processed=rows,
                now=now,
                deadlines=ctx.deadlines,
                unnamed=[asdict(u) for u in found.unnamed],
            )
            summary = stage("summary", build_summary, ctx.engine, rows)
            result = RunResult(run_id, outcomes, summary, found.unrecognised, found.waiting, derived, alerts)
            stage("finish-run", finish_run, ctx.engine, run_id, "completed", result.record())
            return result
        except BaseException as exc:
            finish_run(ctx.engine, run_id, "failed", {"error": f"{type(exc).__name__}: {exc}"[:500]})
            raise
