"""Build the Great Expectations suites (one per sheet) from the workbook layout.

In: a Rulebook (config/workbook.yaml + indicators.csv). Out: suite dicts, written
as `expectations/<sheet_key>.json` by `python -m fivestar.validate.suites`. The JSON
files are what validation loads; a test keeps them in sync with config. Each
expectation's `meta` carries a stable rule id and the plain-Chinese message that
submitters (and the template's input checks) see.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from fivestar.config import Column, Rulebook, load_rulebook

SUITES_DIR = Path(__file__).resolve().parents[2] / "expectations"
UNIQUE_SUFFIX = "__in_file"  # column `<file index>|<value>`: uniqueness per file, not per run

# Roster ranges from submission.md: (min error, max error, max warning, warning text)
_ROSTER_RANGES: dict[str, tuple[float | None, float | None, float | None, str]] = {
    "members": (3, None, 500, "党员人数超过500人，请核实是否填写正确"),
    "households": (1, None, None, ""),
    "secretary_age": (18, 80, 60, "书记年龄超过60岁，请核实是否填写正确"),
}
TYPE_TEXT = {
    "int": "应填写不小于0的整数",
    "num": "应填写不小于0的数值",
    "rate": "应填写0–100之间的数值（百分比）",
    "yesno": "应填写“是”或“否”",
    "date": "应填写本月内的日期（如2026-11-03）",
    "code": "应填写12位数字代码",
}


def range_text(col: Column, lo: float | None, hi: float | None) -> str:
    """Chinese wording of a value range, shared with the template's input checks."""
    unit = "整数" if col.type == "int" else "数值"

    def f(x: float) -> str:
        return str(int(x)) if float(x).is_integer() else str(x)

    if lo is not None and hi is not None:
        return f"{col.header}应为{f(lo)}–{f(hi)}之间的{unit}"
    if lo is not None:
        return f"{col.header}应为不小于{f(lo)}的{unit}"
    return f"{col.header}应为不大于{f(hi)}的{unit}"  # type: ignore[arg-type]


def _exp(
    etype: str,
    sheet: str,
    col: Column,
    rule: str,
    message: str,
    severity: str = "critical",
    kind: str = "value",
    **kwargs: Any,
) -> dict[str, Any]:
    return {
        "type": etype,
        "kwargs": kwargs,
        "meta": {"rule": f"{sheet}.{col.key}.{rule}", "column": col.key, "kind": kind, "message": message},
        "severity": severity,
    }


def column_ranges(sheet_key: str, col: Column) -> tuple[float | None, float | None]:
    if sheet_key == "roster" and col.key in _ROSTER_RANGES:
        lo, hi, _, _ = _ROSTER_RANGES[col.key]
        return lo, hi
    if col.type == "rate":
        return 0, 100
    if col.type in ("int", "num") and sheet_key != "ledger":
        return 0, None
    return None, None


