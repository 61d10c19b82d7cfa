"""Branch types as data: branch_types.csv and the long-form star, item and veto tables.

In: the raw text tables of the config folder (read by `config.py`): `branch_types.csv`
(`name,key,sheet,wording,sheet_required`, one row per type, in report order),
`stars.csv` (`code,name,branch_type`: one row per star and type), `points_items.csv`
(`code,name,subject_type,points,cap,kind,branch_type,star`: one row per item and type;
a redemption has one row with a blank type: it applies to every type) and `vetoes.csv`
(`code,name,branch_type,stars`: one row per veto and type; no row = not applicable),
and the `sheets` of workbook.yaml. Out: `BranchType` records, the per-code tables the
rest of the code reads (stars, items, vetoes) and the per-type mappings beside them,
and the workbook's sheets with one indicator sheet per type.

Config folders written before branch types were data (one column per type:
`village`/`community` in stars.csv, `star_<key>` in points_items.csv, `stars_<key>` in
vetoes.csv, one explicit indicator sheet per type in workbook.yaml, no
branch_types.csv) are still read: the types come from workbook.yaml's indicator sheets.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

BRANCH_TYPE_COLUMNS = ("name", "key", "sheet", "wording")
_KEY = re.compile(r"[a-z][a-z_]*")  # rule ids hold the sheet key `<key>_indicators` ([a-z_]+)
_YES = {"yes", "true", "1", "是", ""}
_NO = {"no", "false", "0", "否"}


class ConfigError(Exception):
    """A config file or folder that cannot be used; the message says which and why (English, for IT)."""


@dataclass(frozen=True)
class BranchType:
    """One kind of Party branch (a row of branch_types.csv)."""

    name: str  # the roster's and registry's 类型 value
    key: str  # ascii; its indicator sheet's key is `<key>_indicators`
    sheet: str  # the indicator sheet's name in the workbook
    wording: str  # how the leaders' report counts them ("个…"), e.g. in the headline
    sheet_required: bool = True  # False: the sheet may be left out by a county without such branches

    @property
    def sheet_key(self) -> str:
        return f"{self.key}_indicators"


def read_branch_types(df: pd.DataFrame, path: Path) -> tuple[BranchType, ...]:
    out: list[BranchType] = []
    for i, r in enumerate(df.to_dict("records"), start=2):
        name, key, sheet = (str(r.get(c, "")).strip() for c in ("name", "key", "sheet"))
        wording = str(r.get("wording", "")).strip() or f"个{name}"
        req = str(r.get("sheet_required", "")).strip().lower()
        if not name or not sheet or not _KEY.fullmatch(key) or req not in _YES | _NO:
            raise ConfigError(
                f"{path} line {i}: a branch type needs a name, a sheet, a key of lower-case letters "
                f"and '_' (got {key!r}) and sheet_required yes/no (got {req!r})"
            )
        out.append(BranchType(name, key, sheet, wording, req in _YES))
    for attr in ("name", "key", "sheet"):
        values = [getattr(t, attr) for t in out]
        dup = sorted({v for v in values if values.count(v) > 1})
        if dup:
            raise ConfigError(f"{path}: branch type {attr} repeated: {', '.join(dup)}")
    if not out:
        raise ConfigError(f"{path}: no branch type configured")
    return tuple(out)


def legacy_branch_types(workbook: dict[str, Any]) -> tuple[BranchType, ...]:
    """The types of a config folder without branch_types.csv: its explicit indicator sheets."""
    out = tuple(
        BranchType(
            name=str(spec["branch_type"]),
            key=key.removesuffix("_indicators"),
            sheet=str(spec["sheet"]),
            wording=f"个{spec['branch_type']}",
            sheet_required=bool(spec.get("required", True)),
        )
        for key, spec in (workbook.get("sheets") or {}).items()
        if spec.get("branch_type")
    )
    if not out:
        raise ConfigError(
            "config folder has no branch_types.csv (and workbook.yaml names no indicator sheet)"
        )
    return out


def expand_sheets(
    sheets: dict[str, Any], types: tuple[BranchType, ...]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """workbook.yaml's sheets in order; a `per_branch_type` entry becomes one sheet per type."""
    for name, spec in sheets.items():
        if not spec.get("per_branch_type"):
            yield name, spec
            continue
        for t in types:
            yield (
                t.sheet_key,
                {**spec, "sheet": t.sheet, "required": t.sheet_required, "branch_type": t.name},
            )


