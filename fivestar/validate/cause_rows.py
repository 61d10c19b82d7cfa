"""Root causes found on data rows that already have findings: a repeated header row,
totals rows (合计/小计), notes typed under the data, a column left blank on every row.

In: a `Ctx` (fivestar.validate.cause_context). Out: causes recorded on it, each claiming
the findings on its rows; a detector fires only when it explains an error.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from fivestar import cells
from fivestar.config import SheetSpec
from fivestar.findings import ERROR
from fivestar.validate.catalogue import text as rule_text
from fivestar.validate.cause_context import Ctx, display_row, frames, row_index, row_ranges
from fivestar.validate.cell_wording import expected_text

_TOTALS = re.compile(r"(总合计|合计|小计|总计|共计)")
CODE = re.compile(r"^\d{12}$")


def _row_detector(ctx: Ctx, rule: str, test: Any, *, one_each: bool) -> None:
    """Rows with findings whose typed text passes `test(spec, values) -> label | None`."""
    for spec, frame in frames(ctx):
        at = row_index(frame)
        hits: dict[int, str] = {}
        for r in sorted(ctx.rows_with_findings(spec.sheet)):
            if r in at:
                label = test(spec, display_row(frame, spec, at[r]))
                if label:
                    hits[r] = label
        if not hits or not ctx.has_error(ctx.on_rows(spec.sheet, set(hits))):
            continue
        groups = [[r] for r in hits] if one_each and len(hits) <= 3 else [list(hits)]
        for rows in groups:
            idx = ctx.on_rows(spec.sheet, set(rows))
            msg = rule_text(rule, rows=row_ranges(rows), label=hits[rows[0]])
            ctx.cause(idx, ERROR, rule, msg, sheet=spec.sheet)


def _is_header(spec: SheetSpec, values: dict[str, str]) -> str | None:
    same = sum(
        cells.normalise_header(values[c.key]) == cells.normalise_header(c.header) for c in spec.columns
    )
    return "表头" if same >= max(2, len(spec.columns) // 2) else None


def _is_totals(spec: SheetSpec, values: dict[str, str]) -> str | None:
    """A row without a branch code whose short label says 合计 / 城关镇小计 / 总计."""
    if CODE.match(values.get("branch_code", "")):
        return None
    for v in values.values():
        text = cells.normalise_header(v)
        m = _TOTALS.search(text) if len(text) <= 15 else None
        if m:
            return m.group(1)
    return None


def repeated_header(ctx: Ctx) -> None:
    _row_detector(ctx, "layout.repeated_header", _is_header, one_each=False)


def totals_rows(ctx: Ctx) -> None:
    _row_detector(ctx, "layout.totals_row", _is_totals, one_each=True)


def notes_rows(ctx: Ctx) -> None:
    """Trailing rows with few cells and no valid branch code: notes under the data."""
    notes_sheet = ctx.rb.sheets["explanations"].sheet if "explanations" in ctx.rb.sheets else ""
    for spec, frame in frames(ctx):
        if "branch_code" not in frame.columns:
            continue
        taken = {
            int(ctx.recs[i]["row"])
            for i in ctx.claimed
            if ctx.recs[i]["sheet"] == spec.sheet and not pd.isna(ctx.recs[i]["row"])
        }
        rows: list[int] = []
        texts: list[str] = []
        for i in range(len(frame) - 1, -1, -1):
            r = int(frame["_row"].iat[i])
            if r in taken:
                continue
            values = display_row(frame, spec, i)
            filled = [v for v in values.values() if v]
            if CODE.match(values.get("branch_code", "")) or len(filled) > max(3, len(spec.columns) // 2):
                break
            rows.append(r)
            texts.append(filled[0] if filled else "")
        idx = ctx.on_rows(spec.sheet, set(rows))
        if not rows or not ctx.has_error(idx):
            continue
        text = next((t for t in reversed(texts) if t), "")
        text = text[:20] + ("…" if len(text) > 20 else "")
        msg = rule_text("layout.notes_row", rows=row_ranges(rows), text=text, notes_sheet=notes_sheet)
        ctx.cause(idx, ERROR, "layout.notes_row", msg, sheet=spec.sheet)


def empty_columns(ctx: Ctx) -> None:
    """A column left blank on every row (4 or more): one finding, not one per row."""
    for spec, frame in frames(ctx):
        taken = {
            int(ctx.recs[i]["row"])
            for i in ctx.claimed
            if ctx.recs[i]["sheet"] == spec.sheet and not pd.isna(ctx.recs[i]["row"])
        }
        rows = {int(r) for r in frame["_row"].tolist()} - taken
        if len(rows) < 4:
            continue
        for col in spec.columns:
            blank = {
                i
                for i in ctx.free(spec.sheet)
                if ctx.recs[i]["column_name"] == col.header
                and ctx.recs[i]["rule"].endswith((".type.blank", ".required"))
                and not pd.isna(ctx.recs[i]["row"])
            }
            if {int(ctx.recs[i]["row"]) for i in blank} != rows:
                continue
            rule = expected_text(spec.name, col) or "不能为空"
            msg = rule_text("layout.empty_column", header=col.header, count=len(rows), rule=rule)
            ctx.cause(blank, ERROR, "layout.empty_column", msg, sheet=spec.sheet, column_name=col.header)
