"""What every kind of injected problem works with: the month's context and cell edits.

In: a `FileBuild` (the sheets, rows and meanings of one generated workbook, and the
`Pending` issues recorded on it so far). Out: the rows and cells still free to spoil
(rows an earlier problem touched are left alone), the header of a column by key, and the
edits themselves: set a cell, insert a ledger event in date order, record a `Pending`
issue. Also `MonthContext` (what each kind is given besides the file and the random
generator) and `resident_id`, an ID-card-like value that is never a real one.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fivestar.config import ValidationThresholds
from fivestar.sample.build import FileBuild, Pending, ledger_row
from fivestar.sample.province import Branch
from fivestar.sample.sheets import Row
from fivestar.sample.values import Event, IndicatorDef, ym


@dataclass(frozen=True)
class MonthContext:
    is_last: bool  # the county's last generated month: nothing later compares with it
    prev_period: str | None  # the validator's previous accepted month, if any
    prev_meaning: dict[tuple[str, str], Any] | None
    registry_codes: frozenset[str]
    thresholds: ValidationThresholds = ValidationThresholds()


Inject = Callable[[FileBuild, MonthContext, random.Random], bool]


def fullwidth(s: str) -> str:
    return s.translate({ord(str(d)): 0xFF10 + d for d in range(10)})


def resident_id(rng: random.Random, county_code: str) -> str:
    """An 18-character ID-card-like value (GB 11643 layout and check digit); never a real one."""
    birth = dt.date(rng.randint(1950, 2000), rng.randint(1, 12), rng.randint(1, 28))
    body = f"{county_code}{birth:%Y%m%d}{rng.randint(100, 999)}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11]


def _touched(fb: FileBuild) -> set[int]:
    return {id(p.row) for p in fb.pending if p.row is not None}


def touched_codes(fb: FileBuild) -> set[str]:
    return {p.branch_code for p in fb.pending if p.branch_code}


def roster_rows(fb: FileBuild) -> list[Row]:
    t = _touched(fb)
    return [r for r in fb.sheets["roster"].rows if isinstance(r.meta, Branch) and id(r) not in t]


def column_header(fb: FileBuild, sheet_key: str, key: str) -> str:
    return fb.rb.sheets[sheet_key].column(key).header


def indicator_cells(
    fb: FileBuild, pred: Callable[[IndicatorDef], bool]
) -> list[tuple[str, Row, IndicatorDef]]:
    t = _touched(fb)
    out = []
    for sheet_key in (s.name for s in fb.rb.indicator_sheets):
        sh = fb.sheets[sheet_key]
        if sh.header is None:
            continue
        btype = fb.rb.sheets[sheet_key].branch_type
        for d in fb.defs[btype]:
            if d.header not in sh.header or not pred(d):
                continue
            out.extend((sheet_key, r, d) for r in sh.rows if isinstance(r.meta, Branch) and id(r) not in t)
    return out


def set_cell(fb: FileBuild, sheet_key: str, row: Row, header: str, value: Any) -> None:
    row[fb.sheets[sheet_key].col(header)] = value


def add_pending(
    fb: FileBuild,
    severity: str,
    sheet_key: str,
    row: Row | None,
    column: str,
    value: Any,
    rule: str,
    desc: str,
    code: str = "",
) -> None:
    fb.pending.append(Pending(severity, sheet_key, row, column, value, rule, desc, code))


def ledger_rows(fb: FileBuild) -> list[Row]:
    t = _touched(fb)
    return [r for r in fb.sheets["ledger"].rows if isinstance(r.meta, Event) and id(r) not in t]


def insert_event(fb: FileBuild, e: Event) -> Row:
    """Insert at the end of the event's day, keeping the ledger in date order."""
    rows = fb.sheets["ledger"].rows
    idx = len(rows)
    for i, r in enumerate(rows):
        if r.meta.day > e.day:
            idx = i
            break
    row = ledger_row(fb, e)
    rows.insert(idx, row)
    return row


def roster_codes(fb: FileBuild) -> set[str]:
    return {r.meta.code for r in fb.sheets["roster"].rows if isinstance(r.meta, Branch)}


def cover_row(fb: FileBuild, key: str) -> Row:
    return next(r for r in fb.sheets["cover"].rows if r.meta == key)


def cover_label(fb: FileBuild, key: str) -> str:
    return next(f["label"] for f in fb.rb.cover_fields if f["key"] == key)


def shift_period(period: str, months: int) -> str:
    y, m = ym(period)
    k = y * 12 + (m - 1) + months
    return f"{k // 12:04d}-{k % 12 + 1:02d}"


def branch_present(fb: FileBuild) -> list[Branch]:
    return [r.meta for r in fb.sheets["roster"].rows if isinstance(r.meta, Branch)]
