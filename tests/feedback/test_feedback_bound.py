"""The openpyxl feedback copy loads no more than its bound.

In: an original the fast XML patch cannot take (rows written without a reference, legal
XML that some writers produce), so that its feedback copy would go through openpyxl,
which holds every cell as a Python object. Out: within the bound the annotated copy is
made that way; over it, the summary-only workbook is written, saying why in Chinese
in the workbook, and in English in the log.
"""

from __future__ import annotations

import logging
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest

from fivestar.feedback import write_feedback_workbook
from fivestar.feedback.common import SUMMARY_SHEET
from fivestar.feedback.workbook import REASON_FALLBACK_TOO_BIG
from fivestar.findings import finding, make_findings

META = {"county_name": "林州市", "county_code": "410522", "period": "2026-11"}


@pytest.fixture
def needs_fallback(tmp_path: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "积分台账"
    ws.append(["日期", "支部代码", "分值"])
    for i in range(200):
        ws.append(["2026-11-03", f"41052210{i:04d}", i])
    made = tmp_path / "made.xlsx"
    wb.save(made)
    out = tmp_path / "410522_林州市.xlsx"
    with zipfile.ZipFile(made) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb'<row r="\d+"', b"<row", data)  # legal: rows count on
            zout.writestr(info, data)
    return out


def _findings():  # -> pd.DataFrame
    return make_findings(
        [finding("error", "x", "分值不能为负数。", sheet="积分台账", row=3, cell="C3", value="-1")]
    )


def test_within_the_bound_the_copy_goes_through_openpyxl(
    tmp_path: Path, needs_fallback: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="fivestar.feedback.workbook")
    out = write_feedback_workbook(needs_fallback, tmp_path / "o.xlsx", _findings(), "rejected", **META)
    assert "copying through openpyxl" in caplog.text
    assert openpyxl.load_workbook(out).sheetnames == [SUMMARY_SHEET, "积分台账"]


def test_over_the_bound_the_summary_only_workbook_says_why(
    tmp_path: Path, needs_fallback: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bound = 2048  # far below what this original would load uncompressed
    out = write_feedback_workbook(
        needs_fallback, tmp_path / "o.xlsx", _findings(), "rejected", max_fallback_bytes=bound, **META
    )
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == [SUMMARY_SHEET]
    texts = [str(c.value) for row in wb[SUMMARY_SHEET].iter_rows() for c in row if c.value]
    assert any(REASON_FALLBACK_TOO_BIG in t for t in texts)
    assert any("分值不能为负数" in t for t in texts)  # the findings are all still there
    assert "MB bound; writing summary-only feedback" in caplog.text
