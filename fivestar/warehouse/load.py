"""Loading facts of submission versions, and reading back current facts.

In: a submission record (dict), its fact frames (roster, indicators, ledger, vetoes,
explanations; design.md shapes plus provenance columns) and its findings frame.
Out: warehouse rows written in one transaction per version, with the version statuses
of that county-month recomputed (submission.md: the current version is the
highest-numbered accepted one; older accepted ones are `superseded`), and a
`derive_queue` entry. Readers: `known_versions`, `current_facts`,
`previous_accepted_period` (`current_facts(..., county_codes=[...], lean=True)` reads many
counties' design.md columns at once, through COPY on PostgreSQL). Also the registry copy
and the `run` log.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd
from sqlalchemy import DateTime, bindparam, text
from sqlalchemy.engine import Connection, Engine

from fivestar.cells import mask_ids_in
from fivestar.status import ACCEPTED_STATUSES_SQL
from fivestar.status import SubmissionStatus as S
from fivestar.warehouse import dialect, tables
from fivestar.warehouse.bulk import insert_frame
from fivestar.warehouse.retry import retrying, with_retry

LOAD_TRIES = 5

# Keys of the `facts` dict accepted by load_version -> table. The indicator sheets may come
# separately or already combined; all are stored in the long table indicator_value.
FACT_KEYS = {
    "roster": "roster",
    "indicators": "indicator_value",
    "village_indicators": "indicator_value",
    "community_indicators": "indicator_value",
    "ledger": "ledger",
    "vetoes": "vetoes",
    "explanations": "explanations",
}
_DATE_COLUMNS = {"ledger": ("event_date",), "vetoes": ("event_date",)}
_INT_COLUMNS = {
    "roster": ("members", "households", "secretary_age", "sheet_row"),
    "indicator_value": ("sheet_row",),
    "ledger": ("seq", "sheet_row"),
    "vetoes": ("seq", "sheet_row"),
    "explanations": ("seq", "sheet_row"),
}


# ----------------------------------------------------------------------------- helpers
def now() -> dt.datetime:
    """Naive local time, second precision: the warehouse's timestamp convention."""
    return dt.datetime.now().replace(microsecond=0)


def _local_naive(value: Any) -> Any:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, str):
        value = pd.Timestamp(value)
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        # TIMESTAMP columns hold no zone: store the local wall time.
        value = value.astimezone().replace(tzinfo=None)
    return value


def _ts(sql: str, *names: str) -> Any:
    """text() whose named parameters are timestamps (SQLite stores them as ISO text)."""
    return text(sql).bindparams(*(bindparam(n, type_=DateTime()) for n in names))


def year_of(period: str) -> int:
    return int(str(period)[:4])


def _key_params(county_code: str, period: str, version: int) -> dict[str, Any]:
    return {"c": county_code, "p": period, "v": int(version)}


_KEY_WHERE = "county_code = :c AND period = :p AND version = :v"


def enqueue(conn: Connection, pairs: Iterable[tuple[str, int]]) -> None:
    """Add (county_code, year) entries to derive_queue; existing ones stay."""
    rows = [{"c": c, "y": int(y), "t": now()} for c, y in sorted(set(pairs))]
    if rows:
        conn.execute(
            _ts(
                "INSERT INTO derive_queue (county_code, year, enqueued_at) VALUES (:c, :y, :t) "
                "ON CONFLICT (county_code, year) DO NOTHING",
                "t",
            ),
            rows,
        )


def _cell_only(cell: Any) -> str:
    # rpt_dq_issue promises 'F12', never '村指标!F12'.
    s = "" if cell is None or (not isinstance(cell, str) and pd.isna(cell)) else str(cell)
    return s.rsplit("!", 1)[-1]


# ----------------------------------------------------------------------------- readers
@retrying
def known_versions(engine: Engine) -> pd.DataFrame:
    """Every recorded version: county_code, period, version, file_sha256, status, file_name."""
    with engine.connect() as conn:
        df = pd.read_sql(
            text(
                "SELECT county_code, period, version, file_sha256, status, file_name "
                "FROM submission ORDER BY county_code, period, version"
            ),
            conn,
        )
    df["version"] = df["version"].astype(int)
    return df


