"""Build the Great Expectations suites (one per sheet) from the rule catalogue.

In: the catalogue (`validate/catalogue/`: rule ids, severities, messages, which GX
expectation) and a Rulebook (config/workbook.yaml + indicators.csv: column types,
choices, ranges). Out: suite dicts, written
as `expectations/<sheet_key>.json` by `python -m fivestar.validate.suites`. The JSON
files are what validation loads; a test keeps them in sync with config. Each
expectation's `meta` carries a stable rule id and the plain-Chinese message that
submitters (and the template's input checks) see.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

from fivestar.config import Column, Rulebook, load_rulebook
from fivestar.validate import catalogue
from fivestar.validate.catalogue import WARNING, Rule

log = logging.getLogger(__name__)
_LOGGED: set[str] = set()
SUITES_DIR = Path(__file__).resolve().parents[2] / "expectations"
UNIQUE_SUFFIX = "__in_file"  # column `<file index>|<value>`: uniqueness per file, not per run

# Roster ranges from submission.md: (min error, max error, max warning, its words)
ROSTER_RANGES: dict[str, tuple[float | None, float | None, float | None, str]] = {
    "members": (3, None, 500, "500人"),
    "households": (1, None, None, ""),
    "secretary_age": (18, 80, 60, "60岁"),
}
TYPE_TEXT = {
    "int": "应填写不小于0的整数",
    "num": "应填写不小于0的数值",
    "rate": "应填写0–100之间的数值（百分比）",
    "yesno": "应填写“是”或“否”",
    "date": "应填写本月内的日期（如2026-11-03）",
    "code": "应填写12位数字代码",
}
TYPED = ("int", "num", "rate", "yesno", "date")  # parsed by the reader: problems are relayed
# Relay groups: the `__issue` column holds type problems, `__warn` the rest.
_RELAY_KIND = {"type": "issue"}


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def range_text(col: Column, lo: float | None, hi: float | None) -> str:
    """Chinese wording of a value range, shared with the template's input checks."""
    if lo is not None and hi is not None:
        bounds = f"{_num(lo)}–{_num(hi)}之间"
    elif lo is not None:
        bounds = f"不小于{_num(lo)}"
    else:
        bounds = f"不大于{_num(hi)}"  # type: ignore[arg-type]
    return catalogue.text(
        "{sheet}.{column}.range",
        header=col.header,
        bounds=bounds,
        unit="整数" if col.type == "int" else "数值",
    )


def column_ranges(sheet_key: str, col: Column) -> tuple[float | None, float | None]:
    if sheet_key == "roster" and col.key in ROSTER_RANGES:
        lo, hi, _, _ = ROSTER_RANGES[col.key]
        return lo, hi
    if col.type == "rate":
        return 0, 100
    if col.type in ("int", "num") and sheet_key != "ledger":
        return 0, None
    return None, None


def _applies(rule: Rule, sheet_key: str, col: Column, per_branch: bool = False) -> bool:
    """Whether a column family of the catalogue applies to this column (workbook.yaml)."""
    a, typed = rule.applies, col.type in TYPED
    if a == "typed":
        return typed
    if a == "numeric":
        return col.type in ("int", "num", "rate")
    if a == "rate":
        return col.type == "rate"
    if a == "ranged":
        return typed and column_ranges(sheet_key, col) != (None, None)
    if a == "plausible":
        return sheet_key == "roster" and ROSTER_RANGES.get(col.key, (0, 0, None, ""))[2] is not None
    if a == "date":
        return col.type == "date"
    if a == "required":
        return not typed and not col.optional
    if a == "branch_code":
        return col.type == "code" and col.key == "branch_code"
    if a == "unique_branch":
        return col.type == "code" and col.key == "branch_code" and per_branch
    if a == "choice":
        return col.type == "choice"
    if a == "text":
        return col.type in ("text", "code", "choice")
    return False


def _exp(rule: Rule, rule_id: str, col_key: str, message: str, kind: str, **kwargs: Any) -> dict[str, Any]:
    return {
        "type": rule.check.removeprefix("gx:")
        if rule.check.startswith("gx:")
        else "expect_column_values_to_be_null",
        "kwargs": kwargs,
        "meta": {"rule": rule_id, "column": col_key, "kind": kind, "message": message},
        "severity": "warning" if rule.severity == WARNING else "critical",
    }


