"""Root causes on real templates (issue 15): `fivestar template` workbooks of 410621 浚县
and 410523 汤阴县 (the repository's registry), filled in, changed the way clerks change
them and saved through LibreOffice (`soffice --headless --convert-to xlsx`).

Each test asserts the first finding of the sheet, its wording and the total count.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest

import wbfactory as W
from fivestar.config import Limits, Registry, Rulebook, load_registry
from fivestar.feedback.common import normalise
from fivestar.ingest.read import read_workbook
from fivestar.submission import status_of
from fivestar.template.workbook import write_template
from fivestar.validate.batch import validate_period
from fivestar.validate.inputs import Prior, Submission
from testenv import require_tool

PERIOD = "2026-11"
COUNTY, OTHER = "410621", "410523"
ROSTER = {"members": 30, "households": 300, "secretary_name": "李四", "secretary_age": 45}
COVER = {"submitter": "张三", "phone": "0372-1234567", "email": "county@example.org"}


def filled(rb: Rulebook, registry: Registry, county: str, out: Path) -> Any:
    """The county's template with every prepared row filled in with plausible values."""
    wb = openpyxl.load_workbook(write_template(rb, registry, county, PERIOD, out))
    cover = wb[rb.cover_sheet]
    labels = {f["label"]: f["key"] for f in rb.cover_fields}
    for row in cover.iter_rows():
        key = labels.get(row[0].value)
        if key in COVER:
            row[1].value = COVER[key]
    for key, spec in rb.sheets.items():
        ws = wb[spec.sheet]
        for r in range(2, ws.max_row + 1):
            if not ws.cell(r, 1).value:
                continue
            for i, col in enumerate(spec.columns, start=1):
                c = ws.cell(r, i)
                if c.value is None:
                    c.value = ROSTER.get(col.key) if key == "roster" else W.indicator_value(col.key, col.type)
    return wb


def data_rows(ws: Any) -> int:
    return max(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value)


def merge_townships(wb: Any, other: Any) -> None:
    ws = wb["支部名册"]
    last = data_rows(ws)
    start = 2
    for r in range(3, last + 2):
        if r > last or ws.cell(r, 4).value != ws.cell(start, 4).value:
            if r - 1 > start:
                ws.merge_cells(f"D{start}:D{r - 1}")
            start = r


def paste_other_county(wb: Any, other: Any) -> None:
    for sheet in ("支部名册", "村指标", "社区指标"):
        src, dst = other[sheet], wb[sheet]
        row = data_rows(dst) + 1
        for r in range(2, data_rows(src) + 1):
            for c in range(1, src.max_column + 1):
                dst.cell(row, c, src.cell(r, c).value)
            row += 1


def totals_row(wb: Any, other: Any) -> None:
    ws = wb["村指标"]
    row = data_rows(ws) + 1
    ws.cell(row, 2, "合计")
    for c in range(3, ws.max_column + 1):
        ws.cell(row, c, 96.0 if "率" in str(ws.cell(1, c).value) else 20)


def rates_as_fractions(wb: Any, other: Any) -> None:
    for sheet in ("村指标",):
        ws = wb[sheet]
        for c in range(1, ws.max_column + 1):
            if "率" in str(ws.cell(1, c).value):
                for r in range(2, data_rows(ws) + 1):
                    ws.cell(r, c).value = 0.778


def title_row(wb: Any, other: Any) -> None:
    ws = wb["支部名册"]
    ws.insert_rows(1)
    ws["A1"] = "浚县2026年11月五星支部名册"


CASES: dict[str, Callable[[Any, Any], None]] = {
    "clean": lambda wb, other: None,
    "merged_townships": merge_townships,
    "other_county": paste_other_county,
    "totals_row": totals_row,
    "rates_as_fractions": rates_as_fractions,
    "title_row": title_row,
}


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory, rulebook: Rulebook, config_dir: Path) -> dict[str, Any]:
    soffice = require_tool("soffice", package="libreoffice-calc-nogui")
    registry = load_registry(config_dir)
    tmp = tmp_path_factory.mktemp("roots_tpl")
    built = []
    for name, edit in CASES.items():
        wb = filled(rulebook, registry, COUNTY, tmp / "tpl" / f"{name}_{COUNTY}.xlsx")
        edit(wb, filled(rulebook, registry, OTHER, tmp / "tpl" / f"{name}_{OTHER}.xlsx"))
        built.append(tmp / "built" / f"{name}.xlsx")
        built[-1].parent.mkdir(exist_ok=True)
        wb.save(built[-1])
    out = tmp / "office"
    proc = subprocess.run(
        [soffice, "--headless", "--convert-to", "xlsx", "--outdir", str(out), *map(str, built)],
        capture_output=True,
        timeout=300,
        env=dict(os.environ, HOME=str(tmp)),
    )
    assert proc.returncode == 0, proc.stderr
    subs = [
        Submission(
            read_workbook(out / p.name, rulebook, Limits(), file_key=p.stem, id_key="k"), COUNTY, PERIOD
        )
        for p in built
    ]
    found = validate_period(subs, rulebook, registry, {COUNTY: Prior()})
    return {n: normalise(df) for n, df in found.items()}


def check(
    results: dict[str, pd.DataFrame], case: str, sheet: str, rule: str, words: list[str], total: int
) -> None:
    df = results[case]
    shown = df[["sheet", "cell", "rule", "message"]].to_string()
    first = df[df["sheet"] == sheet].iloc[0]
    assert first["rule"] == rule, shown
    for w in words:
        assert w in first["message"], first["message"]
    assert len(df) == total, shown


def test_clean_template_has_no_findings(results: dict[str, pd.DataFrame]) -> None:
    assert len(results["clean"]) == 0, results["clean"].to_string()


def test_merged_townships_one_finding(results: dict[str, pd.DataFrame]) -> None:
    check(
        results,
        "merged_townships",
        "支部名册",
        "layout.merged_cells",
        ["乡镇（街道）", "D2:D", "取消合并"],
        1,
    )
    assert status_of(results["merged_townships"]).value == "rejected"


def test_other_countys_rows_one_finding(results: dict[str, pd.DataFrame]) -> None:
    check(results, "other_county", "支部名册", "layout.other_county", ["410523汤阴县", "删除这些行"], 1)
    assert status_of(results["other_county"]).value == "rejected"


def test_totals_row_one_finding(results: dict[str, pd.DataFrame]) -> None:
    check(results, "totals_row", "村指标", "layout.totals_row", ["合计"], 1)


def test_rates_as_fractions_one_finding(results: dict[str, pd.DataFrame]) -> None:
    check(results, "rates_as_fractions", "村指标", "layout.rate_fractions", ["如实为77.8%，请改填77.8"], 1)
    assert status_of(results["rates_as_fractions"]).value == "accepted_with_warnings"


def test_title_row_one_finding(results: dict[str, pd.DataFrame]) -> None:
    check(results, "title_row", "支部名册", "layout.header_row", ["第2行找到", "删除表头上方的第1行"], 1)
