"""Warehouse schema, engine and bulk insert on SQLite and PostgreSQL.

In: the `warehouse_url` / `warehouse_engine` fixtures (conftest.py). Out: checks that
sql/*.sql applies idempotently, matches fivestar.warehouse.tables and the interfaces.md
view contract, that engines are configured as promised and that insert_frame stores
NA/NaN/NaT as NULL and numpy values as plain values.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from fivestar.warehouse import (
    WarehouseUnavailable,
    check_reachable,
    ensure_schema,
    insert_frame,
    make_engine,
    safe_url,
    tables,
)
from fivestar.warehouse.dialect import split_statements
from fivestar.warehouse.views import view_contracts


def _relations(engine: Engine) -> tuple[list[str], list[str]]:
    insp = sa.inspect(engine)
    return sorted(insp.get_table_names()), sorted(insp.get_view_names())


def test_ensure_schema_is_idempotent(warehouse_engine: Engine) -> None:
    before = _relations(warehouse_engine)
    with warehouse_engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO meta (key, value) VALUES ('probe', 'kept')"))
    ensure_schema(warehouse_engine)
    ensure_schema(warehouse_engine)
    assert _relations(warehouse_engine) == before
    assert set(before[0]) == {*tables.ALL_TABLES, "alembic_version"}  # Alembic's revision
    assert set(before[1]) == set(view_contracts())
    with warehouse_engine.connect() as conn:
        assert conn.execute(sa.text("SELECT value FROM meta WHERE key = 'probe'")).scalar() == "kept"


def test_tables_match_python_column_lists(warehouse_engine: Engine) -> None:
    insp = sa.inspect(warehouse_engine)
    for table, cols in tables.ALL_TABLES.items():
        assert tuple(c["name"] for c in insp.get_columns(table)) == cols, table


def test_alert_delivery_ids_are_generated(warehouse_engine: Engine) -> None:
    with warehouse_engine.begin() as conn:
        for attempt in (1, 2):
            conn.execute(
                sa.text(
                    "INSERT INTO alert_delivery (run_id, county_code, period, version, channel, recipient, "
                    "attempt, outcome) VALUES ('r', '410522', '2026-11', 1, 'email', 'a@b.c', :a, 'sent')"
                ),
                {"a": attempt},
            )
        ids = conn.execute(sa.text("SELECT id FROM alert_delivery ORDER BY id")).scalars().all()
    assert len(set(ids)) == 2 and all(i is not None for i in ids)


def test_insert_frame_converts_missing_and_numpy_values(warehouse_engine: Engine) -> None:
    df = pd.DataFrame(
        {
            "county_code": ["410522", "410522", "410522"],
            "period": ["2026-11"] * 3,
            "version": np.array([1, 1, 1], dtype=np.int64),
            "seq": pd.array([2, 3, 4], dtype="Int64"),
            "event_date": [dt.date(2026, 11, 5), None, dt.date(2026, 11, 30)],
            "branch_code": ["410522100001"] * 3,
            "subject_type": ["支部", "户", "党员"],
            "subject_id": ["410522100001", "H1", "DY1"],
            "item_code": ["ZB01", "HH01", "DY01"],
            "points": [np.float64(2.0), np.nan, np.float64(-1.5)],
            "note": ["", None, pd.NA],
            "sheet_row": pd.array([2, None, 4], dtype="Int64"),
        }
    )
    with warehouse_engine.begin() as conn:
        assert insert_frame(conn, "ledger", df) == 3
        assert insert_frame(conn, "ledger", df.iloc[0:0]) == 0
    with warehouse_engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT seq, event_date, points, note, sheet_row FROM ledger ORDER BY seq")
        ).all()
    assert [r.seq for r in rows] == [2, 3, 4]
    assert str(rows[0].event_date)[:10] == "2026-11-05" and rows[1].event_date is None
    assert rows[0].points == 2.0 and rows[1].points is None and rows[2].points == -1.5
    assert rows[0].note == "" and rows[1].note is None and rows[2].note is None
    assert rows[1].sheet_row is None and rows[2].sheet_row == 4


@pytest.mark.postgres
@pytest.mark.parametrize("warehouse_url", ["postgresql"], indirect=True)  # COPY is PostgreSQL's
def test_insert_frame_copies_binary_when_types_fit_else_text(
    warehouse_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL: binary COPY when every column's values fit its type, text COPY otherwise
    (here: a number in a text column, stored as its text). Both store the same values."""
    assert warehouse_engine.dialect.name == "postgresql"
    import psycopg

    binary: list[list[str]] = []
    real = psycopg.Copy.set_types
    monkeypatch.setattr(
        psycopg.Copy, "set_types", lambda self, types: binary.append(types) or real(self, types)
    )

    def frame(subject_id: object, seq: int) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "county_code": ["410522", "410522"],
                "period": ["2026-11"] * 2,
                "version": np.array([1, 1], dtype=np.int64),
                "seq": pd.array([seq, seq + 1], dtype="Int64"),
                "event_date": [dt.date(2026, 11, 5), None],
                "branch_code": ["410522100001"] * 2,
                "subject_type": ["户", "户"],
                "subject_id": [subject_id, "H2"],
                "item_code": ["HH01", "HH01"],
                "points": [2.5, np.nan],
                "note": pd.array(["说明", None], dtype="string"),
                "sheet_row": pd.array([seq, None], dtype="Int64"),
            }
        )

    with warehouse_engine.begin() as conn:
        insert_frame(conn, "ledger", frame("H1", 2))
        assert len(binary) == 1 and binary[0][:4] == ["text", "text", "int4", "int4"]
        insert_frame(conn, "ledger", frame(123, 4))  # an int in the text column subject_id
        assert len(binary) == 1  # text COPY this time
    with warehouse_engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT seq, event_date, subject_id, points, note, sheet_row FROM ledger ORDER BY seq")
        ).all()
    assert [tuple(r) for r in rows] == [
        (2, dt.date(2026, 11, 5), "H1", 2.5, "说明", 2),
        (3, None, "H2", None, None, None),
        (4, dt.date(2026, 11, 5), "123", 2.5, "说明", 4),
        (5, None, "H2", None, None, None),
    ]