def _gx_kwargs(rule: Rule, sheet_key: str, col: Column) -> tuple[dict[str, Any], str]:
    """(expectation kwargs, filled message) of a GX family on one column."""
    family = rule.id.rsplit(".", 1)[-1]
    h = col.header
    if family == "range":
        lo, hi = column_ranges(sheet_key, col)
        kw: dict[str, Any] = {"column": col.key}
        if lo is not None:
            kw["min_value"] = lo
        if hi is not None:
            kw["max_value"] = hi
        return kw, range_text(col, lo, hi)
    if family == "plausible":
        _, _, warn_hi, words = ROSTER_RANGES[col.key]
        return {"column": col.key, "max_value": warn_hi}, rule.message.format(header=h, limit=words)
    if family == "in_month":
        bounds = {"min_value": {"$PARAMETER": "month_start"}, "max_value": {"$PARAMETER": "month_end"}}
        return {"column": col.key, **bounds}, rule.message.format(header=h)
    if family == "unique":
        return {"column": col.key + UNIQUE_SUFFIX}, rule.message
    if family == "choice":
        return {"column": col.key, "value_set": list(col.choices)}, rule.message.format(
            header=h, choices="、".join(col.choices)
        )
    if rule.regex:
        return {"column": col.key, "regex": rule.regex}, rule.message.format(header=h)
    return {"column": col.key}, rule.message.format(header=h)


def _column_expectations(sheet_key: str, col: Column, per_branch: bool = False) -> list[dict[str, Any]]:
    """The catalogue's column families that apply to this column, in catalogue order;
    a relay family (one row per problem code) becomes one null check of its relay column."""
    out: list[dict[str, Any]] = []
    relayed: set[str] = set()
    for rule in catalogue.RULES:
        if rule.sheet != "*" or rule.column not in ("*", col.key) or not rule.applies:
            continue
        if not rule.check.startswith(("gx:", "relay")) or not _applies(rule, sheet_key, col, per_branch):
            continue
        if rule.check == "relay":
            group = rule.id.split(".")[2]  # {sheet}.{column}.<group>.<code>
            if group in relayed:
                continue
            relayed.add(group)
            kind = _RELAY_KIND.get(group, "warn")
            message = TYPE_TEXT.get(col.type, "") if kind == "issue" else ""
            rid = f"{sheet_key}.{col.key}.{group}"
            out.append(_exp(rule, rid, col.key, message, kind, column=f"{col.key}__{kind}"))
            continue
        kw, message = _gx_kwargs(rule, sheet_key, col)
        rid = rule.id.replace("{sheet}", sheet_key).replace("{column}", col.key)
        out.append(_exp(rule, rid, col.key, message, "value", **kw))
    return out


def cover_suite(rb: Rulebook) -> dict[str, Any]:
    e = []
    for rule in catalogue.by_check("gx:"):
        if rule.sheet == "cover":
            kw: dict[str, Any] = {"column": rule.column}
            if rule.regex:
                kw["regex"] = rule.regex
            e.append(_exp(rule, rule.id, rule.column, rule.message, "value", **kw))
    return {"name": "cover", "expectations": e, "meta": {"sheet": rb.cover_sheet}}


def build_suites(rb: Rulebook) -> dict[str, dict[str, Any]]:
    suites = {"cover": cover_suite(rb)}
    for key, spec in rb.sheets.items():
        exps: list[dict[str, Any]] = []
        for col in spec.columns:
            # One row per branch: the roster and each branch type's indicator sheet.
            exps.extend(_column_expectations(key, col, key == "roster" or spec.branch_type is not None))
        suites[key] = {"name": key, "expectations": exps, "meta": {"sheet": spec.sheet}}
    return suites


def load_suite_dicts(directory: Path = SUITES_DIR) -> dict[str, dict[str, Any]]:
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(directory.glob("*.json"))}


def suites_for(rb: Rulebook, directory: Path = SUITES_DIR) -> dict[str, dict[str, Any]]:
    """The suites validation runs for this rulebook: `expectations/*.json` (generated from
    the shipped config), except where the config folder in use differs (a city's own
    branch types, choices or indicators): then the suite built from it, logged once."""
    stored = load_suite_dicts(directory)
    built = json.loads(json.dumps(build_suites(rb)))
    out = {}
    for key, suite in built.items():
        if stored.get(key) == suite:
            out[key] = stored[key]
        else:
            out[key] = suite
            if rb.hash not in _LOGGED:
                log.info("suite %s built from %s (differs from expectations/%s.json)", key, rb.directory, key)
    _LOGGED.add(rb.hash)
    return out


def write_suites(rb: Rulebook, directory: Path = SUITES_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, suite in build_suites(rb).items():
        p = directory / f"{name}.json"
        p.write_text(json.dumps(suite, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        paths.append(p)
    return paths


if (
    __name__ == "__main__"
):  # regenerate after editing config/indicators.csv, workbook.yaml or branch_types.csv
    cfg = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("config")
    for p in write_suites(load_rulebook(cfg)):
        print(p)
