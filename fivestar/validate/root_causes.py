"""Root causes first: one finding for a structural mistake instead of its symptoms.

In: one file's findings (validation done), its parsed workbook, the Rulebook, the
Registry and the county of the file. Out: the findings with each detected mistake as
one finding at the top of its sheet (row and cell empty, so it sorts first) and the
symptoms it explains removed. A cause that explains an error is an error, so a file's
verdict never changes; a detector on data rows fires only when it explains an error.

Detectors, in order (a finding is explained by the first cause that claims it):
another county's rows, a title row above the header, a repeated header row, totals
rows, notes under the data, merged cells, a column left blank, rates pasted as
fractions, and a renamed or deleted sheet. Each looks only at rows that already have
findings, except the merged-cell check (cheap: the sheet XML is searched for
`mergeCell`). A fully blank row inside the data is no mistake (submission.md: blank
rows are ignored), so it is never reported. The row detectors are in
`cause_rows.py`, the shared state in `cause_context.py`.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

import pandas as pd

from fivestar import cells
from fivestar.config import Registry, Rulebook
from fivestar.findings import ERROR, WARNING, finding, make_findings
from fivestar.ingest import layout
from fivestar.validate.catalogue import text as rule_text
from fivestar.validate.cause_context import LIST, Ctx, blank, column_list, frames, row_index, row_ranges
from fivestar.validate.cause_rows import empty_columns, notes_rows, repeated_header, totals_rows
from fivestar.validate.cell_wording import fmt_number
from fivestar.validate.inputs import Submission


def apply(df: pd.DataFrame, sub: Submission, rb: Rulebook, registry: Registry) -> pd.DataFrame:
    """The findings of one file with root causes first and their symptoms dropped."""
    ctx = Ctx(sub, rb, registry, df.to_dict("records"))
    for detect in DETECTORS:
        detect(ctx)
    if not ctx.out:
        return df
    keep = [r for i, r in enumerate(ctx.recs) if i not in ctx.claimed]
    res = make_findings([*fold_repeats(ctx.out), *keep])
    res["file_key"] = sub.parsed.file_key
    return res


def fold_repeats(causes: list[dict[str, Any]], most: int = 3) -> list[dict[str, Any]]:
    """One habit, one finding: a cause found on more than `most` sheets (a title row typed
    above every header) becomes one whole-file finding naming the sheets, its first
    occurrence as the example; worst severity kept, so the verdict is unchanged."""
    by_rule: dict[str, list[dict[str, Any]]] = {}
    for c in causes:
        by_rule.setdefault(c["rule"], []).append(c)
    out = []
    for rule, group in by_rule.items():
        if len(group) <= most:
            out += group
            continue
        sheets = list(dict.fromkeys(str(c["sheet"]) for c in group if c["sheet"]))
        first = group[0]
        msg = rule_text(
            "layout.same_on_sheets",
            count=len(sheets),
            sheets="、".join(sheets),
            first=first["sheet"],
            example=first["message"],
        )
        severity = ERROR if any(c["severity"] == ERROR for c in group) else WARNING
        out.append(finding(severity, "layout.same_on_sheets", msg, file_key=first["file_key"], value=rule))
    return out


def unnamed_file(file_key: str, file_name: str, code: str, county: str) -> dict[str, Any]:
    """The warning of a file taken for its county although its name has no county code."""
    msg = rule_text(
        "file.name_without_code", name=file_name, code=code, county=county, suggested=f"{code}_{file_name}"
    )
    return finding(WARNING, "file.name_without_code", msg, file_key=file_key, value=file_name)


# ---- helpers ---------------------------------------------------------------------------
def other_county(ctx: Ctx) -> None:
    county = ctx.sub.county_code
    known = ctx.registry.county_codes
    found: dict[str, dict[str, list[int]]] = {}
    if not any(str(r["branch_code"] or "")[:6] not in ("", county) for r in ctx.recs):
        return  # pasted rows always bring findings on their branch codes
    for spec, frame in frames(ctx):
        if "branch_code" not in frame.columns:
            continue
        codes = frame["branch_code"].astype("string").fillna("")
        prefix = codes.str[:6]
        hit = codes.str.fullmatch(r"\d{12}").fillna(False) & (prefix != county) & prefix.isin(known)
        for p, rows in frame.loc[hit.to_numpy(dtype=bool), "_row"].groupby(prefix[hit]):
            found.setdefault(str(p), {})[spec.sheet] = [int(r) for r in rows]
    for code, by_sheet in found.items():
        # Pasted rows: a block under the county's own, or many; one stray code is a typo.
        last = {spec.sheet: int(frame["_row"].max()) for spec, frame in frames(ctx)}
        trailing = all(
            rows == list(range(last[s] - len(rows) + 1, last[s] + 1)) for s, rows in by_sheet.items()
        )
        if not trailing and sum(map(len, by_sheet.values())) < 3:
            continue
        idx = set().union(*(ctx.on_rows(s, set(rows)) for s, rows in by_sheet.items()))
        idx |= {
            i
            for i, r in enumerate(ctx.recs)
            if i not in ctx.claimed and str(r["branch_code"] or "").startswith(code)
        }
        if not ctx.has_error(idx):
            continue
        ranges = "；".join(f"“{s}”第{row_ranges(rows)}行（共{len(rows)}行）" for s, rows in by_sheet.items())
        name = ctx.registry.county_name(code) or ""
        msg = rule_text("layout.other_county", ranges=ranges, code=code, name=name)
        ctx.cause(idx, ERROR, "layout.other_county", msg, sheet=next(iter(by_sheet)), value=code)


def header_row(ctx: Ctx) -> None:
    for spec in ctx.specs():
        idx = {
            i
            for i in ctx.free(spec.sheet)
            if ctx.recs[i]["rule"] in ("file.missing_column", "file.duplicate_column")
            or ctx.recs[i]["rule"].endswith(".extra_column")
        }
        if not any(ctx.recs[i]["rule"] == "file.missing_column" for i in idx):
            continue
        row = layout.header_row(ctx.pw.path, spec.sheet, [c.header for c in spec.columns])
        if row is None:
            continue
        above = "1" if row == 2 else f"1–{row - 1}"
        msg = rule_text("layout.header_row", sheet=spec.sheet, row=row, above=above)
        ctx.cause(idx, ERROR, "layout.header_row", msg, sheet=spec.sheet)


def merged_cells(ctx: Ctx) -> None:
    """Vertically merged cells of the contract's columns whose covered cells read blank
    (the reader sees only the top-left value). Merges whose covered cells kept their
    values (LibreOffice can keep them) lose nothing and are not reported."""
    for spec, frame in frames(ctx):
        merges = layout.vertical_merges(ctx.pw.path, spec.sheet)
        if not merges:
            continue
        at = row_index(frame)
        by_letter = {v: k for k, v in ctx.pw.letters.get(spec.name, {}).items()}
        lost = []
        for m in merges:
            key = by_letter.get(m[1])
            covered = [at[r] for r in range(m[2] + 1, m[3] + 1) if r in at]
            if key is None or key not in frame.columns:
                continue
            # Covered rows left fully blank are skipped by the reader: lost as well.
            if (not covered and m[2] in at) or any(blank(frame[key].iat[i]) for i in covered):
                lost.append(m)
        if not lost:
            continue
        inside = {(letter, r) for _, letter, lo, hi in lost for r in range(lo + 1, hi + 1)}
        idx = set()
        for i in ctx.free(spec.sheet):
            m = re.match(r"^([A-Z]+)([0-9]+)$", ctx.recs[i]["cell"] or "")
            if m and (m.group(1), int(m.group(2))) in inside:
                idx.add(i)
        headers = [spec.column(by_letter[m[1]]).header for m in lost]
        refs = [m[0] for m in lost]
        ranges = "、".join(refs[:LIST]) + (f"等{len(refs)}处" if len(refs) > LIST else "")
        rule = "layout.merged_cells" if ctx.has_error(idx) else "layout.merged_cells_optional"
        msg = rule_text(rule, columns=column_list(headers), ranges=ranges)
        ctx.cause(idx, ERROR if rule == "layout.merged_cells" else WARNING, rule, msg, sheet=spec.sheet)


def rate_fractions(ctx: Ctx) -> None:
    for spec in ctx.specs():
        free = ctx.free(spec.sheet)
        pct = [i for i in free if ctx.recs[i]["rule"].endswith(".format.pct_decimal")]
        if not pct:
            continue
        cells_ = {ctx.recs[i]["cell"] for i in pct}
        jumps = {i for i in free if ctx.recs[i]["rule"].endswith(".jump") and ctx.recs[i]["cell"] in cells_}
        first = ctx.recs[pct[0]]
        if len(pct) == 1:  # one cell: its own finding stays, the jump it causes goes
            ctx.claimed |= jumps
            continue
        try:
            shown = float(first["value"])
        except ValueError:
            continue
        columns = column_list(ctx.recs[i]["column_name"] for i in pct)
        msg = rule_text(
            "layout.rate_fractions",
            columns=columns,
            count=len(pct),
            cell=first["cell"],
            shown=first["value"],
            pct=fmt_number(round(shown * 100, 6)),
        )
        ctx.cause(
            set(pct) | jumps, WARNING, "layout.rate_fractions", msg, sheet=spec.sheet, value=first["value"]
        )


def missing_sheets(ctx: Ctx) -> None:
    names = None
    contract = {cells.normalise_header(s.sheet) for s in ctx.specs()} | {
        cells.normalise_header(ctx.rb.cover_sheet)
    }
    for i, rec in enumerate(ctx.recs):
        if i in ctx.claimed or rec["rule"] != "file.missing_sheet":
            continue
        spec = next((s for s in ctx.specs() if s.sheet == rec["sheet"]), None)
        want = cells.normalise_header(rec["sheet"])
        if names is None:
            names = [n for n in layout.sheet_names(ctx.pw.path) if cells.normalise_header(n) not in contract]
        alike = [
            n
            for n in names
            if want in cells.normalise_header(n)
            or difflib.SequenceMatcher(None, want, cells.normalise_header(n)).ratio() >= 0.6
        ]
        if not alike and spec is not None:  # any name, but the sheet's own header row
            headers = [c.header for c in spec.columns]
            alike = [n for n in names if layout.find_header(ctx.pw.path, n, headers) is not None]
        if alike:
            msg = rule_text("layout.sheet_renamed", sheet=rec["sheet"], found=alike[0])
            ctx.cause({i}, ERROR, "layout.sheet_renamed", msg, sheet=rec["sheet"], value=alike[0])
        elif spec is not None and spec.may_be_empty:
            msg = rule_text("layout.empty_sheet_deleted", sheet=rec["sheet"])
            ctx.cause({i}, ERROR, "layout.empty_sheet_deleted", msg, sheet=rec["sheet"])


def other_period(ctx: Ctx) -> None:
    """Last month's file sent again: the cover's period explains the dates of that month."""
    for i, rec in enumerate(ctx.recs):
        if rec["rule"] != "cover.period.folder" or not rec["value"]:
            continue
        month = str(rec["value"])[:7]
        idx = {
            j
            for j, r in enumerate(ctx.recs)
            if j not in ctx.claimed and r["rule"].endswith(".in_month") and str(r["value"]).startswith(month)
        }
        ctx.claimed |= idx | {i}
        ctx.out.append(rec)


DETECTORS = (
    other_period,
    other_county,
    header_row,
    repeated_header,
    totals_rows,
    notes_rows,
    merged_cells,
    empty_columns,
    rate_fractions,
    missing_sheets,
)