def test_insert_frame_timestamps_and_booleans(warehouse_engine: Engine) -> None:
    df = pd.DataFrame(
        {
            "county_code": ["410522"],
            "period": ["2026-11"],
            "version": [1],
            "seq": [1],
            "severity": ["warning"],
            "explained": np.array([True]),
            "row_number": pd.array([None], dtype="Int64"),
        }
    )
    run = pd.DataFrame({"run_id": ["r1", "r2"], "started_at": pd.to_datetime(["2026-12-01 02:00:00", None])})
    run.loc[1, "started_at"] = pd.Timestamp("2026-12-02 02:00:05")
    run["finished_at"] = pd.Series([pd.NaT, pd.Timestamp("2026-12-02 02:10:00")])
    with warehouse_engine.begin() as conn:
        insert_frame(conn, "dq_issue", df)
        insert_frame(conn, "run", run)
    with warehouse_engine.connect() as conn:
        issue = conn.execute(sa.text("SELECT explained, row_number FROM dq_issue")).one()
        got = conn.execute(sa.text("SELECT run_id, started_at, finished_at FROM run ORDER BY run_id")).all()
    assert bool(issue.explained) is True and issue.row_number is None
    assert str(got[0].started_at).startswith("2026-12-01 02:00:00") and got[0].finished_at is None
    assert str(got[1].finished_at).startswith("2026-12-02 02:10:00")


def test_insert_frame_rejects_odd_identifiers(warehouse_engine: Engine) -> None:
    with warehouse_engine.begin() as conn, pytest.raises(ValueError):
        insert_frame(conn, "meta; DROP TABLE run", pd.DataFrame({"key": ["a"]}))


def test_sqlite_engine_creates_folder_and_uses_wal(tmp_path) -> None:
    path = tmp_path / "deep" / "er" / "w.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        check_reachable(engine)
        assert path.parent.is_dir()
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar().lower() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
    finally:
        engine.dispose()


def test_unreachable_warehouse_message_hides_password() -> None:
    url = "postgresql+psycopg://fivestar:s3cret-pw@127.0.0.1:1/warehouse"
    engine = make_engine(url)
    try:
        with pytest.raises(WarehouseUnavailable) as info:
            check_reachable(engine)
    finally:
        engine.dispose()
    msg = str(info.value)
    assert "s3cret-pw" not in msg
    assert "127.0.0.1:1/warehouse" in msg and "Cannot reach the warehouse" in msg
    assert "s3cret" not in safe_url(url)


def test_statement_splitter_ignores_comments() -> None:
    sql = "-- head; \nCREATE TABLE a (x TEXT); -- tail;\nSELECT '--;' AS y;\n"
    assert split_statements(sql) == ["CREATE TABLE a (x TEXT)", "SELECT '--;' AS y"]


@pytest.mark.parametrize("warehouse_url", ["postgresql"], indirect=True)  # grants exist on PostgreSQL only
def test_reader_grants_on_views_survive_ensure_schema(warehouse_engine: Engine) -> None:
    role = f"fs_reader_{uuid.uuid4().hex[:10]}"  # roles are cluster-wide: unique name
    with warehouse_engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE ROLE {role} NOLOGIN")
        conn.exec_driver_sql(f"GRANT SELECT ON rpt_submission, rpt_area_summary TO {role}")
    try:
        ensure_schema(warehouse_engine)
        with warehouse_engine.connect() as conn:
            got = {
                v: conn.execute(
                    sa.text("SELECT has_table_privilege(:r, :v, 'SELECT')"), {"r": role, "v": v}
                ).scalar()
                for v in ("rpt_submission", "rpt_area_summary", "rpt_dq_issue")
            }
        assert got == {"rpt_submission": True, "rpt_area_summary": True, "rpt_dq_issue": False}
    finally:
        with warehouse_engine.begin() as conn:
            conn.exec_driver_sql(f"DROP OWNED BY {role}")
            conn.exec_driver_sql(f"DROP ROLE {role}")


