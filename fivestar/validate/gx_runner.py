"""Run the per-sheet Great Expectations suites over all files of a run at once.

In: one DataFrame per sheet key (rows of every file, with a unique `_uid`), the
suite dicts from `expectations/`, and runtime parameters (month bounds). Out: a
DataFrame of failures: sheet_key, _uid, column, kind, rule, message, severity
('error' for GX critical, 'warning' for GX warning). GX is imported lazily: it
costs seconds and ~230 MB, so nothing imports it until validation runs.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

log = logging.getLogger(__name__)
FAILURE_COLUMNS = ["sheet_key", "_uid", "column", "kind", "rule", "message", "severity"]
_context: Any = None


def _gx_context() -> Any:
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


def _validation_definition(key: str, suite_dict: dict[str, Any], columns: tuple[str, ...]) -> Any:
    """One suite + validation definition per sheet and column set, reused across runs."""
    import hashlib
    import json

    import great_expectations as gx
    from great_expectations.core.expectation_suite import ExpectationSuite

    present = set(columns)
    exps = [dict(e) for e in suite_dict["expectations"] if e["kwargs"].get("column") in present]
    digest = hashlib.sha1(json.dumps(exps, sort_keys=True, default=str).encode()).hexdigest()[:12]
    name = f"{key}-{digest}"
    if name not in _vds:
        ctx = _gx_context()
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
        vd = _validation_definition(key, suites[key], tuple(df.columns))
        result = vd.run(
            batch_parameters={"dataframe": df},
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
