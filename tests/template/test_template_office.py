"""The template in real office suites (issue 15, item 5).

In: the repository's rulebook, a one-county registry, a warehouse (SQLite and
PostgreSQL) holding a county month of 6,499 ledger events, LibreOffice (`soffice`).
Out: assertions that 积分台账's input checks reach 1.5 × the county's largest month
(5,000 rows without a warehouse), that after one LibreOffice save every sheet's checks
still reach the last prepared row, that 填报说明 says LibreOffice ignores the sheet
lock, wraps and prints one page wide, and shows examples plausible for their column.
"""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from openpyxl.utils import get_column_letter
from sqlalchemy import text
from sqlalchemy.engine import Engine

import wbfactory as W
from fivestar.config import Registry, Rulebook
from fivestar.template import GUIDE_SHEET, LEDGER_ROWS, write_template, write_templates
from fivestar.template.previous import largest_ledger_month
from fivestar.validate.suites import column_ranges
from testenv import require_tool

LZ, PERIOD = "410522", "2026-11"
NAMES = {LZ: "林州市"}
BIG_MONTH = 6499  # events of one county month in the sample


def registry() -> Registry:
    regions = W.registry_frame(NAMES, {LZ: W.branches(LZ, 3, 2)})
    return Registry(
        regions=regions, submitters=pd.DataFrame(columns=["county_code", "name", "email", "webhook_url"])
    )


def last_checked_row(ws, letter: str = "A") -> int:
    rows = [r.max_row for dv in ws.data_validations.dataValidation for r in dv.sqref.ranges if r.min_col == r.max_col
            and get_column_letter(r.min_col) == letter]  # fmt: skip
    return max(rows, default=0)


def _ledger_month(engine: Engine, county: str, period: str, n: int) -> None:
    rows = [
        {"c": county, "p": period, "v": 1, "s": i + 2, "b": f"{county}101201", "t": "户", "sid": f"H{i:05d}",
         "item": "HH01", "pts": 1.0}
        for i in range(n)
    ]  # fmt: skip
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO ledger (county_code, period, version, seq, branch_code, subject_type, subject_id, "
                "item_code, points) VALUES (:c, :p, :v, :s, :b, :t, :sid, :item, :pts)"
            ),
            rows,
        )


def test_ledger_sized_from_the_countys_largest_month(
    rulebook: Rulebook, warehouse_url: str, warehouse_engine: Engine, tmp_path: Path
) -> None:
    assert largest_ledger_month(warehouse_engine, LZ) is None
    _ledger_month(warehouse_engine, LZ, "2026-09", 120)
    _ledger_month(warehouse_engine, LZ, "2026-10", BIG_MONTH)
    _ledger_month(warehouse_engine, "410523", "2026-10", 9000)  # another county's month
    assert largest_ledger_month(warehouse_engine, LZ) == BIG_MONTH
    [(_, path, _)] = write_templates(
        rulebook, registry(), PERIOD, tmp_path, county=LZ, warehouse_url=warehouse_url
    )
    wb = openpyxl.load_workbook(path)
    ledger = wb["积分台账"]
    want = 1 + math.ceil(BIG_MONTH * 1.5)  # header + 1.5 × the largest month
    for j in range(1, ledger.max_column + 1):
        assert last_checked_row(ledger, get_column_letter(j)) == want
    assert ledger.auto_filter.ref.endswith(str(want))
    assert str(want) in ledger[f"A{want}"].comment.text  # the last prepared row is marked
    assert last_checked_row(wb["否决事项"]) == LEDGER_ROWS


def test_ledger_rows_without_a_warehouse(rulebook: Rulebook, tmp_path: Path) -> None:
    wb = openpyxl.load_workbook(write_template(rulebook, registry(), LZ, PERIOD, tmp_path / "t.xlsx"))
    assert last_checked_row(wb["积分台账"]) == LEDGER_ROWS == 5000
    # a small county: still 5,000 rows
    wb = openpyxl.load_workbook(
        write_template(rulebook, registry(), LZ, PERIOD, tmp_path / "u.xlsx", largest_month=40)
    )
    assert last_checked_row(wb["积分台账"]) == LEDGER_ROWS


