"""Loading the facts of submission versions (one transaction per version).

In: a submission record (dict), its fact frames (roster, indicators, ledger, vetoes,
explanations; design.md shapes plus provenance columns) and its findings frame.
Out: warehouse rows written in one transaction per version, with the version statuses
of that county-month recomputed (submission.md: the current version is the
highest-numbered accepted one; older accepted ones are `superseded`), and a
`derive_queue` entry (`enqueue`). Reading facts back: `facts.py`; the run log:
`runs.py`; the registry copy: `registry.py`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from fivestar.status import SubmissionStatus as S
from fivestar.warehouse import tables
from fivestar.warehouse.bulk import insert_frame
from fivestar.warehouse.retry import with_retry
from fivestar.warehouse.timestamps import now, timestamp_text, utc_naive

# The noqa'd imports above keep those names importable from here until flows/ and tasks/
# import them from fivestar.warehouse (or facts/runs/registry); nothing else should.

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
            timestamp_text(
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
    # Rejected versions and late_closed ones (not loaded) never become current.
    accepted = [r for r in rows if r.status not in (S.REJECTED, S.LATE_CLOSED)]
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
        received_at=utc_naive(sub.get("received_at")),
        processed_at=utc_naive(sub.get("processed_at")) or now(),
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
