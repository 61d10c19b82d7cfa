"""Turn a parsed workbook into the fact frames the warehouse and scoring use.

In: a `ParsedWorkbook` (typed sheet frames) plus its county, period and version.
Out: dict of fact frames (design.md): roster, indicators (long: one row per
branch × indicator, with its cell), ledger, vetoes, explanations. Only the columns
the warehouse keeps: resident IDs were already hashed or masked at read time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fivestar.config import Rulebook
from fivestar.ingest.read import ParsedWorkbook

ROSTER_COLS = [
    "branch_code",
    "branch_name",
    "branch_type",
    "township",
    "members",
    "households",
    "secretary_name",
    "secretary_age",
]


def _keys(df: pd.DataFrame, county: str, period: str, version: int) -> pd.DataFrame:
    df.insert(0, "version", version)
    df.insert(0, "period", period)
    df.insert(0, "county_code", county)
    return df


def build_facts(
    pw: ParsedWorkbook, rb: Rulebook, county: str, period: str, version: int
) -> dict[str, pd.DataFrame]:
    out: dict[str, pd.DataFrame] = {}
    r = pw.frames.get("roster")
    if r is not None:
        roster = r[ROSTER_COLS].copy()
        roster["sheet_row"] = r["_row"].to_numpy()
        for c in ("members", "households", "secretary_age"):
            roster[c] = roster[c].round().astype("Int64")
        out["roster"] = _keys(roster, county, period, version)
    parts = []
    for spec in rb.indicator_sheets:
        f = pw.frames.get(spec.name)
        cols = [col for col in spec.columns if col.star_code is not None]
        if f is None or f.empty or not cols:
            continue
        letters = pw.letters.get(spec.name, {})
        # One frame per sheet, indicator after indicator (not one small frame per indicator:
        # ~5,000 frames a month cost more than their rows).
        n, rows = len(f), f["_row"].to_numpy()
        row_text = [str(r) for r in rows]
        parts.append(
            pd.DataFrame(
                {
                    "branch_code": np.tile(f["branch_code"].to_numpy(dtype=object), len(cols)),
                    "indicator_key": np.repeat(np.array([c.key for c in cols], dtype=object), n),
                    "value": np.concatenate([f[c.key].to_numpy(dtype="float64") for c in cols]),
                    "sheet": spec.sheet,
                    "sheet_row": np.tile(rows, len(cols)),
                    "cell": np.array(
                        [letters.get(c.key, "") + r for c in cols for r in row_text], dtype=object
                    ),
                }
            )
        )
    ind = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame(columns=["branch_code", "indicator_key", "value", "sheet", "sheet_row", "cell"])
    )
    out["indicators"] = _keys(ind, county, period, version)
    led = pw.frames.get("ledger")
    if led is not None:
        ledger = pd.DataFrame(
            {
                "seq": led["_row"].to_numpy(),
                "event_date": pd.to_datetime(led["event_date"]).to_numpy(),
                "branch_code": led["branch_code"].to_numpy(),
                "subject_type": led["subject_type"].to_numpy(),
                "subject_id": led["subject_id"].to_numpy(),
                "item_code": led["item_code"].to_numpy(),
                "points": led["points"].to_numpy(dtype="float64"),
                "note": led["note"].to_numpy(),
                "sheet_row": led["_row"].to_numpy(),
            }
        )
        # A 支部 subject is the branch itself, whatever was typed (blank or its code).
        is_branch = (ledger["subject_type"] == "支部").to_numpy()
        ledger["subject_id"] = np.where(
            is_branch, ledger["branch_code"].to_numpy(), ledger["subject_id"].to_numpy()
        )
        out["ledger"] = _keys(ledger, county, period, version)
    v = pw.frames.get("vetoes")
    if v is not None:
        vetoes = pd.DataFrame(
            {
                "seq": v["_row"].to_numpy(),
                "event_date": pd.to_datetime(v["event_date"]).to_numpy(),
                "branch_code": v["branch_code"].to_numpy(),
                "veto_code": v["veto_code"].to_numpy(),
                "note": v["note"].to_numpy(),
                "sheet_row": v["_row"].to_numpy(),
            }
        )
        out["vetoes"] = _keys(vetoes, county, period, version)
    e = pw.frames.get("explanations")
    if e is not None:
        ex = pd.DataFrame(
            {
                "location": e["location"].to_numpy(),
                "note": e["note"].to_numpy(),
                "sheet_row": e["_row"].to_numpy(),
            }
        )
        out["explanations"] = _keys(ex, county, period, version)
    return out