def _check_types(df: pd.DataFrame, types: tuple[BranchType, ...], path: Path, blank_ok: bool = False) -> None:
    known = {t.name for t in types}
    bad = sorted({v for v in df["branch_type"] if v not in known and not (blank_ok and v == "")})
    if bad:
        raise ConfigError(
            f"{path}: branch type(s) {', '.join(bad)} not configured in branch_types.csv "
            f"(configured: {', '.join(t.name for t in types)})"
        )


def _wide_to_long(df: pd.DataFrame, types: tuple[BranchType, ...], prefix: str, value: str) -> pd.DataFrame:
    """A legacy table with one column per type (`<prefix><key>`) as one row per type."""
    id_cols = [c for c in df.columns if not any(c == f"{prefix}{t.key}" for t in types)]
    parts = []
    for t in types:
        col = f"{prefix}{t.key}"
        if col in df.columns:
            parts.append(df[id_cols].assign(branch_type=t.name, **{value: df[col]}))
    long = pd.concat(parts, ignore_index=True) if parts else df[id_cols].assign(branch_type="", **{value: ""})
    # Keep the file's row order (a row's types in configuration order).
    order = {c: i for i, c in enumerate(dict.fromkeys(df["code"]))}
    return long.sort_values("code", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)


def _per_code(df: pd.DataFrame, cols: list[str], path: Path) -> pd.DataFrame:
    """One row per code; the code's rows must agree on `cols`."""
    first = df.drop_duplicates("code")[cols].reset_index(drop=True)
    clash = df[cols].drop_duplicates().groupby("code").size()
    if (clash > 1).any():
        raise ConfigError(
            f"{path}: rows of {', '.join(clash[clash > 1].index)} disagree on {', '.join(cols[1:])}"
        )
    return first


def star_tables(
    df: pd.DataFrame, types: tuple[BranchType, ...], path: Path
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(stars: code, name) and (star_types: branch_type, star_code), in file order."""
    if "branch_type" not in df.columns:  # legacy: a 1/0 column per type key
        long = _wide_to_long(df, types, "", "_has")
        df = long[long["_has"] == "1"].drop(columns="_has")
    _check_types(df, types, path)
    stars = _per_code(df, ["code", "name"], path)
    star_types = pd.DataFrame({"branch_type": df["branch_type"], "star_code": df["code"]}).reset_index(
        drop=True
    )
    return stars, star_types


def item_tables(
    df: pd.DataFrame, types: tuple[BranchType, ...], path: Path
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(items: code, name, subject_type, points, cap, kind) and (item_stars: item_code, branch_type, star_code)."""
    if "branch_type" not in df.columns:  # legacy: star_<key> columns
        df = _wide_to_long(df, types, "star_", "star")
        df = df[(df["star"] != "") | (df["kind"] == "redeem")]
        df = df.assign(branch_type=df["branch_type"].where(df["star"] != "", ""))
        df = df.drop_duplicates(["code", "branch_type"])
    _check_types(df, types, path, blank_ok=True)
    cols = ["code", "name", "subject_type", "points", "cap", "kind"]
    items = _per_code(df, cols, path)
    fed = df[(df["branch_type"] != "") & (df["star"] != "")]
    item_stars = pd.DataFrame(
        {"item_code": fed["code"], "branch_type": fed["branch_type"], "star_code": fed["star"]}
    ).reset_index(drop=True)
    return items, item_stars


def veto_tables(
    df: pd.DataFrame, types: tuple[BranchType, ...], path: Path
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(vetoes: code, name) and (veto_stars: veto_code, branch_type, stars as `A|B` or `ALL`)."""
    if "branch_type" not in df.columns:  # legacy: stars_<key> columns, blank = not applicable
        df = _wide_to_long(df, types, "stars_", "stars")
    _check_types(df, types, path)
    vetoes = _per_code(df, ["code", "name"], path)
    applied = df[df["stars"] != ""]
    veto_stars = pd.DataFrame(
        {"veto_code": applied["code"], "branch_type": applied["branch_type"], "stars": applied["stars"]}
    ).reset_index(drop=True)
    return vetoes, veto_stars
