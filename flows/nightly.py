"""The pipeline flow: every new or changed submission → validated, loaded, derived, alerted.

In: parameters period / county / force (the CLI's `fivestar run`, the nightly
schedule, or a deployment run after a correction). Out: a run result dict
(run id, per-version summary rows, unrecognised files) and a markdown artifact.
The flow only sequences tasks; each task wraps a plain stage function.

Task runner: FIVESTAR_TASK_RUNNER (flows/runners.py), read when a run starts. With the
default (`local`) the feedback files are written on one helper process
(fivestar.helper) beside the loads, a chunk of 20 counties per task, and on PostgreSQL
the helper then derives each loaded chunk while later ones load (DeriveAhead); every
other task runs in this process, in order. The reader processes are spawned as soon
as discovery finds new files, and run the per-file validation rules beside the reading. With Dask, each county's feedback files are written on
the cluster's workers, all counties of a period at once. Reading, validation, loads
(chunk by chunk, each county its own transaction, in the same order either way),
derivation and alerts stay in the flow's process, so the warehouse gets the same rows
either way. Tasks cover chunks or whole periods, not single counties: each task run
costs the Prefect API server CPU of its own (~30 ms measured), on the same cores.
"""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager, nullcontext
from typing import Any

from prefect import flow

from fivestar.context import RunContext, open_context
from fivestar.ingest.discover import FileVersion
from fivestar.run_params import parse_run_params
from fivestar.submission import status_of
from fivestar.summary import build_summary
from fivestar.validate.inputs import Submission
from fivestar.warehouse.ahead import DeriveAhead
from fivestar.warehouse.load import known_versions
from fivestar.warehouse.lock import run_lock
from flows.runners import ConfiguredTaskRunner, api_for_workers, distributing, in_flow_run
from tasks.ingest import discover_task, prestart_readers, read_task
from tasks.load import derive_task, finish_run_task, load_task, start_run_task
from tasks.notify import alerts_task, feedback_task, warm_up_helper
from tasks.validate import priors_task, validate_task, warm_up_validation

log = logging.getLogger("fivestar.flow")


@contextmanager
def _timed(stage: str, **what: Any) -> Any:
    t0 = time.perf_counter()
    yield
    log.info(
        "%s %s took %.2f s", stage, " ".join(f"{k}={v}" for k, v in what.items()), time.perf_counter() - t0
    )


# Counties per feedback task and per load task: few task runs (each costs the Prefect
# API server ~30 ms of CPU), yet the first loads need not wait for every county's files.
CHUNK = 20


def _feedback_job(
    ctx: RunContext, fv: FileVersion, read: tuple[Any, Any], findings: dict[str, Any]
) -> tuple[Any, ...]:
    archived, pw = read
    f = findings[fv.sha256]
    name = ctx.registry.county_name(fv.county_code) or fv.county_code
    return (fv, archived, f, status_of(f), name, ctx.settings.feedback_dir, pw.frames.get("explanations"))


