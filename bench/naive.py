"""The naive baseline a competent analyst would write (run as a child process).

In: a raw folder (`<period>/*.xlsx`), the config folder (workbook layout) and a
warehouse URL (an empty SQLite file or PostgreSQL schema). Out: one table per sheet
(`naive_<sheet key>`) holding every data row of every workbook, after the same Great
Expectations suites (`expectations/*.json`, every expectation whose column exists)
ran on each county's sheet; prints one line with the row and failure counts.

Per file: `pandas.ExcelFile(engine="openpyxl")`, `parse` per sheet with codes kept as
text, headers renamed to keys, numbers and dates coerced; per county and sheet one GX
validation (COMPLETE result format, so failing rows are known); `DataFrame.to_sql`.

    python -m bench.naive --raw DIR --config DIR --url URL
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import create_engine

from fivestar import cells
from fivestar.config import SheetSpec, load_rulebook

SUITES_DIR = Path(__file__).resolve().parents[1] / "expectations"
TEXT_TYPES = ("code", "text", "choice", "yesno")


def _typed(df: pd.DataFrame, spec: SheetSpec) -> pd.DataFrame:
    by_header = {cells.normalise_header(c.header): c for c in spec.columns}
    df = df.rename(
        columns={
            h: by_header[cells.normalise_header(h)].key
            for h in df.columns
            if cells.normalise_header(h) in by_header
        }
    )
    df = df[[c.key for c in spec.columns if c.key in df.columns]].copy()
    for c in spec.columns:
        if c.key not in df.columns:
            continue
        if c.type in ("int", "num", "rate"):
            df[c.key] = pd.to_numeric(df[c.key], errors="coerce")
        elif c.type == "date":
            df[c.key] = pd.to_datetime(df[c.key], errors="coerce")
        else:
            df[c.key] = df[c.key].astype("string").str.strip().astype(object).where(df[c.key].notna(), None)
    df.insert(0, "_row", range(2, len(df) + 2))
    return df


class _Gx:
    """One ephemeral context; one validation definition per sheet key."""

    def __init__(self) -> None:
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        logging.getLogger("great_expectations").setLevel(logging.ERROR)
        self.gx = gx
        self.ctx = gx.get_context(mode="ephemeral")
        self.ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
        self.vds: dict[str, Any] = {}

    def run(self, key: str, df: pd.DataFrame, params: dict[str, Any]) -> int:
        from great_expectations.core.expectation_suite import ExpectationSuite

        if key not in self.vds:
            suite = json.loads((SUITES_DIR / f"{key}.json").read_text(encoding="utf-8"))
            exps = [e for e in suite["expectations"] if e["kwargs"].get("column") in df.columns]
            s = self.ctx.suites.add(ExpectationSuite(name=key, expectations=exps))
            bd = (
                self.ctx.data_sources.add_pandas(f"ds-{key}")
                .add_dataframe_asset(key)
                .add_batch_definition_whole_dataframe("all")
            )
            self.vds[key] = self.ctx.validation_definitions.add(
                self.gx.ValidationDefinition(name=f"vd-{key}", data=bd, suite=s)
            )
        res = self.vds[key].run(
            batch_parameters={"dataframe": df},
            expectation_parameters=params,
            result_format={"result_format": "COMPLETE", "unexpected_index_column_names": ["_row"]},
        )
        return sum(len(r.result.get("unexpected_index_list") or []) for r in res.results if not r.success)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.naive")
    ap.add_argument("--raw", type=Path, required=True)
    ap.add_argument("--config", type=Path, required=True)
    ap.add_argument("--url", required=True)
    args = ap.parse_args(argv)
    rb = load_rulebook(args.config)
    engine = create_engine(args.url)
    gx = _Gx()
    rows = failures = files = 0
    t0 = time.perf_counter()
    for path in sorted(args.raw.glob("*/*.xlsx")):
        period, county = path.parent.name, path.name[:6]
        start, end = cells.month_bounds(period)
        params = {"month_start": pd.Timestamp(start).isoformat(), "month_end": pd.Timestamp(end).isoformat()}
        try:
            book = pd.ExcelFile(path, engine="openpyxl")
        except Exception as exc:  # a broken file is skipped, as an analyst would
            print(f"skip {path.name}: {type(exc).__name__}")
            continue
        with book:
            names = {cells.normalise_header(n): n for n in book.sheet_names}
            for key, spec in rb.sheets.items():
                actual = names.get(cells.normalise_header(spec.sheet))
                if actual is None:
                    continue
                text_cols = {c.header: str for c in spec.columns if c.type in TEXT_TYPES}
                df = _typed(book.parse(actual, dtype=text_cols, keep_default_na=False, na_values=[""]), spec)
                if "branch_code" in df.columns:
                    df["branch_code__in_file"] = df["branch_code"]
                failures += gx.run(key, df, params)
                df = df.drop(columns=[c for c in df.columns if c.endswith("__in_file")])
                df.insert(0, "period", period)
                df.insert(0, "county_code", county)
                df.to_sql(f"naive_{key}", engine, if_exists="append", index=False, chunksize=10_000)
                rows += len(df)
        files += 1
    engine.dispose()
    print(f"naive: files={files} rows={rows} gx_failures={failures} seconds={time.perf_counter() - t0:.1f}")


if __name__ == "__main__":
    main()
