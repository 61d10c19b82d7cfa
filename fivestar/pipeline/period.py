"""One period's files through read → validate → feedback → load.

In: the run context, the executor, the stage runner, the run id and the period's
discovered versions (and the derivation ahead, for the last period). Out: an `Outcome`
per version. Feedback files are written beside the loads (on the executor's helper or
Dask workers), chunk by chunk; a county whose feedback could not be written (a full
disk) is not loaded, so the next run takes it again. One county's failure is that
county's; the run goes on.
"""

from __future__ import annotations

import logging
from pathlib import Path

from fivestar.context import RunContext
from fivestar.feedback.stage import FeedbackJob, write_feedback_many
from fivestar.findings import make_findings
from fivestar.ingest.discover import FileVersion, archive_many
from fivestar.ingest.files import read_file, reader_state, unread_file
from fivestar.pipeline.derive_stage import DeriveAhead
from fivestar.pipeline.results import Checked, Outcome, ReadFile
from fivestar.pipeline.stages import Stage
from fivestar.runtime import Executor
from fivestar.submission import load_submissions
from fivestar.validate.batch import rules_after_read, validate_period
from fivestar.validate.gx_runner import gx_context
from fivestar.validate.inputs import Prior, Submission
from fivestar.validate.priors import load_priors
from fivestar.validate.root_causes import unnamed_file

log = logging.getLogger("fivestar.pipeline")

# Counties per feedback job and per load stage: few stage calls (under Prefect each is a
# task run, ~30 ms of its API server's CPU), yet the first loads need not wait for
# every county's feedback files.
CHUNK = 20

# What the helper imports ahead: the feedback writers and the derivation stack.
HELPER_MODULES = ("fivestar.feedback.stage", "fivestar.derive")


def failure(county_code: str, period: str, version: int, file_name: str, error: str) -> Outcome:
    """A version the run could not process (unreadable, not archived): logged for IT."""
    log.error("county %s %s v%s failed: %s (%s)", county_code, period, version, error, file_name)
    return Outcome.failed(county_code, period, version, file_name, error)


def reader_setup(ctx: RunContext) -> tuple[object, ...]:
    """The arguments every reader worker of this run starts with (made once per run)."""
    s = ctx.settings
    return (ctx.rulebook, ctx.limits, s.id_hash_key, rules_after_read, (ctx.registry,))


def read_period(
    ctx: RunContext,
    executor: Executor,
    setup: tuple[object, ...],
    batch: list[FileVersion],
    priors: dict[str, Prior],
) -> tuple[list[ReadFile], list[Outcome]]:
    """Archive, then read each version (the per-file rules run in the readers too).
    A version that could not be archived (a full disk) fails for its county only."""
    done, unarchived = archive_many(batch, ctx.settings.archive_dir)
    lost = [failure(fv.county_code, fv.period, fv.version, fv.file_name, err) for fv, err in unarchived]
    jobs = [
        (path, fv.sha256, (fv.county_code, fv.period, fv.version, priors.get(fv.county_code, Prior())))
        for fv, path in done
    ]
    parsed = executor.map_files(
        read_file,
        jobs,
        setup=setup,
        reader_setup=reader_state,
        timeout_s=float(ctx.limits.per_file_timeout_s or 0) or None,
        on_failure=unread_file,
    )
    return [ReadFile(fv, path, pw) for (fv, path), pw in zip(done, parsed, strict=True)], lost


def validate_files(ctx: RunContext, files: list[ReadFile], priors: dict[str, Prior]) -> list[Checked]:
    subs = [Submission(f.parsed, f.version.county_code, f.version.period, f.version.version) for f in files]
    findings = validate_period(subs, ctx.rulebook, ctx.registry, priors)
    for f in files:  # taken from its cover or county name: the county is told how to name it
        fv = f.version
        if not fv.file_name.startswith(fv.county_code):
            name = ctx.registry.county_name(fv.county_code) or ""
            extra = unnamed_file(fv.sha256, fv.file_name, fv.county_code, name)
            findings[fv.sha256] = make_findings([extra, *findings[fv.sha256].to_dict("records")])
    return [Checked(f, findings[f.version.sha256]) for f in files]


def feedback_job(ctx: RunContext, c: Checked) -> FeedbackJob:
    fv = c.version
    return FeedbackJob(
        fv,
        c.file.archived,
        c.findings,
        c.status.value,
        ctx.registry.county_name(fv.county_code) or fv.county_code,
        ctx.settings.feedback_dir,
        c.file.parsed.frames.get("explanations"),
    )


def load_chunk(
    ctx: RunContext, run_id: str, chunk: list[Checked], written: list[tuple[Path, Path] | str]
) -> list[Outcome]:
    """Load the versions whose feedback exists (each county its own transaction)."""
    jobs = [
        (c.version, c.file.parsed, c.findings, c.file.archived)
        for c, w in zip(chunk, written, strict=True)
        if not isinstance(w, str)
    ]
    loaded = iter(load_submissions(ctx.engine, jobs, run_id, ctx.rulebook) if jobs else [])
    out = []
    for c, w in zip(chunk, written, strict=True):
        fv = c.version
        status, error = (None, w) if isinstance(w, str) else next(loaded)
        if error is not None:  # one county's failure is that county's, the run goes on
            log.error("county %s %s v%s failed: %s", fv.county_code, fv.period, fv.version, error)
            out.append(Outcome.failed(fv.county_code, fv.period, fv.version, fv.file_name, error))
            continue
        if c.file.parsed.detail:
            log.warning("%s: %s", fv.file_name, c.file.parsed.detail)
        xlsx, html = w
        sev = c.findings["severity"]
        out.append(
            Outcome(
                fv.county_code,
                fv.period,
                fv.version,
                fv.file_name,
                str(status),
                errors=int((sev == "error").sum()),
                warnings=int((sev == "warning").sum()),
                findings=c.findings,
                feedback=Path(xlsx),
                page=Path(html),
            )
        )
    return out


def process_period(
    ctx: RunContext,
    executor: Executor,
    stage: Stage,
    run_id: str,
    setup: tuple[object, ...],
    batch: list[FileVersion],
    ahead: DeriveAhead | None = None,
) -> list[Outcome]:
    period = batch[0].period
    executor.warm_here(gx_context)  # GX imports while this process waits on the readers
    priors = stage("load-priors", load_priors, ctx.engine, [fv.county_code for fv in batch], period)
    files, lost = stage("read", read_period, ctx, executor, setup, batch, priors)
    if not files:
        return lost
    checked = stage("validate", validate_files, ctx, files, priors)
    chunks = [checked[i : i + CHUNK] for i in range(0, len(checked), CHUNK)]
    # Every chunk's feedback is handed out now; each chunk loads once its files exist.
    pending = [executor.submit_each(write_feedback_many, [feedback_job(ctx, c) for c in ch]) for ch in chunks]
    outcomes: list[Outcome] = []
    for chunk, futures in zip(chunks, pending, strict=True):
        written = [w for f in futures for w in f.result()]
        loaded = stage("load", load_chunk, ctx, run_id, chunk, written)
        outcomes += loaded
        if ahead is not None:  # derived beside the next chunks' loads
            ahead.add([o.county_code for o in loaded if o.status != "failed"])
    return outcomes + lost