@retrying
def previous_accepted_period(engine: Engine, county_code: str, period: str) -> str | None:
    """The nearest month before `period` that has a current version for this county."""
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT MAX(period) FROM submission "
                f"WHERE county_code = :c AND period < :p AND status IN {ACCEPTED_STATUSES_SQL}"
            ),
            {"c": county_code, "p": period},
        ).scalar_one_or_none()


_FACT_SELECT = {
    # design.md fact-frame columns first, provenance after.
    "roster": (
        "roster",
        [
            "county_code", "period", "version", "branch_code", "branch_name", "branch_type",
            "township", "members", "households", "secretary_name", "secretary_age", "sheet_row",
        ],
        "f.county_code, f.period, f.sheet_row, f.branch_code",
    ),
    "indicators": (
        "indicator_value",
        [
            "county_code", "period", "version", "branch_code", "indicator_key", "value",
            "sheet", "sheet_row", "cell",
        ],
        "f.county_code, f.period, f.branch_code, f.indicator_key",
    ),
    "ledger": (
        "ledger",
        [
            "county_code", "period", "version", "seq", "event_date", "branch_code",
            "subject_type", "subject_id", "item_code", "points", "note", "sheet_row",
        ],
        "f.county_code, f.period, f.event_date, f.seq",
    ),
    "vetoes": (
        "vetoes",
        ["county_code", "period", "version", "seq", "event_date", "branch_code", "veto_code", "note", "sheet_row"],
        "f.county_code, f.period, f.seq",
    ),
    "explanations": (
        "explanations",
        ["county_code", "period", "version", "seq", "location", "note", "sheet_row"],
        "f.county_code, f.period, f.seq",
    ),
}  # fmt: skip


def _int_column(s: pd.Series) -> pd.Series:
    s = pd.to_numeric(s)
    return s.astype("int64") if not s.isna().any() else s.astype("Int64")


_INT_FACT_COLUMNS = ("version", "seq", "members", "households", "secretary_age", "sheet_row")
_FLOAT_FACT_COLUMNS = ("value", "points")


def _typed_facts(name: str, df: pd.DataFrame) -> pd.DataFrame:
    for c in _INT_FACT_COLUMNS:
        if c in df:
            df[c] = _int_column(df[c])
    for c in _FLOAT_FACT_COLUMNS:
        if c in df:
            df[c] = pd.to_numeric(df[c]).astype("float64")
    if "event_date" in df:
        df["event_date"] = pd.to_datetime(df["event_date"]).astype("datetime64[ns]")
    return df


# The design.md fact frames (what scoring and tallies read): no provenance, no free text.
LEAN_COLUMNS = {
    "roster": (
        "county_code", "period", "version", "branch_code", "branch_name", "branch_type",
        "township", "members", "households",
    ),
    "indicators": ("county_code", "period", "version", "branch_code", "indicator_key", "value"),
    "ledger": (
        "county_code", "period", "version", "seq", "event_date", "branch_code", "subject_type",
        "subject_id", "item_code", "points",
    ),
    "vetoes": ("county_code", "period", "version", "seq", "event_date", "branch_code", "veto_code"),
}  # fmt: skip


