"""Validate every file of one period at once: GX suites in bulk, then pandas rules.

In: the parsed workbooks of one period (each with its county from the file name
and its version), the Rulebook, the Registry, and prior facts of those counties
from the warehouse (previous accepted month's indicators, earlier ledgers).
Out: one findings frame per file key (every error and warning at once), with
explanations from the 情况说明 sheet applied.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fivestar import cells
from fivestar.config import Registry, Rulebook, load_validation_thresholds
from fivestar.findings import ERROR, WARNING, finding, make_findings
from fivestar.ingest.read import ParsedWorkbook
from fivestar.validate import root_causes, rules
from fivestar.validate.cell_wording import expected_text, issue_message, warn_message
from fivestar.validate.gx_runner import run_suites
from fivestar.validate.inputs import Prior, Submission
from fivestar.validate.suites import UNIQUE_SUFFIX, suites_for


def validate_period(
    subs: list[Submission],
    rb: Rulebook,
    registry: Registry,
    priors: dict[str, Prior],
    *,
    suites: dict[str, dict[str, Any]] | None = None,
    settings: dict[str, Any] | None = None,
) -> dict[str, pd.DataFrame]:
    if not subs:
        return {}
    periods = {s.period for s in subs}
    if len(periods) != 1:
        raise ValueError(f"validate_period expects one period, got {sorted(periods)}")
    period = subs[0].period
    suites = suites or suites_for(rb)
    custom_settings = settings
    settings = settings or _settings_of(rb.directory)
    start, end = cells.month_bounds(period)
    batches, index = _batches(subs, rb, _unique_checked(suites))
    failures = run_suites(
        batches,
        suites,
        {"month_start": pd.Timestamp(start).isoformat(), "month_end": pd.Timestamp(end).isoformat()},
    )
    out: dict[str, list[dict[str, Any]]] = {s.parsed.file_key: [] for s in subs}
    for rec in failures.to_dict("records"):
        f = _failure_to_finding(rec, index, rb, subs)
        if f:
            out[f["file_key"]].append(f)
    frames: dict[str, pd.DataFrame] = {}
    for s in subs:
        pw = s.parsed
        recs = out[pw.file_key]
        if pw.checked is not None and custom_settings is None:
            recs.extend(pw.checked)  # rules_after_read, in the reader worker
        elif pw.frames or pw.cover:
            recs.extend(rules.file_rules(s, rb, registry, priors.get(s.county_code, Prior()), settings))
        df = make_findings(_drop_shadowed([*pw.findings.to_dict("records"), *recs]))
        df["file_key"] = pw.file_key
        df = df.drop_duplicates(
            subset=["severity", "sheet", "cell", "column_name", "rule", "value"]
        ).reset_index(drop=True)
        df = rules.apply_explanations(df, pw, rb)
        frames[pw.file_key] = root_causes.apply(df, s, rb, registry)
    return frames


@functools.cache
def _settings_of(directory: Path) -> dict[str, Any]:
    return dataclasses.asdict(load_validation_thresholds(directory))


def rules_after_read(
    pw: ParsedWorkbook,
    rb: Rulebook,
    registry: Registry,
    county_code: str,
    period: str,
    version: int,
    prior: Prior,
) -> list[dict[str, Any]] | None:
    """The per-file rules of one workbook, run by a reader worker right after reading it.

    validate_period takes the result from `pw.checked` instead of running file_rules
    itself: the same function on the same inputs (`prior` must be the one passed to
    validate_period), spread over both cores instead of one.
    """
    if not (pw.frames or pw.cover):
        return None
    sub = Submission(pw, county_code, period, version)
    return rules.file_rules(sub, rb, registry, prior, _settings_of(rb.directory))


def _drop_shadowed(recs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A plausibility warning (书记年龄 > 60) is noise on a cell that already has an error."""
    errors = {(r["sheet"], r["cell"]) for r in recs if r["severity"] == ERROR and r["cell"]}
    return [r for r in recs if not (r["rule"].endswith(".plausible") and (r["sheet"], r["cell"]) in errors)]


class _Rows:
    """Row lookup by `_uid` in a batch whose `_uid`s are consecutive (no indexed copy)."""

    def __init__(self, df: pd.DataFrame) -> None:
        self.df = df
        self.columns = df.columns
        self.first = int(df["_uid"].iat[0]) if len(df) else 0

    def row(self, uid: int) -> pd.Series:
        return self.df.iloc[int(uid) - self.first]


def _unique_checked(suites: dict[str, dict[str, Any]]) -> set[str]:
    """Sheet keys whose suite checks branch codes for uniqueness within a file."""
    column = "branch_code" + UNIQUE_SUFFIX
    return {
        key
        for key, suite in suites.items()
        if any((e.get("kwargs") or {}).get("column") == column for e in suite.get("expectations", []))
    }


