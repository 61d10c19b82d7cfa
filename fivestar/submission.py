"""Record one validated file version in the warehouse.

In: the discovered file version, its parsed workbook, its findings, where it was
archived, and the run id. Out: the version's final status (accepted,
accepted_with_warnings, rejected or superseded), after one warehouse transaction
that stores the submission row, its findings and (unless rejected) its facts.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy.engine import Engine

from fivestar import cells
from fivestar.config import Rulebook
from fivestar.ingest.discover import FileVersion
from fivestar.ingest.facts import build_facts
from fivestar.ingest.read import ParsedWorkbook
from fivestar.status import SubmissionStatus
from fivestar.warehouse.load import load_version

log = logging.getLogger(__name__)


def status_of(findings: pd.DataFrame) -> SubmissionStatus:
    """The status a version's own findings give it (before any later version supersedes it)."""
    if (findings["severity"] == "error").any():
        return SubmissionStatus.REJECTED
    return SubmissionStatus.ACCEPTED_WITH_WARNINGS if len(findings) else SubmissionStatus.ACCEPTED


def submission_record(
    fv: FileVersion, parsed: ParsedWorkbook, archive_path: Path, run_id: str, rb: Rulebook
) -> dict[str, Any]:
    cover = parsed.cover
    return {
        "county_code": fv.county_code,
        "period": fv.period,
        "version": fv.version,
        "file_name": cells.mask_ids_in(fv.file_name),
        "file_sha256": fv.sha256,
        "archive_path": str(archive_path),
        "received_at": dt.datetime.fromtimestamp(fv.mtime, dt.UTC).replace(microsecond=0),
        "processed_at": dt.datetime.now(dt.UTC).replace(microsecond=0),
        "run_id": run_id,
        "rulebook_hash": rb.hash,
        "county_name": cover["county_name"].text if "county_name" in cover else None,
        "submitter": cover["submitter"].text if "submitter" in cover else None,
        "phone": cover["phone"].text if "phone" in cover else None,
        "email": cover["email"].text if "email" in cover else None,
    }


def load_submission(
    engine: Engine,
    fv: FileVersion,
    parsed: ParsedWorkbook,
    findings: pd.DataFrame,
    archive_path: Path,
    run_id: str,
    rb: Rulebook,
) -> str:
    record = submission_record(fv, parsed, archive_path, run_id, rb)
    facts = (
        {}
        if parsed.fatal or status_of(findings) == "rejected"
        else build_facts(parsed, rb, fv.county_code, fv.period, fv.version)
    )
    return load_version(engine, record, facts, findings)


def load_submissions(
    engine: Engine,
    jobs: list[tuple[FileVersion, ParsedWorkbook, pd.DataFrame, Path]],
    run_id: str,
    rb: Rulebook,
) -> list[tuple[str | None, str | None]]:
    """`load_submission` for each (version, parsed, findings, archived) job, in order:
    (status, None), or (None, error text) for a county whose load failed after its
    retries. Each county is its own transaction, so a failure loses only that county's
    version (rolled back; the next run loads it again).
    """
    out: list[tuple[str | None, str | None]] = []
    for fv, parsed, findings, archived in jobs:
        try:
            out.append((load_submission(engine, fv, parsed, findings, archived, run_id, rb), None))
        except Exception as exc:
            log.debug("loading %s %s v%s failed", fv.county_code, fv.period, fv.version, exc_info=True)
            out.append((None, str(exc)[:300] or type(exc).__name__))
    return out
