"""Run the per-sheet Great Expectations suites over all files of a run at once.

In: one DataFrame per sheet key (rows of every file, with a unique `_uid`), the
suite dicts from `expectations/`, and runtime parameters (month bounds). Out: a
DataFrame of failures: sheet_key, _uid, column, kind, rule, message, severity
('error' for GX critical, 'warning' for GX warning). GX is imported lazily: it
costs seconds and ~230 MB, so nothing imports it until validation runs.

Cost: GX scans every row once per expectation (≈ 20 ms per 50k rows), 1.5 M ledger
rows a month at province scale. Expectations that pandas proves to pass on the batch
(`cannot_fail`: a null check on a column without values, codes that all match, dates
all within the month, …) are not handed to GX, and GX sees only the rows pandas
cannot prove to pass (`suspect_rows`); GX still decides every row that might fail, so
the failures (and so the findings) are exactly those of running the whole suite.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)
FAILURE_COLUMNS = ["sheet_key", "_uid", "column", "kind", "rule", "message", "severity"]
_context: Any = None


_context_lock = threading.Lock()


def gx_context() -> Any:
    """GX imported and its context built (once; 3-4 s). Safe to call from a warm-up
    thread (the executor's `warm_here`): `run_suites` waits for the same lock."""
    with _context_lock:
        return _make_context()


def _make_context() -> Any:
    global _context
    if _context is None:
        logging.getLogger("great_expectations").setLevel(logging.WARNING)
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        logging.getLogger("great_expectations").setLevel(logging.ERROR)
        _context = gx.get_context(mode="ephemeral")
        _context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return _context


_vds: dict[str, Any] = {}


# Expectation types that ignore missing values: on a column with no value at all they
# succeed and report no row (checked on GX 1.24), so running them there is pure cost.
# expect_column_values_to_not_be_null is the one that must still run on such a column.
NULL_IGNORING = frozenset(
    {
        "expect_column_values_to_be_null",
        "expect_column_values_to_be_unique",
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_match_regex",
        "expect_column_values_to_be_between",
    }
)
# kwargs the pre-check understands per type; any other kwarg (mostly, strict_min, a row
# condition, ...) leaves the expectation to GX unconditionally.
_PRECHECK_KWARGS = {
    "expect_column_values_to_not_be_null": {"column"},
    "expect_column_values_to_be_null": {"column"},
    "expect_column_values_to_be_unique": {"column"},
    "expect_column_values_to_be_in_set": {"column", "value_set"},
    "expect_column_values_to_match_regex": {"column", "regex"},
    "expect_column_values_to_be_between": {"column", "min_value", "max_value"},
}


def _param(v: Any, params: dict[str, Any]) -> Any:
    if isinstance(v, dict) and set(v) == {"$PARAMETER"}:
        return params[v["$PARAMETER"]]  # KeyError: leave it to GX
    return v


def _outside(col: pd.Series, lo: Any, hi: Any) -> np.ndarray | None:
    """Values outside [lo, hi] (inclusive, None = open) for numeric or datetime columns;
    None when the bounds or the dtype are not ones this check understands."""
    kind = col.dtype.kind if isinstance(col.dtype, np.dtype) else ""
    if kind in "iuf" and kind:
        if any(b is not None and (isinstance(b, bool) or not isinstance(b, int | float)) for b in (lo, hi)):
            return None
    elif kind == "M":
        if any(b is not None and not isinstance(b, str) for b in (lo, hi)):
            return None
        lo, hi = (None if b is None else pd.Timestamp(b) for b in (lo, hi))
    else:
        return None
    ok = np.ones(len(col), dtype=bool)
    if lo is not None:
        ok &= (col >= lo).to_numpy(dtype=bool)
    if hi is not None:
        ok &= (col <= hi).to_numpy(dtype=bool)
    return ~ok


def suspect_rows(exp: dict[str, Any], df: pd.DataFrame, params: dict[str, Any]) -> np.ndarray | None:
    """Rows of df on which GX might fail this expectation (bool mask), or None for "any row".

    Mirrors GX's pandas implementations (nulls skipped except by the null checks;
    between inclusive; match_regex = `astype(str).str.contains`; unique = every
    occurrence of a duplicated non-null value). Every row outside the mask is proven to
    pass; whenever anything is unusual the answer is None and GX sees every row.
    """
    t, kw = exp["type"], exp["kwargs"]
    allowed = _PRECHECK_KWARGS.get(t)
    if allowed is None or set(kw) - allowed:
        return None
    try:
        col = df[kw["column"]]
        present = col.notna().to_numpy(dtype=bool)
        if t == "expect_column_values_to_not_be_null":
            return ~present
        if t == "expect_column_values_to_be_null":
            return present
        mask = np.zeros(len(df), dtype=bool)
        if not present.any():
            return mask  # the other types ignore missing values
        values = col[present]
        if t == "expect_column_values_to_be_unique":
            bad = values.duplicated(keep=False).to_numpy(dtype=bool)
        elif t == "expect_column_values_to_be_in_set":
            bad = ~values.isin(list(kw["value_set"])).to_numpy(dtype=bool)
        elif t == "expect_column_values_to_match_regex":
            bad = ~values.astype(str).str.contains(kw["regex"]).to_numpy(dtype=bool)
        elif t == "expect_column_values_to_be_between":
            lo, hi = _param(kw.get("min_value"), params), _param(kw.get("max_value"), params)
            if lo is None and hi is None:
                return None
            out = _outside(values, lo, hi)
            if out is None:
                return None
            bad = out
        else:
            return None
        mask[present] = bad
        return mask
    except Exception:  # any doubt: GX decides on every row
        return None


def cannot_fail(exp: dict[str, Any], df: pd.DataFrame, params: dict[str, Any]) -> bool:
    """True when pandas proves that GX would find no failing row for this expectation."""
    mask = suspect_rows(exp, df, params)
    return mask is not None and not mask.any()


def needed_expectations(
    suite_dict: dict[str, Any], df: pd.DataFrame, params: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """The suite's expectations that can fail on df: those on present columns, minus
    those pandas proves to pass (`cannot_fail`: e.g. most `<col>__issue` / `__warn`
    null checks, codes that all match their pattern, dates all within the month)."""
    present = set(df.columns)
    params = params or {}
    return [
        dict(e)
        for e in suite_dict["expectations"]
        if e["kwargs"].get("column") in present and not cannot_fail(e, df, params)
    ]


def _validation_definition(key: str, exps: list[dict[str, Any]]) -> Any:
    """One suite + validation definition per sheet and expectation set, reused across runs."""
    import hashlib
    import json

    import great_expectations as gx
    from great_expectations.core.expectation_suite import ExpectationSuite

    digest = hashlib.sha1(json.dumps(exps, sort_keys=True, default=str).encode()).hexdigest()[:12]
    name = f"{key}-{digest}"
    if name not in _vds:
        ctx = gx_context()
        suite = ctx.suites.add(ExpectationSuite(name=name, expectations=exps))
        ds = ctx.data_sources.add_or_update_pandas(f"ds-{name}")
        bd = ds.add_dataframe_asset(name).add_batch_definition_whole_dataframe("all")
        _vds[name] = ctx.validation_definitions.add(
            gx.ValidationDefinition(name=f"vd-{name}", data=bd, suite=suite)
        )
    return _vds[name]


def run_suites(
    batches: dict[str, pd.DataFrame], suites: dict[str, dict[str, Any]], params: dict[str, Any]
) -> pd.DataFrame:
    records: list[dict[str, Any]] = []
    for key, df in batches.items():
        if key not in suites or df is None or df.empty:
            continue
        exps = needed_expectations(suites[key], df, params)
        if not exps:
            continue
        # GX sees only the rows that might fail some expectation: every expectation here
        # is row-wise (unique: all occurrences of a duplicate are suspects), so its
        # failures on this subset are exactly its failures on the whole batch.
        keep = np.zeros(len(df), dtype=bool)
        for e in exps:
            mask = suspect_rows(e, df, params)
            if mask is None:
                keep[:] = True
                break
            keep |= mask
        batch = df if keep.all() else df[keep]
        vd = _validation_definition(key, exps)
        result = vd.run(
            batch_parameters={"dataframe": batch},
            expectation_parameters=params,
            result_format={"result_format": "COMPLETE", "unexpected_index_column_names": ["_uid"]},
        )
        for r in result.results:
            cfg = r.expectation_config
            if r.exception_info and r.exception_info.get("raised_exception"):
                log.error(
                    "GX expectation %s on %s raised: %s",
                    cfg.type,
                    key,
                    r.exception_info.get("exception_message"),
                )
                continue
            if r.success:
                continue
            meta = cfg.meta or {}
            severity = (
                "warning"
                if str(getattr(cfg.severity, "value", cfg.severity)).lower() == "warning"
                else "error"
            )
            for hit in r.result.get("unexpected_index_list") or []:
                records.append(
                    {
                        "sheet_key": key,
                        "_uid": int(hit["_uid"]),
                        "column": meta.get("column", cfg.kwargs.get("column")),
                        "kind": meta.get("kind", "value"),
                        "rule": meta.get("rule", cfg.type),
                        "message": meta.get("message", ""),
                        "severity": severity,
                    }
                )
    return pd.DataFrame(records, columns=FAILURE_COLUMNS)