@pytest.mark.system  # drives a real browser or office suite
def test_checks_reach_the_last_prepared_row_after_a_libreoffice_save(
    rulebook: Rulebook, tmp_path: Path
) -> None:
    soffice = require_tool("soffice", "libreoffice", package="libreoffice-calc-nogui")
    src = write_template(rulebook, registry(), LZ, PERIOD, tmp_path / "t.xlsx", largest_month=BIG_MONTH)
    before = openpyxl.load_workbook(src)
    out = tmp_path / "lo"
    subprocess.run(
        [soffice, f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}", "--headless",
         "--convert-to", "xlsx", "--outdir", str(out), str(src)],
        check=True, timeout=240, capture_output=True,
    )  # fmt: skip
    after = openpyxl.load_workbook(out / src.name)
    for spec in rulebook.sheets.values():
        for j in range(1, len(spec.columns) + 1):
            letter = get_column_letter(j)
            want = last_checked_row(before[spec.sheet], letter)
            # Before the fix LibreOffice cut 积分台账, 否决事项 and 情况说明 to row 1,001.
            assert last_checked_row(after[spec.sheet], letter) == want, (spec.sheet, letter, want)
    assert last_checked_row(after["积分台账"]) == 1 + math.ceil(BIG_MONTH * 1.5)


def _lines(text: str, width: float) -> int:
    room = width - 1
    return sum(max(1, math.ceil(sum(2 if ord(ch) > 255 else 1 for ch in p) / room)) for p in text.split("\n"))


def test_guide_wraps_prints_and_says_libreoffice_ignores_the_lock(rulebook: Rulebook, tmp_path: Path) -> None:
    ws = openpyxl.load_workbook(write_template(rulebook, registry(), LZ, PERIOD, tmp_path / "t.xlsx"))[
        GUIDE_SHEET
    ]
    text_all = "\n".join(str(c.value) for row in ws.iter_rows() for c in row if c.value)
    assert "LibreOffice" in text_all and "锁定只在 Excel、WPS 中有效" in text_all
    assert "保留表头行" in text_all
    assert ws.page_setup.fitToWidth == 1 and ws.page_setup.fitToHeight == 0
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.orientation == "landscape"
    merged = {(m.min_row, m.min_col): (m.min_col, m.max_col) for m in ws.merged_cells.ranges}
    widths = {j: ws.column_dimensions[get_column_letter(j)].width for j in range(1, 8)}
    for row in ws.iter_rows(min_row=2):
        for c in row:
            if not isinstance(c.value, str) or not c.value:
                continue
            first, last = merged.get((c.row, c.column), (c.column, c.column))
            width = sum(widths[j] for j in range(first, last + 1))
            assert c.alignment.wrap_text, c.coordinate
            lines = _lines(c.value, width)
            if lines > 1 or (c.row, c.column) in merged:
                height = ws.row_dimensions[c.row].height
                assert height and height >= 15 * lines, (c.coordinate, c.value, height, lines)


def test_guide_examples_are_plausible_for_their_column(rulebook: Rulebook, tmp_path: Path) -> None:
    ws = openpyxl.load_workbook(write_template(rulebook, registry(), LZ, PERIOD, tmp_path / "t.xlsx"))[
        GUIDE_SHEET
    ]
    examples = {(r[0], r[1]): r[5] for r in ws.iter_rows(values_only=True) if r[0] and r[1]}
    assert examples[("村指标", "农民人均可支配收入（元）")] == "20000"
    for spec in rulebook.sheets.values():
        ind = rulebook.indicators_for(spec.branch_type).set_index("key") if spec.branch_type else None
        for col in spec.columns:
            if col.type not in ("int", "num", "rate"):
                continue
            value = float(examples[(spec.sheet, col.header)])
            lo, hi = column_ranges(spec.name, col)
            assert (lo is None or value >= lo) and (hi is None or value <= hi), (
                spec.sheet,
                col.header,
                value,
            )
            if col.type == "int":
                assert value.is_integer(), (spec.sheet, col.header, value)
            if ind is not None and col.key in ind.index:
                rule, rlo, rhi = ind.loc[col.key, ["rule", "lo", "hi"]]
                if rule == "zero":
                    assert value == 0, col.header
                elif rlo and rhi:  # a scored range: the example lies inside it
                    assert float(rlo) <= value <= float(rhi), (col.header, value)
                elif rlo:
                    assert value >= float(rlo), (col.header, value)