def _process_period(
    ctx: RunContext, run_id: str, batch: list[FileVersion], ahead: DeriveAhead | None = None
) -> list[dict[str, Any]]:
    s, rb = ctx.settings, ctx.rulebook
    period = batch[0].period
    warm_up_validation()  # GX imports in a thread while this one waits on the readers
    # Priors first: the per-file rules run in the reader processes, beside the reading.
    priors = priors_task(ctx.engine, [fv.county_code for fv in batch], period)
    with _timed("read", period=period, files=len(batch)):
        read, unarchived = read_task(
            batch, s.archive_dir, rb, ctx.limits, s.id_hash_key, ctx.registry, priors
        )
    # A file that could not be archived (a full disk) is its county's failure; the rest go on.
    lost = [
        failed_row(fv.county_code, fv.period, fv.version, fv.file_name, error) for fv, error in unarchived
    ]
    batch = [fv for fv in batch if fv not in {fv for fv, _ in unarchived}]
    if not batch:
        return lost
    if in_flow_run() and not distributing():
        warm_up_helper()  # feedback runs there: its imports overlap with validation
    subs = [
        Submission(pw, fv.county_code, fv.period, fv.version) for fv, (_, pw) in zip(batch, read, strict=True)
    ]
    with _timed("validate", period=period, files=len(batch)):
        findings = validate_task(subs, rb, ctx.registry, priors)

    # Every county's feedback is submitted now: one task per county on the Dask workers,
    # or locally one task per chunk, run on the helper process (a thread here waits for
    # it), while the loop below loads each chunk once its feedback exists. Under
    # `fivestar_run.fn()` (no flow run) it runs inline.
    chunks = [list(range(i, min(i + CHUNK, len(batch)))) for i in range(0, len(batch), CHUNK)]

    def jobs_of(group: list[int]) -> list[tuple[Any, ...]]:
        return [_feedback_job(ctx, batch[i], read[i], findings) for i in group]

    submitted: list[list[Any]] = []
    if in_flow_run():
        dask = distributing()
        with api_for_workers() if dask else nullcontext():
            submitted = [
                [feedback_task.submit(jobs_of(g), not dask) for g in ([[i] for i in c] if dask else [c])]
                for c in chunks
            ]
        if ahead is not None:
            ahead.start(after=[f for fs in submitted for f in fs])
    rows = []
    waited = loading = 0.0
    for k, chunk in enumerate(chunks):
        t0 = time.perf_counter()
        written = (
            [w for future in submitted[k] for w in future.result()]
            if submitted
            else feedback_task(jobs_of(chunk))
        )
        t1 = time.perf_counter()
        # Feedback first: a county whose files could not be written (a full disk) is not
        # loaded, so the next run takes it again.
        jobs = [
            (batch[i], read[i][1], findings[batch[i].sha256], read[i][0])
            for i, w in zip(chunk, written, strict=True)
            if not isinstance(w, str)
        ]
        loaded = iter(load_task(ctx.engine, jobs, run_id, rb) if jobs else [])
        waited, loading = waited + t1 - t0, loading + time.perf_counter() - t1
        if ahead is not None:  # the helper derives this chunk once the feedback is written
            ahead.add([job[0].county_code for job in jobs])
        for i, w in zip(chunk, written, strict=True):
            fv, pw = batch[i], read[i][1]
            f = findings[fv.sha256]
            status, error = (None, w) if isinstance(w, str) else next(loaded)
            row: dict[str, Any] = {
                "county_code": fv.county_code,
                "period": fv.period,
                "version": fv.version,
                "file_name": fv.file_name,
            }
            if error is not None:  # one county's failure is that county's, the run goes on
                log.error("county %s %s v%s failed: %s", fv.county_code, fv.period, fv.version, error)
                rows.append({**row, "status": "failed", "errors": None, "warnings": None, "error": error})
                continue
            if pw.detail:
                log.warning("%s: %s", fv.file_name, pw.detail)
            xlsx, html = w
            rows.append(
                {
                    **row,
                    "status": status,
                    "errors": int((f["severity"] == "error").sum()),
                    "warnings": int((f["severity"] == "warning").sum()),
                    "feedback": str(xlsx),
                    "report": str(html),
                    "_findings": f,
                }
            )
    log.info(
        "feedback+load period=%s: waited %.2f s for feedback, loads took %.2f s", period, waited, loading
    )
    return rows + lost


def failed_row(county_code: str, period: str, version: int, file_name: str, error: str) -> dict[str, Any]:
    """A summary row for a version that failed before validation (unreadable, not archived)."""
    log.error("county %s %s v%s failed: %s (%s)", county_code, period, version, error, file_name)
    return {
        "county_code": county_code,
        "period": period,
        "version": version,
        "file_name": file_name,
        "status": "failed",
        "errors": None,
        "warnings": None,
        "error": error,
    }