def _batches(
    subs: list[Submission], rb: Rulebook, unique: set[str] | None = None
) -> tuple[dict[str, pd.DataFrame], dict[str, _Rows]]:
    """Concatenate each sheet over all files; `_uid` maps a GX failure back to file and row.

    Columns without a single value in any file (most `<col>__issue` / `__warn` / `__raw`)
    are left out: no expectation can fail on them, and at province scale they would cost
    hundreds of MB. A failure's row reads a missing column as blank, as it would be.
    """
    batches: dict[str, pd.DataFrame] = {}
    uid = 0
    cover_rows = []
    for i, s in enumerate(subs):
        c = s.parsed.cover
        if not c:
            continue
        row: dict[str, Any] = {"_uid": uid, "_sub": i, "_row": 0}
        for key, cc in c.items():
            text = cc.text or None
            if key == "period":
                text = cells.parse_period(cc.raw) if not cells.is_blank(cc.raw) else None
            if key == "email":
                text = cc.text  # blank is "not an e-mail address" too
            row[key] = text
        cover_rows.append(row)
        uid += 1
    if cover_rows:
        batches["cover"] = pd.DataFrame(cover_rows)
    for key in rb.sheets:
        parts, subs_of, sizes = [], [], []
        for i, s in enumerate(subs):
            f = s.parsed.frames.get(key)
            if f is None or f.empty:
                continue
            parts.append(f)
            subs_of.append(i)
            sizes.append(len(f))
        if not parts:
            continue
        columns = list(dict.fromkeys(c for f in parts for c in f.columns))
        empty = {c for c in columns if c.endswith(("__issue", "__warn", "__raw"))}
        for f in parts:
            present = [c for c in empty if c in f.columns]
            if present:  # one frame operation per file, not one per column
                hit = f[present].notna().any()
                empty -= set(hit.index[hit.to_numpy(dtype=bool)])
        keep = [c for c in columns if c not in empty]
        batch = pd.concat(
            [f if list(f.columns) == keep else f.reindex(columns=keep) for f in parts], ignore_index=True
        )
        total = len(batch)
        batch.insert(0, "_sub", np.repeat(np.asarray(subs_of, dtype=np.int64), sizes))
        batch.insert(0, "_uid", np.arange(uid, uid + total, dtype=np.int64))
        uid += total
        # Uniqueness is per file, not per run; only where a suite checks it (not the
        # ledger's 1.5 M rows, where a branch has many events).
        if "branch_code" in batch.columns and (unique is None or key in unique):
            code = batch["branch_code"]
            in_file = batch["_sub"].astype(str) + "|" + code.astype(str)
            batch["branch_code" + UNIQUE_SUFFIX] = in_file.where(code.notna(), None)
        batches[key] = batch
    index = {k: _Rows(df) for k, df in batches.items()}
    return batches, index


def _failure_to_finding(
    rec: dict[str, Any], index: dict[str, _Rows], rb: Rulebook, subs: list[Submission]
) -> dict[str, Any] | None:
    frame = index[rec["sheet_key"]]
    row = frame.row(rec["_uid"])
    sub = subs[int(row["_sub"])]
    pw = sub.parsed
    if rec["sheet_key"] == "cover":
        cc = pw.cover[rec["column"]]
        shown = cells.display(cc.raw) if not cells.is_blank(cc.raw) else ""
        msg = rec["message"] + (f"，当前为“{shown}”" if shown else "")
        return finding(
            rec["severity"],
            rec["rule"],
            msg,
            file_key=pw.file_key,
            sheet=rb.cover_sheet,
            row=cc.row,
            column_name=cc.label,
            cell=cc.cell,
            value=shown,
        )
    spec = rb.sheets[rec["sheet_key"]]
    col = spec.column(rec["column"])
    letter = pw.letters.get(rec["sheet_key"], {}).get(rec["column"], "")
    excel_row = int(row["_row"])
    raw = row.get(rec["column"] + "__raw")
    value = row.get(rec["column"])
    if rec["kind"] == "issue":
        code = row[rec["column"] + "__issue"]
        shown = raw or ""
        msg = issue_message(code, col.header, shown, expected_text(rec["sheet_key"], col))
        rule = rec["rule"] + "." + code
    elif rec["kind"] == "warn":
        code = row[rec["column"] + "__warn"]
        shown = raw or ""
        msg = warn_message(code, col.header, shown)
        rule = rec["rule"] + "." + code
    else:
        shown = cells.display(_plain(value))
        msg = rec["message"] + (f"，当前为“{shown}”" if shown else "")
        rule = rec["rule"]
    branch = row.get("branch_code") if "branch_code" in frame.columns else ""
    return finding(
        rec["severity"],
        rule,
        msg,
        file_key=pw.file_key,
        sheet=spec.sheet,
        row=excel_row,
        column_name=col.header,
        cell=f"{letter}{excel_row}" if letter else "",
        value=shown,
        branch_code=branch if isinstance(branch, str) else "",
    )


def _plain(v: Any) -> Any:
    if v is None or (pd.api.types.is_scalar(v) and pd.isna(v)):  # NaN, NaT, NA: blank
        return None
    if isinstance(v, pd.Timestamp):
        return v.date().isoformat()
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


__all__ = ["Prior", "Submission", "validate_period", "ERROR", "WARNING"]
