"""Submitter feedback: annotated workbook copies and HTML validation pages.

In: the received workbook, its Findings frame (fivestar.findings) and status.
Out: `<period>/<county>_<period>_v<n>_审核结果.xlsx` for the county submitter, and
self-contained HTML pages (per submission + run index) for IT staff.
"""

from __future__ import annotations

from fivestar.feedback.html_report import write_run_index, write_validation_html
from fivestar.feedback.workbook import feedback_path, write_feedback_workbook

__all__ = ["feedback_path", "write_feedback_workbook", "write_run_index", "write_validation_html"]
