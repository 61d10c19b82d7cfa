"""Finding records: one row per data-quality issue, the shape every stage shares.

In: keyword fields of an issue (or many). Out: a pandas DataFrame with the
columns in FINDING_COLUMNS, used by validation, feedback, alerts and the warehouse.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from fivestar.cells import mask_ids_in

FINDING_COLUMNS = (
    "file_key",
    "severity",
    "sheet",
    "row",
    "column_name",
    "cell",
    "value",
    "rule",
    "message",
    "branch_code",
    "explained",
)
ERROR = "error"
WARNING = "warning"


def col_letter(index: int) -> str:
    """0-based column index → Excel letters (0 → A, 26 → AA)."""
    letters = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def finding(
    severity: str,
    rule: str,
    message: str,
    *,
    file_key: str = "",
    sheet: str = "",
    row: int | None = None,
    column_name: str = "",
    cell: str = "",
    value: Any = "",
    branch_code: str = "",
) -> dict[str, Any]:
    # Every text a submitter, a leader or the warehouse sees: masked here once more, so a
    # message quoting a code cell that held a resident ID (or a long number) never shows it.
    return {
        "file_key": file_key,
        "severity": severity,
        "sheet": mask_ids_in(sheet),
        "row": row,
        "column_name": mask_ids_in(column_name),
        "cell": cell,
        "value": "" if value is None else mask_ids_in(str(value)),
        "rule": rule,
        "message": mask_ids_in(message),
        "branch_code": mask_ids_in(branch_code or ""),
        "explained": False,
    }


def empty() -> pd.DataFrame:
    return make_findings([])


def make_findings(records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    df = pd.DataFrame(list(records), columns=list(FINDING_COLUMNS))
    df["row"] = df["row"].astype("Int64")
    df["explained"] = df["explained"].fillna(False).astype(bool)
    for c in FINDING_COLUMNS:
        if c not in ("row", "explained"):
            df[c] = df[c].fillna("").astype(object)
    return df


def concat(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    parts = [f for f in frames if f is not None and len(f)]
    return make_findings([]) if not parts else make_findings(pd.concat(parts).to_dict("records"))