def _column_expectations(sheet_key: str, col: Column) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    s = sheet_key
    if col.type in ("int", "num", "rate", "yesno", "date"):
        # Type problems (blank, text, #DIV/0!, fraction) are flagged per cell at ingest.
        out.append(
            _exp(
                "expect_column_values_to_be_null",
                s,
                col,
                "type",
                TYPE_TEXT.get(col.type, ""),
                kind="issue",
                column=f"{col.key}__issue",
            )
        )
        out.append(
            _exp(
                "expect_column_values_to_be_null",
                s,
                col,
                "format",
                "",
                severity="warning",
                kind="warn",
                column=f"{col.key}__warn",
            )
        )
        lo, hi = column_ranges(s, col)
        if lo is not None or hi is not None:
            kw: dict[str, Any] = {"column": col.key}
            if lo is not None:
                kw["min_value"] = lo
            if hi is not None:
                kw["max_value"] = hi
            out.append(
                _exp("expect_column_values_to_be_between", s, col, "range", range_text(col, lo, hi), **kw)
            )
        if s == "roster" and col.key in _ROSTER_RANGES and _ROSTER_RANGES[col.key][2] is not None:
            _, _, warn_hi, text = _ROSTER_RANGES[col.key]
            out.append(
                _exp(
                    "expect_column_values_to_be_between",
                    s,
                    col,
                    "plausible",
                    text,
                    severity="warning",
                    column=col.key,
                    max_value=warn_hi,
                )
            )
        if col.type == "date":
            out.append(
                _exp(
                    "expect_column_values_to_be_between",
                    s,
                    col,
                    "in_month",
                    f"{col.header}应为本填报月份内的日期",
                    column=col.key,
                    min_value={"$PARAMETER": "month_start"},
                    max_value={"$PARAMETER": "month_end"},
                )
            )
        return out
    if not col.optional:
        out.append(
            _exp(
                "expect_column_values_to_not_be_null",
                s,
                col,
                "required",
                f"{col.header}不能为空",
                column=col.key,
            )
        )
    if col.type == "code" and col.key == "branch_code":
        out.append(
            _exp(
                "expect_column_values_to_match_regex",
                s,
                col,
                "format",
                "支部代码应为12位数字",
                column=col.key,
                regex=r"^\d{12}$",
            )
        )
        if s in ("roster", "village_indicators", "community_indicators"):
            # Unique within one file: the batch holds every file of the run, so the
            # checked column is `<file>|<code>` (UNIQUE_SUFFIX, added by the engine).
            out.append(
                _exp(
                    "expect_column_values_to_be_unique",
                    s,
                    col,
                    "unique",
                    "支部代码重复，每个支部只能填写一行",
                    column=col.key + UNIQUE_SUFFIX,
                )
            )
    if col.type == "choice":
        choices = "、".join(col.choices)
        out.append(
            _exp(
                "expect_column_values_to_be_in_set",
                s,
                col,
                "choice",
                f"{col.header}应填写：{choices}",
                column=col.key,
                value_set=list(col.choices),
            )
        )
    if col.type in ("text", "code", "choice"):
        out.append(
            _exp(
                "expect_column_values_to_be_null",
                s,
                col,
                "resident_id",
                "",
                severity="warning",
                kind="warn",
                column=f"{col.key}__warn",
            )
        )
    return out


def cover_suite(rb: Rulebook) -> dict[str, Any]:
    cols = {f["key"]: Column(key=f["key"], header=f["label"], type="text") for f in rb.cover_fields}
    e = [
        _exp(
            "expect_column_values_to_not_be_null",
            "cover",
            cols["county_code"],
            "required",
            "县（市、区）代码不能为空",
            column="county_code",
        ),
        _exp(
            "expect_column_values_to_match_regex",
            "cover",
            cols["county_code"],
            "format",
            "县（市、区）代码应为6位数字",
            column="county_code",
            regex=r"^\d{6}$",
        ),
        _exp(
            "expect_column_values_to_not_be_null",
            "cover",
            cols["period"],
            "required",
            "填报期间不能为空或无法识别，请填写如2026-11",
            column="period",
        ),
        _exp(
            "expect_column_values_to_not_be_null",
            "cover",
            cols["submitter"],
            "required",
            "填报人不能为空",
            column="submitter",
        ),
        _exp(
            "expect_column_values_to_not_be_null",
            "cover",
            cols["phone"],
            "required",
            "联系电话未填写",
            severity="warning",
            column="phone",
        ),
        _exp(
            "expect_column_values_to_match_regex",
            "cover",
            cols["email"],
            "format",
            "电子邮箱格式不正确（如 name@example.org）",
            severity="warning",
            column="email",
            regex=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
        ),
    ]
    return {"name": "cover", "expectations": e, "meta": {"sheet": rb.cover_sheet}}


def build_suites(rb: Rulebook) -> dict[str, dict[str, Any]]:
    suites = {"cover": cover_suite(rb)}
    for key, spec in rb.sheets.items():
        exps: list[dict[str, Any]] = []
        for col in spec.columns:
            exps.extend(_column_expectations(key, col))
        suites[key] = {"name": key, "expectations": exps, "meta": {"sheet": spec.sheet}}
    return suites


def load_suite_dicts(directory: Path = SUITES_DIR) -> dict[str, dict[str, Any]]:
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(directory.glob("*.json"))}


def write_suites(rb: Rulebook, directory: Path = SUITES_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, suite in build_suites(rb).items():
        p = directory / f"{name}.json"
        p.write_text(json.dumps(suite, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        paths.append(p)
    return paths


if __name__ == "__main__":  # regenerate after editing config/indicators.csv or workbook.yaml
    cfg = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("config")
    for p in write_suites(load_rulebook(cfg)):
        print(p)
