"""The submission status vocabulary: one definition read by feedback, alerts, reports,
the CLI and the IT digest.

In: a status string as stored in `submission.status` / `rpt_submission.status` (or the
run-only `failed`). Out: the enum member, its Chinese label for submitters and leaders,
its English words for IT.
"""

from __future__ import annotations

from enum import StrEnum


class SubmissionStatus(StrEnum):
    ACCEPTED = "accepted"
    ACCEPTED_WITH_WARNINGS = "accepted_with_warnings"
    REJECTED = "rejected"
    # An accepted version after a later version of the same county-month was accepted.
    SUPERSEDED = "superseded"
    # Arrived (first seen) while its county-month was closed: archived and recorded, not
    # loaded; a reopen lets the next run process it (same version, new status).
    LATE_CLOSED = "late_closed"
    # Run-only: the version could not be processed (its feedback or load failed); never stored.
    FAILED = "failed"

    @property
    def zh(self) -> str:
        return _ZH[self]

    @property
    def en(self) -> str:
        return _EN[self]

    @property
    def accepted(self) -> bool:
        """Its facts count (it is the county-month's current accepted version)."""
        return self in (SubmissionStatus.ACCEPTED, SubmissionStatus.ACCEPTED_WITH_WARNINGS)


_ZH = {
    SubmissionStatus.ACCEPTED: "通过",
    SubmissionStatus.ACCEPTED_WITH_WARNINGS: "通过（有提示）",
    SubmissionStatus.REJECTED: "退回",
    SubmissionStatus.SUPERSEDED: "已被新版本替代",
    SubmissionStatus.LATE_CLOSED: "逾期未收（本月已关闭）",
    SubmissionStatus.FAILED: "处理失败",
}
_EN = {
    SubmissionStatus.ACCEPTED: "accepted",
    SubmissionStatus.ACCEPTED_WITH_WARNINGS: "accepted with warnings",
    SubmissionStatus.REJECTED: "rejected",
    SubmissionStatus.SUPERSEDED: "superseded",
    SubmissionStatus.LATE_CLOSED: "late, period closed",
    SubmissionStatus.FAILED: "failed",
}


# The statuses whose facts count (the county-month's current version), as text and as SQL.
ACCEPTED_STATUSES: tuple[str, ...] = tuple(s.value for s in SubmissionStatus if s.accepted)
ACCEPTED_STATUSES_SQL = "(" + ", ".join(f"'{s}'" for s in ACCEPTED_STATUSES) + ")"
# Statuses of versions that were accepted once (current or superseded since).
ONCE_ACCEPTED: tuple[str, ...] = (*ACCEPTED_STATUSES, SubmissionStatus.SUPERSEDED.value)


def status_zh(status: str) -> str:
    """Chinese label of a status string; an unknown string is shown as it is."""
    try:
        return SubmissionStatus(status).zh
    except ValueError:
        return status


def status_en(status: str) -> str:
    try:
        return SubmissionStatus(status).en
    except ValueError:
        return status
