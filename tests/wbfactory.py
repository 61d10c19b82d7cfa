"""Small, valid county workbooks for tests, built with openpyxl from the config layout.

In: a Rulebook, a county code, a period and optional cell overrides. Out: an
.xlsx path whose sheets follow submission.md exactly, plus the matching registry rows.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd

from fivestar.config import Rulebook

GOOD = {
    "rate": 96.0,
    "int": 2,
    "num": 30000.0,
    "yesno": "否",
}
YES_GOOD = {"is_weak": "否"}


def branches(county: str, n_village: int = 3, n_community: int = 1) -> list[dict[str, str]]:
    out = []
    for i in range(n_village):
        out.append(
            {
                "code": f"{county}101{201 + i:03d}",
                "name": f"测试{i + 1}村",
                "type": "村",
                "township": "城关镇",
            }
        )
    for i in range(n_community):
        out.append(
            {
                "code": f"{county}002{1 + i:03d}",
                "name": f"幸福{i + 1}社区",
                "type": "社区",
                "township": "北关街道",
            }
        )
    return out


def registry_frame(counties: dict[str, str], brs: dict[str, list[dict[str, str]]]) -> pd.DataFrame:
    rows = [
        {
            "code": "410000",
            "name": "河南省",
            "level": "province",
            "parent_code": "",
            "branch_type": "",
            "township": "",
        },
        {
            "code": "410500",
            "name": "安阳市",
            "level": "city",
            "parent_code": "410000",
            "branch_type": "",
            "township": "",
        },
    ]
    for code, name in counties.items():
        rows.append(
            {
                "code": code,
                "name": name,
                "level": "county",
                "parent_code": "410500",
                "branch_type": "",
                "township": "",
            }
        )
        for b in brs.get(code, []):
            rows.append(
                {
                    "code": b["code"],
                    "name": b["name"],
                    "level": "branch",
                    "parent_code": code,
                    "branch_type": b["type"],
                    "township": b["township"],
                }
            )
    return pd.DataFrame(rows)


def indicator_value(key: str, vtype: str) -> Any:
    if vtype == "yesno":
        return "否" if key == "is_weak" else "是"
    if key in ("criminal_cases", "safety_accidents", "bypass_petitions"):
        return 0
    return GOOD[vtype]


def write_workbook(
    path: Path,
    rb: Rulebook,
    county: str,
    county_name: str,
    period: str,
    brs: list[dict[str, str]],
    *,
    ledger: list[list[Any]] | None = None,
    vetoes: list[list[Any]] | None = None,
    explanations: list[list[Any]] | None = None,
    values: dict[tuple[str, str], Any] | None = None,
    edit: Any = None,
) -> Path:
    """values: {(branch_code, indicator_key): value}; edit(wb) may change anything before save."""
    values = values or {}
    wb = openpyxl.Workbook()
    cover = wb.active
    cover.title = rb.cover_sheet
    cover_values = {
        "county_code": county,
        "county_name": county_name,
        "period": period,
        "submitter": "张三",
        "phone": "0372-1234567",
        "email": "county@example.org",
    }
    for f in rb.cover_fields:
        cover.append([f["label"], cover_values[f["key"]]])
    sheets = rb.sheets
    ws = wb.create_sheet(sheets["roster"].sheet)
    ws.append([c.header for c in sheets["roster"].columns])
    for b in brs:
        ws.append([b["code"], b["name"], b["type"], b["township"], 30, 300, "李四", 45])
    for btype in ("村", "社区"):
        spec = rb.indicator_sheet(btype)
        ws = wb.create_sheet(spec.sheet)
        ws.append([c.header for c in spec.columns])
        for b in brs:
            if b["type"] != btype:
                continue
            row: list[Any] = [b["code"], b["name"]]
            for c in spec.columns[2:]:
                row.append(values.get((b["code"], c.key), indicator_value(c.key, c.type)))
            ws.append(row)
    y, m = (int(x) for x in period.split("-"))
    ws = wb.create_sheet(sheets["ledger"].sheet)
    ws.append([c.header for c in sheets["ledger"].columns])
    for r in (
        ledger
        if ledger is not None
        else [[dt.date(y, m, 3), brs[0]["code"], "支部", "", "ZB01", 2, "支部党员大会"]]
    ):
        ws.append(r)
    ws = wb.create_sheet(sheets["vetoes"].sheet)
    ws.append([c.header for c in sheets["vetoes"].columns])
    for r in vetoes or []:
        ws.append(r)
    if explanations is not None:
        ws = wb.create_sheet(sheets["explanations"].sheet)
        ws.append([c.header for c in sheets["explanations"].columns])
        for r in explanations:
            ws.append(r)
    if edit:
        edit(wb)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path
