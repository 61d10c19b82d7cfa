"""The order findings are read in: errors, then warnings; sheets in workbook order; the
root cause (a finding with no row) first in its sheet, then top to bottom, left to right."""

from __future__ import annotations

from fivestar.feedback.common import normalise
from fivestar.findings import finding, make_findings


def test_a_sheet_reads_top_to_bottom_after_its_root_cause() -> None:
    raw = make_findings(
        [
            finding("error", "r.b", "b", sheet="支部名册", row=9, cell="C9"),
            finding("warning", "r.w", "w", sheet="支部名册", row=2, cell="B2"),
            finding("error", "r.a", "a", sheet="支部名册", row=3, cell="AA3"),
            finding("error", "r.c", "c", sheet="支部名册", row=3, cell="F3"),
            finding("error", "layout.title", "cause", sheet="支部名册"),
            finding("error", "r.x", "other sheet", sheet="积分台账", row=1, cell="A1"),
        ]
    )
    out = normalise(raw, ["支部名册", "积分台账"])
    assert list(out["message"]) == ["cause", "c", "a", "b", "other sheet", "w"]