# ConfiguredTaskRunner: the runner FIVESTAR_TASK_RUNNER names, chosen as each run starts.
@flow(name="fivestar-run", log_prints=False, validate_parameters=True, task_runner=ConfiguredTaskRunner())
def fivestar_run(
    period: str | int | None = None, county: str | int | None = None, force: bool = False
) -> dict[str, Any]:
    # `prefect deployment run … -p county=410522` sends the integer 410522: accept both.
    run_params = parse_run_params(period, county, force)
    period, county, force = run_params.period, run_params.county, run_params.force
    ctx = open_context(params=run_params)
    params = run_params.as_dict()
    with run_lock(ctx.engine, wait=True):
        run_id = start_run_task(ctx.engine, ctx.registry, params, ctx.rulebook.hash)
        ahead: DeriveAhead | None = None
        try:
            disc = discover_task(
                ctx.settings.raw_dir,
                ctx.registry.county_codes,
                known_versions(ctx.engine),
                period,
                county,
                force,
                ctx.settings.settle_seconds,
            )
            if disc.versions:
                prestart_readers(ctx.rulebook, ctx.limits, ctx.settings.id_hash_key, ctx.registry)
            processed: list[dict[str, Any]] = []
            periods = sorted({v.period for v in disc.versions})
            ahead = _ahead(ctx, run_id)
            for per in periods:
                # Ahead only in the last period: no county is loaded again after it.
                batch = [v for v in disc.versions if v.period == per]
                processed += _process_period(ctx, run_id, batch, ahead if per == periods[-1] else None)
            # Files that could not even be read: each its county's failure, the run goes on.
            processed += [
                failed_row(p.county_code, p.period, p.version, p.file_name, p.error) for p in disc.failed
            ]
            with _timed("derive"):
                touched = derive_task(ctx.engine, ctx.rulebook, run_id, ahead)
            items = [
                {
                    "county_code": row["county_code"],
                    "period": row["period"],
                    "version": row["version"],
                    "status": row["status"],
                    "findings": row.pop("_findings"),
                    "attachment": _path(row.get("feedback")),
                }
                for row in processed
                if "_findings" in row
            ]
            # One alert stage after the loads: this run's alerts, those still owed from
            # earlier runs and the IT digest, in parallel within the alert time budget.
            alerts = alerts_task(ctx.engine, ctx.settings, ctx.registry, run_id, items, processed)
            summary = build_summary(ctx.engine, processed)
            result = {
                "run_id": run_id,
                "summary": summary.to_dict("records"),
                "unrecognised": disc.unrecognised,
                "waiting": disc.waiting,
                "derived": [list(t) for t in touched],
                "alerts": alerts["summary"],
            }
            finish_run_task(
                ctx.engine,
                run_id,
                "completed",
                {k: v for k, v in result.items() if k != "summary"}
                | {"processed": len(processed), "failed": _failures(processed)},
            )
            _artifact(result)
            return result
        except BaseException as exc:
            if ahead is not None:  # its thread would wait for chunks forever (e.g. under `fivestar serve`)
                ahead.stop()
            finish_run_task.fn(ctx.engine, run_id, "failed", {"error": f"{type(exc).__name__}: {exc}"[:500]})
            raise


def _failures(processed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The failed versions and why, for the run record (names printable, errors in English)."""
    keys = ("county_code", "period", "version", "file_name", "error")
    return [{k: r.get(k) for k in keys} for r in processed if r["status"] == "failed"]


def _ahead(ctx: RunContext, run_id: str) -> DeriveAhead | None:
    """Derivation on the helper during the loads: local runs on PostgreSQL only (SQLite
    has one writer; with Dask the helper does not write the feedback files)."""
    if in_flow_run() and not distributing() and ctx.engine.dialect.name == "postgresql":
        return DeriveAhead(ctx.engine, ctx.rulebook, run_id)
    return None


def _path(p: Any) -> Any:
    from pathlib import Path

    return Path(p) if p else None


def _artifact(result: dict[str, Any]) -> None:
    try:
        from prefect.artifacts import create_markdown_artifact

        lines = ["| 县 | 期间 | 版本 | 状态 | 错误 | 提示 |", "|---|---|---|---|---|---|"]
        for r in result["summary"]:
            lines.append(
                f"| {r['county_code']} | {r['period']} | {r['version']} | {r['status']} | {r['errors']} | {r['warnings']} |"
            )
        create_markdown_artifact("\n".join(lines), key="fivestar-run", description=f"run {result['run_id']}")
    except Exception as exc:  # an artifact is a convenience; never fail the run for it
        log.warning("could not publish the run artifact: %s", exc)
