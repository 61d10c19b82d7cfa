"""Where the pandas rules put their findings: one file's finding list, with the cell,
column header and shown value filled in the same way for every rule."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from fivestar import cells
from fivestar.config import Rulebook
from fivestar.findings import finding
from fivestar.validate import catalogue
from fivestar.validate.inputs import Submission

CODE12 = re.compile(r"^\d{12}$")


class RuleContext:
    def __init__(self, sub: Submission, rb: Rulebook) -> None:
        self.pw = sub.parsed
        self.rb = rb
        self.out: list[dict[str, Any]] = []

    def cell_finding(
        self,
        rule: str,
        msg: str,
        sheet_key: str,
        col_key: str,
        row: pd.Series | dict[str, Any],
        value: Any = None,
    ) -> None:
        spec = self.rb.sheets[sheet_key]
        letter = self.pw.letters.get(sheet_key, {}).get(col_key, "")
        excel_row = int(row["_row"])
        shown = cells.display(value if value is not None else row.get(col_key))
        self.out.append(
            finding(
                catalogue.rule(rule).severity,  # one severity per rule: the catalogue's
                rule,
                msg,
                file_key=self.pw.file_key,
                sheet=spec.sheet,
                row=excel_row,
                column_name=spec.column(col_key).header,
                cell=f"{letter}{excel_row}",
                value=shown,
                branch_code=str(row.get("branch_code") or ""),
            )
        )

    def sheet_finding(
        self,
        rule: str,
        msg: str,
        sheet_key: str,
        col_key: str = "",
        value: Any = "",
        branch: str = "",
    ) -> None:
        spec = self.rb.sheets[sheet_key]
        self.out.append(
            finding(
                catalogue.rule(rule).severity,  # one severity per rule: the catalogue's
                rule,
                msg,
                file_key=self.pw.file_key,
                sheet=spec.sheet,
                column_name=spec.column(col_key).header if col_key else "",
                value=value,
                branch_code=branch,
            )
        )

    def cover_finding(self, rule: str, msg: str, key: str) -> None:
        cc = self.pw.cover[key]
        self.out.append(
            finding(
                catalogue.rule(rule).severity,  # one severity per rule: the catalogue's
                rule,
                msg,
                file_key=self.pw.file_key,
                sheet=self.rb.cover_sheet,
                row=cc.row,
                column_name=cc.label,
                cell=cc.cell,
                value=cells.display(cc.raw) if not cells.is_blank(cc.raw) else "",
            )
        )


def record(f: pd.DataFrame, i: int, *cols: str) -> dict[str, Any]:
    """The fields cell_finding reads of the row at position i (Excel row, branch, column)."""
    out: dict[str, Any] = {"_row": f["_row"].iat[i]}
    for c in ("branch_code", *cols):
        if c in f.columns:
            out[c] = f[c].iat[i]
    return out
