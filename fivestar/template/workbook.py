"""One county's template workbook, laid out as submission.md says.

In: the Rulebook, the Registry (the county's registered branches), a period `YYYY-MM`
and, optionally, fact frames of the county's previous accepted month (as returned by
`fivestar.warehouse.facts.current_facts`). Out: an `.xlsx` file: 封面, 填报说明, the data
sheets pre-filled with the registered branches (期末 values of the previous month carried
over, their columns' headers in light blue and one note per sheet), sheet structure
locked, 积分台账 sized from the county's largest month; and the month whose values were carried.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import typer
from openpyxl import Workbook
from openpyxl.workbook.protection import WorkbookProtection

from fivestar.config import Registry, Rulebook, SheetSpec
from fivestar.template.columns import SPARE_ROWS, Plan, TemplateContext
from fivestar.template.sheets import LISTS_SHEET, cover_sheet, data_sheet, guide_sheet

LEDGER_ROWS = 5000  # last data row with validation on the open-ended sheets (at least)
LEDGER_HEADROOM = 1.5  # the ledger holds 1.5 × the county's largest month in the warehouse
_BAD_FILE_CHARS = re.compile(r'[\\/:*?"<>|\s]+')


class TemplateError(typer.BadParameter, ValueError):
    """A wrong request (unknown county, bad period): the CLI prints it and exits 2.

    A typer (click) usage error, so `fivestar template` shows one line, not a traceback.
    """

    def __init__(self, message: str, option: str | None = None) -> None:
        super().__init__(message, param_hint=option)


# ----------------------------------------------------------------------------- previous month
def carried_values(
    rb: Rulebook, previous: Mapping[str, pd.DataFrame] | None, period: str, branch_types: Mapping[str, str]
) -> tuple[dict[tuple[str, str], Any], str | None]:
    """{(branch_code, indicator_key): value} of the 期末 indicators of the latest month < period."""
    if not previous:
        return {}, None
    ind = previous.get("indicators")
    if ind is None or len(ind) == 0:
        return {}, None
    if "period" in ind.columns:
        earlier = ind[ind["period"].astype(str) < period]
        if earlier.empty:
            return {}, None
        prev_period: str | None = str(earlier["period"].max())
        ind = earlier[earlier["period"].astype(str) == prev_period]
    else:
        prev_period = None
    types = {}
    for t in rb.types:
        for r in rb.indicators_for(t).itertuples():
            types[(t, r.key)] = (r.value_type, r.basis)
    out: dict[tuple[str, str], Any] = {}
    for code, key, value in zip(ind["branch_code"], ind["indicator_key"], ind["value"], strict=True):
        # Only registered branches of the county, with the indicator of their (current) type.
        kind = types.get((branch_types.get(str(code), ""), str(key)))
        if kind is None or value is None or pd.isna(value):
            continue
        vtype, basis = kind
        if basis != "期末":
            continue  # 本月 and 累计 values are this month's own: never carried over
        v = float(value)
        if vtype == "yesno":
            out[(str(code), str(key))] = "是" if v >= 0.5 else "否"
        elif vtype == "int":
            out[(str(code), str(key))] = int(round(v))
        else:
            out[(str(code), str(key))] = int(v) if v.is_integer() else v
    return out, prev_period


def ledger_last_row(largest_month: int | None) -> int:
    """Last prepared (checked) row of 积分台账: 1.5 × the county's largest month of events,
    at least LEDGER_ROWS (also when the warehouse has no month of the county)."""
    need = math.ceil((largest_month or 0) * LEDGER_HEADROOM) + 1  # + the header row
    return max(LEDGER_ROWS, need)


# ----------------------------------------------------------------------------- public API
def template_file_name(county: str, county_name: str, period: str) -> str:
    """`<code>_<name>_<period>_模板.xlsx`: starts with the county code, as submissions must."""
    name = _BAD_FILE_CHARS.sub("", county_name or "") or "县"
    return f"{county}_{name}_{period}_模板.xlsx"


def write_template(
    rb: Rulebook,
    registry: Registry,
    county: str,
    period: str,
    out: str | Path,
    *,
    previous: Mapping[str, pd.DataFrame] | None = None,
    largest_month: int | None = None,
) -> Path:
    """Write the template workbook of `county` for `period` to `out` (a file path).

    `previous`: fact frames of the county's previous accepted month (at least
    `indicators` with branch_code, indicator_key, value and period), e.g. from
    `current_facts`; its 期末 values are carried over (columns marked in light blue).
    `largest_month`: the most ledger events the county sent in one month (sizes 积分台账).
    """
    return write_county_template(rb, registry, county, period, Path(out), previous, largest_month)[0]


def write_county_template(
    rb: Rulebook,
    registry: Registry,
    county: str,
    period: str,
    path: Path,
    previous: Mapping[str, pd.DataFrame] | None,
    largest_month: int | None = None,
) -> tuple[Path, str | None]:
    """The workbook, and the month whose values were carried over (None: none)."""
    check_period(period)
    name = registry.county_name(county)
    if name is None:
        raise TemplateError(f"county {county} is not in the registry (registry.csv)", "'--county'")
    branches = registry.branches_of(county).copy()
    branches = branches.sort_values("code", kind="stable").reset_index(drop=True)
    ctx = TemplateContext(rb, county, name, period, branches)
    branch_types = dict(zip(branches["code"], branches["branch_type"], strict=True))
    carried, prev_period = carried_values(rb, previous, period, branch_types)
    if not carried:
        prev_period = None

    wb = Workbook()
    lists: dict[str, int] = {}
    cover_sheet(wb, ctx)
    plans: list[tuple[SheetSpec, list[Plan]]] = []
    roster_rows = [
        {"branch_code": b.code, "branch_name": b.name, "branch_type": b.branch_type, "township": b.township}
        for b in branches.itertuples()
    ]
    for key, spec in rb.sheets.items():
        if key == "roster":
            rows, last = roster_rows, ctx.roster_last
        elif spec.branch_type and not spec.required and spec.branch_type not in ctx.types:
            continue  # an optional type's sheet only where the county has such branches
        elif spec.branch_type:
            rows = [
                {"branch_code": r["branch_code"], "branch_name": r["branch_name"]}
                for r in roster_rows
                if r["branch_type"] == spec.branch_type
            ]
            last = 1 + len(rows) + SPARE_ROWS
        elif key == "ledger":
            rows, last = [], ledger_last_row(largest_month)
        else:
            rows, last = [], LEDGER_ROWS
        plans.append(
            (
                spec,
                data_sheet(
                    wb, ctx, spec, rows, last, lists, carried if spec.branch_type else None, prev_period
                ),
            )
        )
    guide_sheet(wb, ctx, plans, prev_period)
    if LISTS_SHEET in wb.sheetnames:  # keep the helper sheet last
        wb.move_sheet(LISTS_SHEET, offset=len(wb.sheetnames) - 1 - wb.sheetnames.index(LISTS_SHEET))
    wb.active = 0
    # Sheets cannot be renamed, deleted or added in Excel and WPS (LibreOffice ignores the
    # lock: 填报说明 says so, and validation names a renamed or deleted sheet).
    wb.security = WorkbookProtection(lockStructure=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path, prev_period


def check_period(period: str) -> None:
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", period or ""):
        raise TemplateError(f"period must be YYYY-MM, got {period!r}", "'--period'")