# ----------------------------------------------------------------------------- views under readers
def _view_hashes(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT key, value FROM meta WHERE key LIKE 'view_sha256:%'")).all()
    return dict(rows)


def test_views_are_left_alone_unless_their_sql_changed(warehouse_engine: Engine) -> None:
    hashes = _view_hashes(warehouse_engine)
    assert set(hashes) == {f"view_sha256:{v}" for v in view_contracts()}
    with warehouse_engine.begin() as conn:
        # Stand-in for an older release's text: a view the next ensure_schema must replace.
        conn.exec_driver_sql("DROP VIEW rpt_submission")
        conn.exec_driver_sql("CREATE VIEW rpt_submission AS SELECT county_code FROM submission")
        conn.execute(sa.text("UPDATE meta SET value = 'old' WHERE key = 'view_sha256:rpt_submission'"))
    ensure_schema(warehouse_engine)
    assert _view_hashes(warehouse_engine) == hashes
    with warehouse_engine.connect() as conn:
        cols = tuple(conn.execute(sa.text("SELECT * FROM rpt_submission WHERE 1 = 0")).keys())
    assert cols[: len(view_contracts()["rpt_submission"])] == view_contracts()["rpt_submission"]


@pytest.mark.parametrize(
    "warehouse_url", ["postgresql"], indirect=True
)  # temp views of readers: PostgreSQL only
def test_a_readers_temp_view_does_not_break_ensure_schema(
    warehouse_engine: Engine, warehouse_url: str
) -> None:
    """A BI session keeps a TEMP VIEW on rpt_submission: views are never dropped under it,
    an unchanged view is left alone and a changed one is replaced in place."""
    reader = make_engine(warehouse_url)
    try:
        with reader.connect() as bi:
            bi.exec_driver_sql("CREATE TEMP VIEW mine AS SELECT * FROM rpt_submission")
            bi.commit()
            ensure_schema(warehouse_engine)  # nothing changed
            with warehouse_engine.begin() as conn:  # as after an upgrade that changed the view's text
                conn.execute(sa.text("UPDATE meta SET value = 'old' WHERE key LIKE 'view_sha256:%'"))
            ensure_schema(warehouse_engine)
            assert bi.exec_driver_sql("SELECT count(*) FROM mine").scalar() == 0
    finally:
        reader.dispose()
    assert "old" not in _view_hashes(warehouse_engine).values()


@pytest.mark.parametrize(
    "warehouse_url", ["postgresql"], indirect=True
)  # dependants that block DROP VIEW: PostgreSQL only
def test_a_view_change_that_cannot_be_made_in_place(
    warehouse_engine: Engine, warehouse_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Columns PostgreSQL cannot replace in place: views are recreated with their grants;
    while a reader's object depends on them they are kept and a warning says why."""
    role = f"fs_reader_{uuid.uuid4().hex[:10]}"
    with warehouse_engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE ROLE {role} NOLOGIN")
        conn.exec_driver_sql(f"GRANT SELECT ON rpt_points_tally TO {role}")

    def older_release() -> None:  # rpt_points_tally had an extra column then
        with warehouse_engine.begin() as conn:
            body = conn.exec_driver_sql("SELECT pg_get_viewdef('rpt_points_tally')").scalar_one()
            conn.exec_driver_sql(
                f"CREATE OR REPLACE VIEW rpt_points_tally AS SELECT v.*, 1 AS gone FROM ({body.rstrip(';')}) v"
            )
            conn.execute(sa.text("UPDATE meta SET value = 'old' WHERE key = 'view_sha256:rpt_points_tally'"))

    reader = make_engine(warehouse_url)
    try:
        older_release()
        with reader.connect() as bi:
            bi.exec_driver_sql("CREATE TEMP VIEW mine AS SELECT * FROM rpt_points_tally")
            bi.commit()
            caplog.set_level(logging.INFO, logger="fivestar.warehouse.schema")
            ensure_schema(warehouse_engine)  # no error: the old view stays, with a warning
            assert "kept as they were" in caplog.text and "mine" in caplog.text
            assert bi.exec_driver_sql("SELECT count(*) FROM mine").scalar() == 0
            assert _view_hashes(warehouse_engine)["view_sha256:rpt_points_tally"] == "old"  # retried next run
        reader.dispose()  # the session ends, and with it its temp view
        ensure_schema(warehouse_engine)  # now the views are recreated
        with warehouse_engine.connect() as conn:
            cols = conn.execute(sa.text("SELECT * FROM rpt_points_tally WHERE 1 = 0")).keys()
            granted = conn.execute(
                sa.text("SELECT has_table_privilege(:r, 'rpt_points_tally', 'SELECT')"), {"r": role}
            ).scalar()
        assert "gone" not in cols and granted is True
        assert _view_hashes(warehouse_engine)["view_sha256:rpt_points_tally"] != "old"
    finally:
        reader.dispose()
        with warehouse_engine.begin() as conn:
            conn.exec_driver_sql(f"DROP OWNED BY {role}")
            conn.exec_driver_sql(f"DROP ROLE {role}")
