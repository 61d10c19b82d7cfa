"""Shared wording and safety helpers for submitter feedback (workbook and HTML).

In: a Findings frame (fivestar.findings columns), status strings, free text.
Out: normalised findings (errors first), Chinese labels, counts, and text that is safe to
put into a workbook cell or a report (no resident IDs, no control characters).
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

import pandas as pd
from openpyxl.utils.cell import column_index_from_string

from fivestar.cells import mask_ids_in
from fivestar.findings import ERROR, WARNING, make_findings

FEEDBACK_AUTHOR = "五星支部审核"
SUMMARY_SHEET = "审核结果"

SEVERITY_LABELS = {ERROR: "错误", WARNING: "提示"}
SEVERITY_RANK = {ERROR: 0, WARNING: 1}  # the order findings are listed in
SEVERITY_TAGS = {ERROR: "【错误】", WARNING: "【提示】"}
EXPLAINED_MARK = "（已说明）"
# Workbook order of the contract's sheets (submission.md); used when the file itself can't be read.
SHEET_ORDER = ["封面", "支部名册", "村指标", "社区指标", "积分台账", "否决事项", "情况说明"]

# Characters XML 1.0 (hence xlsx) cannot hold; openpyxl raises on them.
_CELL_REF = re.compile(r"^\$?([A-Z]{1,3})\$?([1-9][0-9]{0,6})$")
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def severity_label(severity: str) -> str:
    return SEVERITY_LABELS.get(severity, severity)


def mask_ids(text: str) -> str:
    """Mask every resident-ID-like run inside `text` (keeps first 6 and last 4).

    Findings should already be masked; this is the last line of defence. One masker for
    every stage (fivestar.cells): full width, Ｘ, prefixes, spaces and dashes."""
    return mask_ids_in(text)


def clean_text(value: Any) -> str:
    """Any value → display text: '' for missing, IDs masked, control characters dropped."""
    if value is None:
        return ""
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    return _ILLEGAL_XML.sub("", mask_ids(str(value)))


def normalise(findings: pd.DataFrame | None, sheet_order: list[str] | None = None) -> pd.DataFrame:
    """Coerce to the Findings shape (missing columns filled) and order for people to read.

    Errors before warnings; within a severity, whole-file findings first, then the sheets
    in workbook order; within a sheet, findings without a row first (a root cause such as
    a title row above the header, which explains the rest), then by row and column, so
    the clerk reads the sheet top to bottom; ties keep the validator's order.
    """
    if findings is None or len(findings) == 0:
        return make_findings([])
    df = make_findings(findings.to_dict("records"))
    order = list(sheet_order or [])
    order += [s for s in SHEET_ORDER if s not in order]  # sheets missing from the file still sort sensibly
    rank = {s: i for i, s in enumerate(order)}
    keyed = df.assign(
        _f=df["file_key"].astype(str),
        _k=df["severity"].map(lambda s: SEVERITY_RANK.get(s, len(SEVERITY_RANK))),
        _s=df["sheet"].map(lambda s: -1 if not s else rank.get(s, len(rank))),
        _r=pd.to_numeric(df["row"], errors="coerce").fillna(-1),
        _c=df["cell"].map(_column_number),
    )
    keyed = keyed.sort_values(["_f", "_k", "_s", "_r", "_c"], kind="stable")
    return keyed.drop(columns=["_f", "_k", "_s", "_r", "_c"]).reset_index(drop=True)


def _column_number(cell: Any) -> int:
    """F12 → 6; 0 when the finding names no cell."""
    m = _CELL_REF.match(str(cell or "").strip().upper())
    return column_index_from_string(m.group(1)) if m else 0


def cell_ref(cell: Any) -> str:
    """'f12' / '$F$12' → 'F12'; '' when not a usable A1 reference."""
    m = _CELL_REF.match(str(cell or "").strip().upper())
    if not m or column_index_from_string(m.group(1)) > 16384 or int(m.group(2)) > 1_048_576:
        return ""
    return f"{m.group(1)}{m.group(2)}"


def marks_by_cell(
    df: pd.DataFrame, sheets: Any
) -> tuple[dict[tuple[str, str], list[dict[str, Any]]], dict[str, set[str]]]:
    """Normalised findings on the workbook's own sheets, grouped for marking:
    {(sheet, A1 ref): [finding records]} and {sheet: severities seen on it}."""
    by_cell: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    severities: dict[str, set[str]] = defaultdict(set)
    # Plain dicts: per-cell pandas indexing costs ~2 ms a cell, 2 s per 1,000 marked cells.
    for rec in df.to_dict("records"):
        sheet = rec["sheet"]
        if sheet in sheets:
            severities[sheet].add(rec["severity"])
            ref = cell_ref(rec["cell"])
            if ref:
                by_cell[(sheet, ref)].append(rec)
    return by_cell, severities


def counts(findings: pd.DataFrame) -> dict[str, int]:
    sev = findings["severity"] if len(findings) else pd.Series([], dtype=object)
    explained = findings["explained"] if len(findings) else pd.Series([], dtype=bool)
    return {
        "errors": int((sev == ERROR).sum()),
        "warnings": int((sev == WARNING).sum()),
        "explained": int(((sev == WARNING) & explained.astype(bool)).sum()),
    }


def location(sheet: str, cell: str) -> str:
    """'村指标' + 'F12' → '村指标!F12' (the form submitters see); sheet alone, or ''."""
    if sheet and cell:
        return f"{sheet}!{cell}"
    return sheet


def finding_line(row: pd.Series | dict[str, Any]) -> str:
    """One finding as a line of a cell comment: tag + message (+ 已说明)."""
    tag = SEVERITY_TAGS.get(str(row["severity"]), f"【{row['severity']}】")
    text = f"{tag}{clean_text(row['message'])}"
    if bool(row["explained"]):
        text += EXPLAINED_MARK
    return text


def explanation_rows(explanations: pd.DataFrame | None) -> list[tuple[str, str]]:
    """Received 情况说明 rows as (位置, 说明); accepts Chinese headers or the config keys."""
    if explanations is None or len(explanations) == 0:
        return []
    cols = list(explanations.columns)

    def pick(candidates: tuple[str, ...], fallback: int) -> Any:
        for c in candidates:
            if c in cols:
                return c
        return cols[fallback] if len(cols) > fallback else None

    loc_col = pick(("位置", "location", "position"), 0)
    note_col = pick(("说明", "note", "explanation", "text"), 1)
    out = []
    for rec in explanations.to_dict("records"):
        loc = clean_text(rec.get(loc_col)) if loc_col is not None else ""
        note = clean_text(rec.get(note_col)) if note_col is not None else ""
        if loc.strip() or note.strip():
            out.append((loc.strip(), note.strip()))
    return out
