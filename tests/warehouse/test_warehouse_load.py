"""Loading submission versions on SQLite and PostgreSQL.

In: hand-made submissions, facts and findings (conftest.TinyProvince). Out: checks of
load_version (statuses, supersession, rejection, idempotent --force reloads, one
transaction), current_facts, known_versions, previous_accepted_period, the registry
copy, the run log and the rpt_submission / rpt_dq_issue views.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from fivestar.warehouse import (
    current_facts,
    finish_run,
    known_versions,
    load_version,
    previous_accepted_period,
    start_run,
    sync_registry,
    tables,
)


def _table(engine: Engine, name: str) -> pd.DataFrame:
    cols = tables.ALL_TABLES[name]
    with engine.connect() as conn:
        df = pd.read_sql(sa.text(f"SELECT * FROM {name}"), conn)
    return df.sort_values(list(cols)).reset_index(drop=True).astype(str)


def _status(engine: Engine) -> dict[tuple[str, int], str]:
    v = known_versions(engine)
    return {(p, int(n)): s for p, n, s in zip(v["period"], v["version"], v["status"], strict=True)}


def test_load_then_current_facts(warehouse_engine: Engine, tiny) -> None:
    status = load_version(warehouse_engine, tiny.sub("2026-11"), tiny.facts("2026-11"), tiny.findings())
    assert status == "accepted"
    facts = current_facts(warehouse_engine)
    assert set(facts) == {"roster", "indicators", "ledger", "vetoes", "explanations"}

    roster = facts["roster"]
    assert list(roster.columns[:9]) == [
        "county_code", "period", "version", "branch_code", "branch_name", "branch_type",
        "township", "members", "households",
    ]  # fmt: skip
    assert roster["branch_code"].tolist() == [tiny.EAST, tiny.WEST, tiny.SOUTH]
    assert roster["members"].dtype.kind == "i" and roster["version"].tolist() == [1, 1, 1]
    assert roster["sheet_row"].tolist() == [2, 3, 4]

    ind = facts["indicators"]
    want = sum(len(tiny.rb.indicators_for(t)) for _c, _n, t, _tw in tiny.ROSTER)
    assert len(ind) == want and ind["value"].dtype == "float64"
    assert {"sheet", "sheet_row", "cell"} <= set(ind.columns)
    first = ind[(ind["branch_code"] == tiny.EAST) & (ind["indicator_key"] == "meeting_rate")].iloc[0]
    assert (first["sheet"], int(first["sheet_row"]), first["cell"], first["value"]) == (
        "村指标",
        2,
        "C2",
        100.0,
    )

    led = facts["ledger"]
    assert len(led) == 7 and pd.api.types.is_datetime64_any_dtype(led["event_date"])
    assert led["seq"].tolist() == list(range(2, 9)) and led["points"].dtype == "float64"
    assert led["event_date"].iloc[0] == pd.Timestamp("2026-11-05")
    assert led.loc[led["subject_type"] == "支部", "subject_id"].tolist() == [tiny.EAST, tiny.SOUTH]

    vet = facts["vetoes"]
    assert vet[["branch_code", "veto_code"]].values.tolist() == [[tiny.SOUTH, "V01"]]
    assert pd.api.types.is_datetime64_any_dtype(vet["event_date"])
    assert facts["explanations"]["location"].tolist() == ["村指标!C2"]

    # Filters: by county and by period list.
    assert current_facts(warehouse_engine, "410599")["roster"].empty
    assert current_facts(warehouse_engine, tiny.COUNTY, ["2026-10"])["ledger"].empty
    assert len(current_facts(warehouse_engine, tiny.COUNTY, ["2026-10", "2026-11"])["roster"]) == 3
    assert current_facts(warehouse_engine, periods=[])["roster"].empty

    with warehouse_engine.connect() as conn:
        queue = conn.execute(sa.text("SELECT county_code, year FROM derive_queue")).all()
    assert [tuple(q) for q in queue] == [(tiny.COUNTY, 2026)]


def test_newer_accepted_version_supersedes(warehouse_engine: Engine, tiny) -> None:
    load_version(
        warehouse_engine, tiny.sub("2026-11", 1), tiny.facts("2026-11", 1), tiny.findings(warnings=1)
    )
    s2 = load_version(
        warehouse_engine, tiny.sub("2026-11", 2), tiny.facts("2026-11", 2, members=40), tiny.findings()
    )
    assert s2 == "accepted"
    assert _status(warehouse_engine) == {("2026-11", 1): "superseded", ("2026-11", 2): "accepted"}
    roster = current_facts(warehouse_engine)["roster"]
    assert roster["version"].unique().tolist() == [2] and roster["members"].unique().tolist() == [40]
    # The superseded version's facts stay queryable.
    with warehouse_engine.connect() as conn:
        n = conn.execute(sa.text("SELECT COUNT(*) FROM roster WHERE version = 1")).scalar()
        ledger_versions = (
            conn.execute(sa.text("SELECT DISTINCT version FROM ledger ORDER BY version")).scalars().all()
        )
    assert n == 3 and ledger_versions == [1, 2]


def test_rejected_newer_version_leaves_old_current(warehouse_engine: Engine, tiny) -> None:
    s1 = load_version(
        warehouse_engine, tiny.sub("2026-11", 1), tiny.facts("2026-11", 1), tiny.findings(warnings=2)
    )
    assert s1 == "accepted_with_warnings"
    s2 = load_version(
        warehouse_engine,
        tiny.sub("2026-11", 2),
        tiny.facts("2026-11", 2),
        tiny.findings(errors=3, warnings=1),
    )
    assert s2 == "rejected"
    assert _status(warehouse_engine) == {("2026-11", 1): "accepted_with_warnings", ("2026-11", 2): "rejected"}
    assert current_facts(warehouse_engine)["roster"]["version"].unique().tolist() == [1]
    with warehouse_engine.connect() as conn:
        # Nothing of a rejected version is loaded, but all its findings are.
        assert conn.execute(sa.text("SELECT COUNT(*) FROM roster WHERE version = 2")).scalar() == 0
        sub = conn.execute(sa.text("SELECT errors, warnings FROM rpt_submission WHERE version = 2")).one()
        assert tuple(sub) == (3, 1)
    # A file rejected before any finding could be made (e.g. not an .xlsx) is rejected too.
    s3 = load_version(warehouse_engine, tiny.sub("2026-11", 3, status="rejected"), {}, tiny.findings())
    assert s3 == "rejected"
    assert _status(warehouse_engine)[("2026-11", 1)] == "accepted_with_warnings"


def test_force_reload_is_idempotent(warehouse_engine: Engine, tiny) -> None:
    def load_all() -> None:
        load_version(
            warehouse_engine, tiny.sub("2026-10", 1), tiny.facts("2026-10", 1), tiny.findings(warnings=1)
        )
        load_version(warehouse_engine, tiny.sub("2026-11", 1), tiny.facts("2026-11", 1), tiny.findings())
        load_version(
            warehouse_engine, tiny.sub("2026-11", 2), tiny.facts("2026-11", 2), tiny.findings(errors=1)
        )

    load_all()
    first = {t: _table(warehouse_engine, t) for t in tables.ALL_TABLES}
    load_all()
    load_all()
    for t, df in first.items():
        pd.testing.assert_frame_equal(_table(warehouse_engine, t), df, obj=t)


def test_reloading_older_version_keeps_newer_current(warehouse_engine: Engine, tiny) -> None:
    load_version(warehouse_engine, tiny.sub("2026-11", 1), tiny.facts("2026-11", 1), tiny.findings())
    load_version(
        warehouse_engine, tiny.sub("2026-11", 2), tiny.facts("2026-11", 2), tiny.findings(warnings=1)
    )
    again = load_version(warehouse_engine, tiny.sub("2026-11", 1), tiny.facts("2026-11", 1), tiny.findings())
    assert again == "superseded"
    assert _status(warehouse_engine) == {
        ("2026-11", 1): "superseded",
        ("2026-11", 2): "accepted_with_warnings",
    }
    # --force of the current version turning it into a rejection: the older one is current again.
    load_version(warehouse_engine, tiny.sub("2026-11", 2), tiny.facts("2026-11", 2), tiny.findings(errors=1))
    assert _status(warehouse_engine) == {("2026-11", 1): "accepted", ("2026-11", 2): "rejected"}
    assert current_facts(warehouse_engine)["roster"]["version"].unique().tolist() == [1]


def test_load_is_one_transaction(warehouse_engine: Engine, tiny, monkeypatch) -> None:
    load_version(warehouse_engine, tiny.sub("2026-11", 1), tiny.facts("2026-11", 1), tiny.findings())
    before = {t: _table(warehouse_engine, t) for t in ("submission", "roster", "ledger", "dq_issue")}

    import fivestar.warehouse.load as load_mod

    real = load_mod.insert_frame

    def failing(conn, table, df):
        if table == "ledger":
            raise RuntimeError("disk full")
        return real(conn, table, df)

    monkeypatch.setattr(load_mod, "insert_frame", failing)
    with pytest.raises(RuntimeError):
        load_version(
            warehouse_engine, tiny.sub("2026-11", 2), tiny.facts("2026-11", 2), tiny.findings(warnings=1)
        )
    for t, df in before.items():
        pd.testing.assert_frame_equal(_table(warehouse_engine, t), df, obj=t)


def test_dq_issues_and_rpt_views(warehouse_engine: Engine, tiny) -> None:
    load_version(
        warehouse_engine, tiny.sub("2026-11", 1), tiny.facts("2026-11"), tiny.findings(errors=1, warnings=1)
    )
    with warehouse_engine.connect() as conn:
        issues = pd.read_sql(sa.text("SELECT * FROM rpt_dq_issue ORDER BY seq"), conn)
        sub = pd.read_sql(sa.text("SELECT * FROM rpt_submission"), conn)
    assert issues["severity"].tolist() == ["error", "warning"]
    assert issues["cell"].tolist() == ["E3", "C2"]  # never '村指标!C2'
    assert issues["sheet"].tolist() == ["支部名册", "村指标"]
    assert issues["row_number"].tolist() == [3, 2]
    assert [bool(x) for x in issues["explained"]] == [False, False]
    row = sub.iloc[0]
    assert (row["status"], int(row["errors"]), int(row["warnings"])) == ("rejected", 1, 1)
    assert row["file_sha256"] == tiny.sub("2026-11")["file_sha256"]
    assert str(row["received_at"]).startswith("2026-11-20 17:30")  # stored 09:30 UTC, shown in Beijing time


def test_known_versions_and_previous_period(warehouse_engine: Engine, tiny) -> None:
    assert known_versions(warehouse_engine).empty
    load_version(warehouse_engine, tiny.sub("2026-09", 1), tiny.facts("2026-09"), tiny.findings())
    load_version(warehouse_engine, tiny.sub("2026-10", 1), tiny.facts("2026-10"), tiny.findings(errors=1))
    load_version(warehouse_engine, tiny.sub("2026-11", 1), tiny.facts("2026-11"), tiny.findings())
    kv = known_versions(warehouse_engine)
    assert list(kv.columns) == ["county_code", "period", "version", "file_sha256", "status", "file_name"]
    assert kv["period"].tolist() == ["2026-09", "2026-10", "2026-11"]
    assert kv["version"].dtype.kind == "i"
    # 2026-10 has no current version (rejected): the nearest earlier current month is 2026-09.
    assert previous_accepted_period(warehouse_engine, tiny.COUNTY, "2026-11") == "2026-09"
    assert previous_accepted_period(warehouse_engine, tiny.COUNTY, "2026-09") is None
    assert previous_accepted_period(warehouse_engine, tiny.OTHER_COUNTY, "2026-11") is None


def test_sync_registry_replaces(warehouse_engine: Engine, tiny) -> None:
    reg = tiny.registry()
    assert sync_registry(warehouse_engine, reg) == len(reg.regions)
    sync_registry(warehouse_engine, reg)
    with warehouse_engine.connect() as conn:
        rows = pd.read_sql(sa.text("SELECT * FROM registry_region ORDER BY code"), conn)
    assert len(rows) == len(reg.regions)
    prov = rows[rows["code"] == tiny.PROVINCE].iloc[0]
    assert pd.isna(prov["parent_code"]) and pd.isna(prov["branch_type"])  # NULL, not ""
    assert rows.loc[rows["code"] == tiny.EAST, "branch_type"].item() == "村"


def test_run_log(warehouse_engine: Engine) -> None:
    run_id = start_run(warehouse_engine, {"period": "2026-11", "force": True}, "abc")
    finish_run(warehouse_engine, run_id, "completed", {"loaded": 3})
    with warehouse_engine.connect() as conn:
        row = conn.execute(sa.text("SELECT * FROM run WHERE run_id = :r"), {"r": run_id}).one()
    assert row.outcome == "completed" and row.rulebook_hash == "abc"
    assert json.loads(row.params) == {"force": True, "period": "2026-11"}
    assert json.loads(row.summary) == {"loaded": 3}
    assert row.finished_at is not None and row.started_at is not None
