"""Warnings that the 情况说明 sheet explains (by cell or by branch)."""

from __future__ import annotations

import re

import pandas as pd

from fivestar import cells
from fivestar.config import Rulebook
from fivestar.findings import WARNING
from fivestar.ingest.read import ParsedWorkbook
from fivestar.validate.rules.context import CODE12

_LOCATION = re.compile(r"^(?P<sheet>[^!]+)!\$?(?P<col>[A-Za-z]{1,3})\$?(?P<row>\d+)$")


def parse_locations(pw: ParsedWorkbook) -> tuple[set[tuple[str, str]], set[str]]:
    e = pw.frames.get("explanations")
    cells_: set[tuple[str, str]] = set()
    branches: set[str] = set()
    if e is None or e.empty:
        return cells_, branches
    for loc in e["location"].dropna():
        s = cells.clean_text(loc).replace("！", "!")
        m = _LOCATION.match(s)
        if m:
            cells_.add((cells.normalise_header(m["sheet"]), f"{m['col'].upper()}{m['row']}"))
            continue
        code = cells.to_code(s)
        if CODE12.match(code):
            branches.add(code)
    return cells_, branches


def apply_explanations(df: pd.DataFrame, pw: ParsedWorkbook, rb: Rulebook) -> pd.DataFrame:
    cells_, branches = parse_locations(pw)
    if not (cells_ or branches) or df.empty:
        return df
    warn = df["severity"] == WARNING
    by_cell = [(cells.normalise_header(s), c) in cells_ for s, c in zip(df["sheet"], df["cell"], strict=True)]
    by_branch = df["branch_code"].isin(branches)
    df = df.copy()
    df["explained"] = warn & (pd.Series(by_cell, index=df.index) | by_branch)
    return df
