"""What each stage of a run hands the next: typed records, no positional tuples.

In: the discovered versions, their archived copies and parsed workbooks, findings,
feedback files and load outcomes. Out: `ReadFile` (read), `Checked` (validated),
`Outcome` (one per file version: what the county and the summary are told) and
`RunResult` (the whole run, as the CLI and Prefect report it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from fivestar.ingest.discover import FileVersion
from fivestar.ingest.read import ParsedWorkbook
from fivestar.status import SubmissionStatus
from fivestar.submission import status_of


@dataclass(frozen=True)
class ReadFile:
    """A file version, where it was archived, and what reading it gave."""

    version: FileVersion
    archived: Path
    parsed: ParsedWorkbook


@dataclass(frozen=True)
class Checked:
    """A read file and its findings (errors and warnings)."""

    file: ReadFile
    findings: pd.DataFrame

    @property
    def version(self) -> FileVersion:
        return self.file.version

    @property
    def status(self) -> SubmissionStatus:
        return status_of(self.findings)


@dataclass
class Outcome:
    """One file version at the end of the run."""

    county_code: str
    period: str
    version: int
    file_name: str
    status: str  # a SubmissionStatus value; `failed` when the run could not process it
    errors: int | None = None
    warnings: int | None = None
    error: str | None = None  # why it failed (English, for IT)
    findings: pd.DataFrame | None = None
    feedback: Path | None = None  # the annotated workbook
    page: Path | None = None  # the validation page

    @classmethod
    def failed(cls, county_code: str, period: str, version: int, file_name: str, error: str) -> Outcome:
        return cls(county_code, period, version, file_name, SubmissionStatus.FAILED.value, error=error)

    def row(self) -> dict[str, Any]:
        """The summary row (no findings frame)."""
        row: dict[str, Any] = {
            "county_code": self.county_code,
            "period": self.period,
            "version": self.version,
            "file_name": self.file_name,
            "status": str(self.status),
            "errors": self.errors,
            "warnings": self.warnings,
        }
        if self.error is not None:
            row["error"] = self.error
        if self.feedback is not None:
            row["feedback"] = str(self.feedback)
            row["report"] = str(self.page)
        return row

    def alert_item(self) -> dict[str, Any]:
        """What the alert stage needs of a processed version."""
        return {
            "county_code": self.county_code,
            "period": self.period,
            "version": self.version,
            "status": str(self.status),
            "findings": self.findings,
            "attachment": self.feedback,
        }


@dataclass
class RunResult:
    run_id: str
    outcomes: list[Outcome]
    summary: pd.DataFrame
    unrecognised: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    derived: list[tuple[str, int]] = field(default_factory=list)
    alerts: dict[str, Any] = field(default_factory=dict)

    def failures(self) -> list[dict[str, Any]]:
        keys = ("county_code", "period", "version", "file_name", "error")
        return [
            {k: getattr(o, k) for k in keys} for o in self.outcomes if o.status == SubmissionStatus.FAILED
        ]

    def record(self) -> dict[str, Any]:
        """What the `run` table keeps of the run."""
        return {
            "run_id": self.run_id,
            "unrecognised": self.unrecognised,
            "waiting": self.waiting,
            "derived": [list(t) for t in self.derived],
            "alerts": self.alerts.get("summary", {}),
            "processed": len(self.outcomes),
            "failed": self.failures(),
        }

    def as_dict(self) -> dict[str, Any]:
        """The flow's return value (plain data: the CLI prints it, Prefect stores it)."""
        return {
            "run_id": self.run_id,
            "summary": self.summary.to_dict("records"),
            "unrecognised": self.unrecognised,
            "waiting": self.waiting,
            "derived": [list(t) for t in self.derived],
            "alerts": self.alerts.get("summary", {}),
        }