@retrying
def current_facts(
    engine: Engine,
    county_code: str | None = None,
    periods: list[str] | None = None,
    *,
    county_codes: Iterable[str] | None = None,
    lean: bool = False,
) -> dict[str, pd.DataFrame]:
    """Fact frames (roster, indicators, ledger, vetoes, explanations) of current versions.

    Current = status accepted or accepted_with_warnings (one per county-month).
    `county_codes`: several counties at once (with or instead of `county_code`).
    `lean`: only the design.md columns of roster, indicators, ledger and vetoes (what
    derivation reads; no provenance or free text, and no explanations frame).
    """
    counties = None
    if county_codes is not None:
        counties = sorted({*county_codes, *([county_code] if county_code is not None else [])})
    out: dict[str, pd.DataFrame] = {}
    with engine.connect() as conn:
        for name, (table, cols, order) in _FACT_SELECT.items():
            if lean:
                if name not in LEAN_COLUMNS:
                    continue
                cols = [c for c in cols if c in LEAN_COLUMNS[name]]
            where = [f"s.status IN {ACCEPTED_STATUSES_SQL}"]
            params: dict[str, Any] = {}
            if counties is not None:
                where.append("f.county_code IN :counties")
                params["counties"] = counties or ["-"]
            elif county_code is not None:
                where.append("f.county_code = :county")
                params["county"] = county_code
            if periods is not None:
                where.append("f.period IN :periods")
                params["periods"] = list(periods) or ["-"]
            select = (
                f"SELECT {', '.join('f.' + c for c in cols)} FROM {table} f "
                "JOIN submission s ON s.county_code = f.county_code AND s.period = f.period "
                "AND s.version = f.version "
                f"WHERE {' AND '.join(where)} ORDER BY {order}"
            )
            if lean and dialect.is_postgres(conn):
                # Numbers parsed by the CSV reader itself (far cheaper than to_numeric on text).
                numeric = [c for c in cols if c in (*_INT_FACT_COLUMNS, *_FLOAT_FACT_COLUMNS)]
                out[name] = _typed_facts(name, _copy_out(conn, select, params, numeric)).reset_index(
                    drop=True
                )
                continue
            sql = text(select)
            if periods is not None:
                sql = sql.bindparams(bindparam("periods", expanding=True))
            if counties is not None:
                sql = sql.bindparams(bindparam("counties", expanding=True))
            df = pd.read_sql(sql, conn, params=params)
            out[name] = _typed_facts(name, df).reset_index(drop=True)
    return out


def _copy_out(
    conn: Connection, select: str, params: dict[str, Any], numeric: Iterable[str] = ()
) -> pd.DataFrame:
    """Run a SELECT (SQLAlchemy `:name` parameters; lists for `IN :name`) through
    PostgreSQL `COPY … TO STDOUT` as CSV and parse it with pandas' C reader: several
    times faster than fetching rows through the driver (1.5 M ledger rows a month).
    Every column comes back as text (NULL → NaN), but `numeric` ones as float64; callers
    convert the types. A text value that is literally `\\N` reads as NULL (the only
    difference to fetching rows).
    """
    import io
    import re

    def placeholder(m: re.Match[str]) -> str:
        name = m.group(2)
        return f"= ANY(%({name})s)" if m.group(1) else f"%({name})s"

    sql = re.sub(r"(IN\s+)?:(\w+)", placeholder, select)
    buf = io.BytesIO()
    raw = conn.connection.driver_connection
    with (
        raw.cursor() as cur,
        cur.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv, HEADER, NULL '\\N')", params) as cp,
    ):
        for block in cp:
            buf.write(block)
    buf.seek(0)
    dtypes: defaultdict[str, Any] = defaultdict(lambda: str, dict.fromkeys(numeric, "float64"))
    return pd.read_csv(buf, dtype=dtypes, keep_default_na=False, na_values=["\\N"])


# ----------------------------------------------------------------------------- load
def _prepare_fact(table: str, df: pd.DataFrame, key: Mapping[str, Any]) -> pd.DataFrame:
    """Pick the table's columns from a fact frame, set its version key, fix types."""
    missing = [c for c in tables.FACTS_REQUIRED[table] if c not in df.columns]
    if missing:
        raise ValueError(f"{table} frame lacks column(s) {missing}")
    df = df.reset_index(drop=True)  # a new frame: copy-on-write keeps the caller's intact
    for k, v in key.items():
        df[k] = v
    if table == "ledger":
        if "sheet_row" not in df:
            df["sheet_row"] = df["seq"]
        # A 支部 subject's id is its branch code (rulebook.md); never store NULL ids.
        sid = df["subject_id"] if "subject_id" in df else pd.Series("", index=df.index)
        sid = sid.astype(object).where(sid.notna() & (sid.astype(str) != ""), None)
        is_branch = df["subject_type"] == "支部"
        df["subject_id"] = sid.where(~is_branch | sid.notna(), df["branch_code"]).fillna("")
    if table in ("vetoes", "explanations") and "seq" not in df:
        df["seq"] = df["sheet_row"] if "sheet_row" in df else range(2, len(df) + 2)
    for c in _DATE_COLUMNS.get(table, ()):
        if c in df:
            # DATE columns: datetime.date values (vectorised; NaT stays missing).
            df[c] = pd.to_datetime(df[c]).dt.date
    for c in _INT_COLUMNS.get(table, ()):
        if c in df:
            df[c] = pd.to_numeric(df[c]).astype("Int64")
    if table == "indicator_value":
        df["value"] = pd.to_numeric(df["value"]).astype("float64")
        if "cell" in df:
            df["cell"] = df["cell"].map(_cell_only)
    if table == "ledger":
        df["points"] = pd.to_numeric(df["points"]).astype("float64")
    return df[[c for c in tables.FACTS[table] if c in df.columns]]


