"""The shared state of the root-cause detectors (fivestar.validate.root_causes).

In: one file's finding records, its Submission, the Rulebook and the Registry. Out:
`Ctx`, which records which findings a cause claims and the causes found, and the small
helpers the detectors share (row ranges and column lists in words, a data row as typed).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from fivestar import cells
from fivestar.config import Registry, Rulebook, SheetSpec
from fivestar.findings import ERROR, finding
from fivestar.validate.inputs import Submission

LIST = 6  # ranges and rows named in one message; the rest as "等N处"


@dataclass
class Ctx:
    sub: Submission
    rb: Rulebook
    registry: Registry
    recs: list[dict[str, Any]]
    claimed: set[int] = field(default_factory=set)
    out: list[dict[str, Any]] = field(default_factory=list)

    @property
    def pw(self) -> Any:
        return self.sub.parsed

    def specs(self) -> Iterable[SheetSpec]:
        return self.rb.sheets.values()

    def free(self, sheet: str) -> list[int]:
        return [i for i, r in enumerate(self.recs) if i not in self.claimed and r["sheet"] == sheet]

    def rows_with_findings(self, sheet: str) -> set[int]:
        return {int(self.recs[i]["row"]) for i in self.free(sheet) if not pd.isna(self.recs[i]["row"])}

    def on_rows(self, sheet: str, rows: set[int]) -> set[int]:
        return {
            i
            for i in self.free(sheet)
            if not pd.isna(self.recs[i]["row"]) and int(self.recs[i]["row"]) in rows
        }

    def has_error(self, idx: set[int]) -> bool:
        return any(self.recs[i]["severity"] == ERROR for i in idx)

    def cause(self, idx: set[int], severity: str, rule: str, message: str, **kw: Any) -> None:
        self.claimed |= idx
        self.out.append(finding(severity, rule, message, file_key=self.pw.file_key, **kw))


def row_ranges(rows: Iterable[int]) -> str:
    """[42, 43, 44, 50] → '42–44、50' (the first few runs, then 等)."""
    runs: list[tuple[int, int]] = []
    for r in sorted(set(rows)):
        if runs and r == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], r)
        else:
            runs.append((r, r))
    parts = [f"{a}–{b}" if b > a else str(a) for a, b in runs]
    return "、".join(parts[:LIST]) + (f"等{len(parts)}段" if len(parts) > LIST else "")


def column_list(headers: Iterable[str]) -> str:
    """'“A”列' / '“A”“B”列' / '“A”“B”“C”等7列': the columns a cause is about."""
    names = list(dict.fromkeys(headers))
    shown = "".join(f"“{h}”" for h in names[:3])
    return shown + (f"等{len(names)}列" if len(names) > 3 else "列")


def display_row(frame: pd.DataFrame, spec: SheetSpec, i: int) -> dict[str, str]:
    """A data row as the clerk typed it: the raw text of flagged cells, else the value."""
    out = {}
    for col in spec.columns:
        raw = frame[f"{col.key}__raw"].iat[i] if f"{col.key}__raw" in frame.columns else None
        v = (
            raw
            if raw is not None and not (isinstance(raw, float) and pd.isna(raw))
            else frame[col.key].iat[i]
        )
        out[col.key] = (
            "" if cells.is_blank(v) or (pd.api.types.is_scalar(v) and pd.isna(v)) else cells.display(v)
        )
    return out


def row_index(frame: pd.DataFrame) -> dict[int, int]:
    return {int(r): i for i, r in enumerate(frame["_row"].tolist())}


def frames(ctx: Ctx) -> Iterable[tuple[SheetSpec, pd.DataFrame]]:
    for spec in ctx.specs():
        frame = ctx.pw.frames.get(spec.name)
        if frame is not None and len(frame):
            yield spec, frame


def blank(v: Any) -> bool:
    return v is None or (pd.api.types.is_scalar(v) and pd.isna(v)) or cells.is_blank(v)
