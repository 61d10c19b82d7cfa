"""Closed county-months in a run: what is taken, what waits as late_closed.

In: the run's Discovery, the county-months closed now (fivestar.warehouse.periods), the
run parameters and the warehouse. Out: the Discovery with (a) new versions of closed
county-months moved to `late_closed` (archived and recorded by `record_late_closed`,
never read or loaded), (b) known versions of closed county-months dropped (even under
--force: closed data never changes), and (c) versions waiting as late_closed whose
county-month is open again added, from the archive, under their own version number and
received time (the run processes that same version: same row, new status).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import replace
from pathlib import Path

import pandas as pd

from fivestar.context import RunContext
from fivestar.ingest.discover import Discovery, FileVersion, archive_many
from fivestar.pipeline.period import failure
from fivestar.pipeline.results import Outcome
from fivestar.run_params import RunParams
from fivestar.status import SubmissionStatus
from fivestar.warehouse.periods import closed_county_months, late_closed_versions, record_late_closed

log = logging.getLogger("fivestar.pipeline")


def _epoch(ts: object) -> float:
    return pd.Timestamp(ts).to_pydatetime().replace(tzinfo=dt.UTC).timestamp()


def retakes(ctx: RunContext, closed: set[tuple[str, str]], params: RunParams) -> list[FileVersion]:
    """Versions waiting as late_closed whose county-month is open now (within the run's selection)."""
    out = []
    for r in late_closed_versions(ctx.engine).itertuples(index=False):
        county, period = str(r.county_code), str(r.period)
        if (period, county) in closed:
            continue
        if (params.period and period != params.period) or (params.county and county != params.county):
            continue
        path = Path(str(r.archive_path or ""))
        if not path.is_file():
            log.error(
                "county %s %s v%s: the archived copy %s is gone; it cannot be taken",
                county,
                period,
                r.version,
                path,
            )
            continue
        out.append(
            FileVersion(
                county, period, path, str(r.file_name or path.name), str(r.file_sha256),
                _epoch(r.received_at), int(r.version), True,
            )
        )  # fmt: skip
    return out


def apply_closing(ctx: RunContext, found: Discovery, params: RunParams) -> Discovery:
    """The Discovery as the closed county-months allow it (see the module doc)."""
    closed = closed_county_months(ctx.engine)
    take: list[FileVersion] = []
    late: list[FileVersion] = []
    for fv in found.versions:
        if (fv.period, fv.county_code) not in closed:
            take.append(fv)
        elif fv.known:
            log.info(
                "county %s %s v%s not reprocessed: the month is closed", fv.county_code, fv.period, fv.version
            )
        else:
            late.append(fv)
    again = retakes(ctx, closed, params)
    if again:
        keys = {(fv.county_code, fv.period, fv.version) for fv in again}
        take = [fv for fv in take if (fv.county_code, fv.period, fv.version) not in keys] + again
        log.info(
            "%d version(s) that arrived while their month was closed are taken now (reopened)", len(again)
        )
    take.sort(key=lambda v: (v.period, v.county_code, v.version))
    return replace(found, versions=take, late_closed=late)


def record_late(ctx: RunContext, run_id: str, versions: list[FileVersion], now: dt.datetime) -> list[Outcome]:
    """Archive and record each version as late_closed (nothing read, nothing loaded)."""
    if not versions:
        return []
    done, unarchived = archive_many(versions, ctx.settings.archive_dir)
    lost = [failure(fv.county_code, fv.period, fv.version, fv.file_name, err) for fv, err in unarchived]
    status = SubmissionStatus.LATE_CLOSED.value
    processed = now.astimezone(dt.UTC).replace(tzinfo=None, microsecond=0)
    rows = [
        {
            "county_code": fv.county_code,
            "period": fv.period,
            "version": fv.version,
            "file_name": fv.file_name,
            "file_sha256": fv.sha256,
            "archive_path": str(path),
            "received_at": dt.datetime.fromtimestamp(fv.mtime, dt.UTC).replace(tzinfo=None, microsecond=0),
            "processed_at": processed,
            "status": status,
            "errors": 0,
            "warnings": 0,
            "run_id": run_id,
            "rulebook_hash": ctx.rulebook.hash,
            "county_name": ctx.registry.county_name(fv.county_code),
        }
        for fv, path in done
    ]
    record_late_closed(ctx.engine, rows)
    for fv, _ in done:
        log.warning(
            "county %s %s v%s arrived while the month is closed: archived as late_closed, not loaded (%s)",
            fv.county_code, fv.period, fv.version, fv.file_name,
        )  # fmt: skip
    empty = pd.DataFrame(columns=["severity", "explained"])
    return [
        Outcome(fv.county_code, fv.period, fv.version, fv.file_name, status, 0, 0, findings=empty)
        for fv, _ in done
    ] + lost