def _prepare_facts(facts: Mapping[str, pd.DataFrame], key: Mapping[str, Any]) -> dict[str, pd.DataFrame]:
    parts: dict[str, list[pd.DataFrame]] = {}
    for name, df in facts.items():
        table = FACT_KEYS.get(name)
        if table is None or df is None or len(df) == 0:
            continue  # e.g. the cover: it lives on the submission row
        parts.setdefault(table, []).append(_prepare_fact(table, df, key))
    return {t: pd.concat(p, ignore_index=True) if len(p) > 1 else p[0] for t, p in parts.items()}


def _prepare_issues(findings: pd.DataFrame | None, key: Mapping[str, Any]) -> pd.DataFrame:
    if findings is None or len(findings) == 0:
        return pd.DataFrame(columns=list(tables.DQ_ISSUE))
    f = findings.reset_index(drop=True)

    def col(name: str, default: Any = "") -> pd.Series:
        return f[name] if name in f else pd.Series(default, index=f.index)

    out = pd.DataFrame(
        {
            **{k: v for k, v in key.items()},
            "seq": range(1, len(f) + 1),
            "severity": col("severity").astype(str),
            "sheet": col("sheet").fillna("").astype(str),
            "row_number": pd.to_numeric(col("row", None)).astype("Int64"),
            "cell": col("cell").map(_cell_only),
            "column_name": col("column_name").fillna("").astype(str),
            "value": col("value").fillna("").astype(str),
            "rule": col("rule").fillna("").astype(str),
            "message": col("message").fillna("").astype(str),
            "explained": col("explained", False).fillna(False).astype(bool),
            "branch_code": col("branch_code").fillna("").astype(str),
        }
    )
    return out[list(tables.DQ_ISSUE)]


def _restatus(conn: Connection, county_code: str, period: str) -> None:
    """Recompute statuses of one county-month: the highest accepted version is current."""
    rows = conn.execute(
        text("SELECT version, status, warnings FROM submission WHERE county_code = :c AND period = :p"),
        {"c": county_code, "p": period},
    ).all()
    accepted = [r for r in rows if r.status != S.REJECTED]
    top = max((r.version for r in accepted), default=None)
    for r in accepted:
        want = (S.ACCEPTED_WITH_WARNINGS if r.warnings else S.ACCEPTED) if r.version == top else S.SUPERSEDED
        if want != r.status:
            conn.execute(
                text(f"UPDATE submission SET status = :s WHERE {_KEY_WHERE}"),
                {"s": want, **_key_params(county_code, period, r.version)},
            )


