"""Feedback stage: the annotated workbook and the HTML page for one file version.

In: the discovered file version, its findings and status, the explanations it
sent, and the processed folder. Out: paths of the feedback workbook (for the
submitter, under feedback/<period>/: an annotated copy of their file when there are
findings, a short 审核结果 workbook when there are none or when the file broke a
whole-file limit: a file refused for its size, row count or reading time would stall
or exhaust the run when copied through openpyxl) and of the validation page.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from fivestar.feedback.html_report import write_validation_html
from fivestar.feedback.workbook import feedback_path, write_feedback_workbook
from fivestar.filemodes import private_dir, private_file
from fivestar.ingest.discover import FileVersion

# Whole-file findings after which the original must not be opened again for a copy.
NO_COPY_RULES = frozenset(
    {"file.too_many_rows", "file.too_large", "file.ratio", "file.timeout", "file.unreadable"}
)


def should_copy(findings: pd.DataFrame) -> bool:
    """An annotated copy only helps (and is only safe) for a file within the limits."""
    if len(findings) == 0:
        return False
    return not findings["rule"].isin(NO_COPY_RULES).any() if "rule" in findings else True


def write_feedback(
    fv: FileVersion,
    archived: Path,
    findings: pd.DataFrame,
    status: str,
    county_name: str,
    feedback_dir: Path,
    explanations: pd.DataFrame | None = None,
) -> tuple[Path, Path]:
    xlsx = feedback_path(feedback_dir, fv.period, fv.county_code, fv.version, status)
    # Private: the copy holds what the county sent (fivestar.filemodes; 0700 / 0600).
    private_dir(xlsx.parent, feedback_dir)
    write_feedback_workbook(
        archived,
        xlsx,
        findings,
        status,
        county_name=county_name,
        county_code=fv.county_code,
        period=fv.period,
        explanations=explanations,
        # A clean file gets a summary-only workbook: copying a big workbook through openpyxl
        # costs seconds and adds nothing the submitter needs to act on.
        copy_original=should_copy(findings),
    )
    html = xlsx.with_suffix(".html")
    write_validation_html(
        html,
        findings,
        county_code=fv.county_code,
        county_name=county_name,
        period=fv.period,
        version=fv.version,
        status=status,
        file_name=fv.file_name,
        file_sha256=fv.sha256,
        feedback_workbook=xlsx,
    )
    private_file(xlsx)
    private_file(html)
    return xlsx, html


@dataclass(frozen=True)
class FeedbackJob:
    """Everything the feedback files of one file version are made from (picklable)."""

    version: FileVersion
    archived: Path
    findings: pd.DataFrame
    status: str
    county_name: str
    feedback_dir: Path
    explanations: pd.DataFrame | None = None


def write_feedback_many(jobs: list[FeedbackJob]) -> list[tuple[Path, Path] | str]:
    """The feedback files of each job: its (workbook, page), or, for a job that failed
    (a full disk, say), the error text; one county's failure is that county's.

    May run in another process (the executor's helper or a Dask worker), so it returns
    plain values rather than raising.
    """
    out: list[tuple[Path, Path] | str] = []
    for j in jobs:
        try:
            out.append(
                write_feedback(
                    j.version, j.archived, j.findings, j.status, j.county_name, j.feedback_dir, j.explanations
                )
            )
        except Exception as exc:
            out.append(str(exc) or type(exc).__name__)
    return out
