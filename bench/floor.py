"""The floor: read every cell with the fastest reader, bulk-load the rows (child process).

In: a raw folder (`<period>/*.xlsx`), the config folder (workbook layout) and a
warehouse URL (an empty SQLite file or PostgreSQL schema). Out: one table per sheet
key (`floor_<key>`: county, period, Excel row, then the sheet's columns, typed by the
layout: numbers float, dates date, everything else text) with every data row of every
workbook, loaded in ONE transaction: binary COPY on PostgreSQL, one `executemany` on
SQLite. Only the minimum conversion a load needs; no validation, no derivation.
Prints one line with the file and row counts.

    python -m bench.floor --raw DIR --config DIR --url URL
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path
from typing import Any

import python_calamine as pc
from sqlalchemy import create_engine

from fivestar import cells
from fivestar.config import SheetSpec, load_rulebook

NUMERIC = ("int", "num", "rate")


def _ddl_type(t: str, pg: bool) -> str:
    if t in NUMERIC:
        return "DOUBLE PRECISION" if pg else "REAL"
    return "DATE" if t == "date" else "TEXT"


def _converters(spec: SheetSpec, header: list[Any]) -> list[tuple[int, str]]:
    pos = {cells.normalise_header(h): i for i, h in enumerate(header)}
    return [(pos.get(cells.normalise_header(c.header), -1), c.type) for c in spec.columns]


def _value(v: Any, t: str) -> Any:
    if v == "" or v is None:
        return None
    if t in NUMERIC:
        return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None
    if t == "date":
        if isinstance(v, dt.datetime):
            return v.date()
        return v if isinstance(v, dt.date) else None
    return v if isinstance(v, str) else str(v)


def read_all(raw: Path, specs: dict[str, SheetSpec]) -> tuple[dict[str, list[tuple[Any, ...]]], int]:
    """Rows per sheet key: (county, period, excel row, values...)."""
    out: dict[str, list[tuple[Any, ...]]] = {k: [] for k in specs}
    by_sheet = {cells.normalise_header(s.sheet): k for k, s in specs.items()}
    files = 0
    for path in sorted(raw.glob("*/*.xlsx")):
        county, period = path.name[:6], path.parent.name
        try:
            book = pc.CalamineWorkbook.from_path(str(path))
        except Exception:
            continue
        files += 1
        for name in book.sheet_names:
            key = by_sheet.get(cells.normalise_header(name))
            if key is None:
                continue
            rows = book.get_sheet_by_name(name).to_python()
            if not rows:
                continue
            conv = _converters(specs[key], rows[0])
            dest = out[key]
            for n, r in enumerate(rows[1:], start=2):
                m = len(r)
                dest.append((county, period, n, *(_value(r[i], t) if 0 <= i < m else None for i, t in conv)))
        book.close()
    return out, files


def load_all(url: str, specs: dict[str, SheetSpec], rows: dict[str, list[tuple[Any, ...]]]) -> int:
    engine = create_engine(url)
    pg = engine.dialect.name == "postgresql"
    total = 0
    with engine.begin() as conn:
        raw = conn.connection.driver_connection
        cur = raw.cursor()
        for key, spec in specs.items():
            cols = ["county_code TEXT", "period TEXT", "sheet_row INTEGER"]
            cols += [f"{c.key} {_ddl_type(c.type, pg)}" for c in spec.columns]
            cur.execute(f"CREATE TABLE floor_{key} ({', '.join(cols)})")
            data = rows[key]
            total += len(data)
            if pg:
                types = ["text", "text", "int4"] + [
                    "float8" if c.type in NUMERIC else "date" if c.type == "date" else "text"
                    for c in spec.columns
                ]
                with cur.copy(f"COPY floor_{key} FROM STDIN (FORMAT BINARY)") as copy:
                    copy.set_types(types)
                    for r in data:
                        copy.write_row(r)
            else:
                marks = ", ".join("?" for _ in range(3 + len(spec.columns)))
                cur.executemany(f"INSERT INTO floor_{key} VALUES ({marks})", [_sqlite_row(r) for r in data])
        cur.close()
    engine.dispose()
    return total


def _sqlite_row(r: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(v.isoformat()[:10] if isinstance(v, dt.date) else v for v in r)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.floor")
    ap.add_argument("--raw", type=Path, required=True)
    ap.add_argument("--config", type=Path, required=True)
    ap.add_argument("--url", required=True)
    args = ap.parse_args(argv)
    specs = load_rulebook(args.config).sheets
    t0 = time.perf_counter()
    rows, files = read_all(args.raw, specs)
    t1 = time.perf_counter()
    total = load_all(args.url, specs, rows)
    t2 = time.perf_counter()
    print(f"floor: files={files} rows={total} read_s={t1 - t0:.1f} load_s={t2 - t1:.1f}")


if __name__ == "__main__":
    main()