def load_version(
    engine: Engine, sub: dict[str, Any], facts: dict[str, pd.DataFrame], findings: pd.DataFrame
) -> str:
    """Record one file version with its findings and (unless rejected) its facts.

    One transaction: replaces any earlier load of the same (county_code, period, version)
    (so a --force reprocess is idempotent), recomputes the statuses of the county-month
    and enqueues (county_code, year) for derivation. Status: `rejected` if any finding is
    an error (or sub["status"] says rejected), else `accepted_with_warnings` if any
    warning, else `accepted`; returns the status after recomputation (`superseded` when
    an older version is reloaded while a newer accepted one exists).
    """
    county_code, period, version = str(sub["county_code"]), str(sub["period"]), int(sub["version"])
    key = {"county_code": county_code, "period": period, "version": version}
    issues = _prepare_issues(findings, key)
    errors = int((issues["severity"] == "error").sum())
    warnings = int((issues["severity"] == "warning").sum())
    rejected = errors > 0 or sub.get("status") == S.REJECTED
    status = S.REJECTED if rejected else (S.ACCEPTED_WITH_WARNINGS if warnings else S.ACCEPTED)
    # Nothing of a rejected version is loaded (submission.md "Severity").
    fact_frames = {} if rejected else _prepare_facts(facts, key)

    record = {c: sub.get(c) for c in tables.SUBMISSION}
    record.update(key)
    record.update(
        status=status,
        errors=errors,
        warnings=warnings,
        received_at=_local_naive(sub.get("received_at")),
        processed_at=_local_naive(sub.get("processed_at")) or now(),
    )
    record_df = pd.DataFrame([record], columns=list(tables.SUBMISSION))

    def tx() -> str:
        with engine.begin() as conn:
            params = _key_params(county_code, period, version)
            for table in (*tables.FACTS, "dq_issue", "submission"):
                conn.execute(text(f"DELETE FROM {table} WHERE {_KEY_WHERE}"), params)
            insert_frame(conn, "submission", record_df)
            insert_frame(conn, "dq_issue", issues)
            for table, df in fact_frames.items():
                insert_frame(conn, table, df)
            _restatus(conn, county_code, period)
            enqueue(conn, [(county_code, year_of(period))])
            return conn.execute(
                text(f"SELECT status FROM submission WHERE {_KEY_WHERE}"), params
            ).scalar_one()

    # One county's load is worth waiting for: 5 tries bridge a ~7 s loss of the warehouse.
    return with_retry(tx, tries=LOAD_TRIES)


# ----------------------------------------------------------------------------- registry, runs
@retrying
def sync_registry(engine: Engine, registry: Any) -> int:
    """Replace registry_region with registry.regions (config/registry.csv); returns rows."""
    regions = registry.regions if hasattr(registry, "regions") else registry
    df = pd.DataFrame({c: regions.get(c) for c in tables.REGISTRY_REGION})
    for c in ("parent_code", "branch_type", "township"):
        df[c] = df[c].astype(object).where(df[c].notna() & (df[c].astype(str).str.strip() != ""), None)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM registry_region"))
        return insert_frame(conn, "registry_region", df)


def _json_text(value: Any) -> str | None:
    if value is None:
        return value
    text = (
        value
        if isinstance(value, str)
        else json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)
    )
    # A run's error text may quote a file name that holds a resident ID.
    return mask_ids_in(text)


@retrying
def start_run(
    engine: Engine,
    params: Mapping[str, Any] | None = None,
    rulebook_hash: str | None = None,
    run_id: str | None = None,
) -> str:
    """Insert a `run` row (outcome 'running') and return its run_id.

    Called under the run lock, so any row still 'running' belongs to a run that died
    (e.g. kill -9): it is closed as 'abandoned'.
    """
    run_id = run_id or f"{dt.datetime.now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    with engine.begin() as conn:
        conn.execute(
            _ts("UPDATE run SET outcome = 'abandoned', finished_at = :t WHERE outcome = 'running'", "t"),
            {"t": now()},
        )
        conn.execute(
            _ts(
                "INSERT INTO run (run_id, started_at, params, outcome, rulebook_hash) "
                "VALUES (:r, :t, :p, 'running', :h)",
                "t",
            ),
            {"r": run_id, "t": now(), "p": _json_text(dict(params or {})), "h": rulebook_hash},
        )
    return run_id


@retrying
def finish_run(engine: Engine, run_id: str, outcome: str, summary: Any = None) -> None:
    """Close a run: finished_at, outcome ('completed' | 'failed'), summary (JSON text)."""
    with engine.begin() as conn:
        conn.execute(
            _ts("UPDATE run SET finished_at = :t, outcome = :o, summary = :s WHERE run_id = :r", "t"),
            {"t": now(), "o": outcome, "s": _json_text(summary), "r": run_id},
        )
