"""Versioned warehouse migrations (Alembic) on SQLite and PostgreSQL.

In: the baseline revision's copy of release 84c509f's sql/001_schema.sql and
002_views.sql (checked against their sha256), tests/fixtures/schema_84c509f/data.sql
(rows that release loaded from its sample, every table with rows), the conftest `warehouse_url` (empty SQLite file or PostgreSQL schema).
Out: checks that a warehouse made by 84c509f is recognised, stamped at the baseline and
upgraded to head with every row and every rpt_* row as before (PostgreSQL only by
`fivestar db upgrade`, which prints the backup advice first, or FIVESTAR_AUTO_UPGRADE);
that grants of BI readers survive; that a throwaway revision in a copy of the migrations
goes up and down; that downgrades losing rows refuse; and that the head schema equals
sql/001_schema.sql and the baseline equals the release's files.
"""

from __future__ import annotations

import hashlib
import shutil
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from fivestar.cli import app
from fivestar.warehouse import dialect, ensure_schema, make_engine, migrate, tables
from fivestar.warehouse.schema import schema_statements
from fivestar.warehouse.views import view_contracts, views_digest
from testenv import clean_env

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "schema_84c509f"
BASELINE_VIEWS = (
    "rpt_branch_rating",
    "rpt_branch_star",
    "rpt_area_summary",
    "rpt_submission",
    "rpt_dq_issue",
    "rpt_points_tally",
)
BASELINE_TABLES = tuple(
    t for t in tables.ALL_TABLES if t not in ("run_lock", "alert_outbox", "period_event", "completeness")
)


def _run_script(engine: Engine, *names: str) -> None:
    """Statements of fixture files, as that release applied them (no Alembic)."""
    name = dialect.name_of(engine)
    with engine.begin() as conn:
        for f in names:
            folder = FIXTURE if f == "data.sql" else migrate.MIGRATIONS_DIR / "baseline"  # the release's DDL
            text = dialect.render_sql((folder / f).read_text(encoding="utf-8"), name)
            for stmt in dialect.split_statements(text):
                conn.exec_driver_sql(stmt, execution_options={"no_parameters": True})


def _rows(conn: sa.Connection, sql: str) -> list[tuple]:
    return sorted(tuple(map(repr, r)) for r in conn.exec_driver_sql(sql).all())


def _snapshot(engine: Engine) -> dict[str, list[tuple]]:
    """Every row of the 84c509f tables and the contract columns of its six views."""
    contracts = view_contracts()
    with engine.connect() as conn:
        out = {t: _rows(conn, f"SELECT {', '.join(tables.ALL_TABLES[t])} FROM {t}") for t in BASELINE_TABLES}
        # Views now keep their hashes in meta (schema.apply_views); the release's rows stay.
        out["meta"] = _rows(conn, "SELECT key, value FROM meta WHERE key NOT LIKE 'view_sha256:%%'")
        for v in BASELINE_VIEWS:
            # 0004 shows rpt_submission's stored UTC times in Asia/Shanghai (the table keeps them).
            cols = [c for c in contracts[v] if v != "rpt_submission" or not c.endswith("_at")]
            out[v] = _rows(conn, f"SELECT {', '.join(cols)} FROM {v}")
    return out


@pytest.fixture
def release_84c509f(warehouse_url: str) -> Engine:
    """A warehouse as release 84c509f left it: its DDL, its views, its rows; no alembic_version."""
    engine = make_engine(warehouse_url)
    _run_script(engine, "001_schema.sql", "002_views.sql", "data.sql")
    yield engine
    engine.dispose()


def _db(url: str, *args: str, auto: bool = False) -> object:
    env = {k: v for k, v in clean_env().items() if k.startswith("FIVESTAR_")}
    env.update(FIVESTAR_WAREHOUSE_URL=url, FIVESTAR_AUTO_UPGRADE="1" if auto else "0")
    return CliRunner().invoke(app, ["db", *args], env=env)


def test_a_84c509f_warehouse_is_upgraded_with_every_row_kept(
    release_84c509f: Engine, warehouse_url: str
) -> None:
    engine = release_84c509f
    before = _snapshot(engine)
    assert all(before[t] for t in (*BASELINE_TABLES, *BASELINE_VIEWS) if t != "rpt_dq_issue"), before.keys()
    pg = dialect.is_postgres(engine)
    role = f"fs_reader_{uuid.uuid4().hex[:10]}"
    if pg:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"CREATE ROLE {role} NOLOGIN")
            conn.exec_driver_sql(f"GRANT SELECT ON rpt_submission, rpt_area_summary TO {role}")
        # A run refuses to change production: one line naming the command, nothing changed.
        with pytest.raises(migrate.SchemaBehind, match="`fivestar db upgrade`"):
            ensure_schema(engine)
        with engine.connect() as conn:
            assert migrate.is_legacy(conn)
        result = _db(warehouse_url, "upgrade")
        assert result.exit_code == 0, result.output
        out = result.output
        assert "pg_dump" in out and out.index("pg_dump") < out.index("upgraded to")
        assert "release 84c509f" in out
    ensure_schema(engine)  # SQLite: upgrades itself; PostgreSQL: already at head
    try:
        with engine.connect() as conn:
            assert migrate.current(conn) == migrate.head()
            names = set(sa.inspect(conn).get_table_names())
            views = set(sa.inspect(conn).get_view_names())
            for t, cols in tables.ALL_TABLES.items():
                assert tuple(c["name"] for c in sa.inspect(conn).get_columns(t)) == cols, t
            for v in view_contracts():
                conn.exec_driver_sql(f"SELECT * FROM {v}").all()  # every view of today reads
            if pg:
                granted = {
                    v: conn.execute(
                        sa.text("SELECT has_table_privilege(:r, :v, 'SELECT')"), {"r": role, "v": v}
                    ).scalar()
                    for v in ("rpt_submission", "rpt_area_summary", "rpt_dq_issue")
                }
                assert granted == {"rpt_submission": True, "rpt_area_summary": True, "rpt_dq_issue": False}
        assert names == {*tables.ALL_TABLES, "alembic_version"}
        assert views == set(view_contracts())
        assert _snapshot(engine) == before  # every row, every rpt_* row
        result = _db(warehouse_url, "current")
        assert result.exit_code == 0 and f"{migrate.head()} (head)" in result.output, result.output
    finally:
        if pg:
            with engine.begin() as conn:
                conn.exec_driver_sql(f"DROP OWNED BY {role}")
                conn.exec_driver_sql(f"DROP ROLE {role}")


def test_auto_upgrade_lets_a_run_upgrade_postgresql(release_84c509f: Engine) -> None:
    before = _snapshot(release_84c509f)
    ensure_schema(release_84c509f, auto_upgrade=True)  # FIVESTAR_AUTO_UPGRADE=1
    with release_84c509f.connect() as conn:
        assert migrate.current(conn) == migrate.head()
    assert _snapshot(release_84c509f) == before


@pytest.mark.parametrize("warehouse_url", ["postgresql"], indirect=True)  # SQLite upgrades itself
def test_the_cli_refuses_a_postgresql_run_behind_head(
    release_84c509f: Engine, warehouse_url: str, tmp_path: Path
) -> None:
    """`fivestar run` exits 2 with one line naming `fivestar db upgrade`, before anything
    starts or changes; `fivestar db current` says where the warehouse is."""
    result = _db(warehouse_url, "current")
    assert result.exit_code == 0 and "release 84c509f" in result.output, result.output
    (tmp_path / "raw").mkdir()
    env = {k: v for k, v in clean_env().items() if k.startswith("FIVESTAR_")}
    env.update(
        FIVESTAR_WAREHOUSE_URL=warehouse_url,
        FIVESTAR_RAW_DIR=str(tmp_path / "raw"),
        FIVESTAR_PROCESSED_DIR=str(tmp_path / "processed"),
        FIVESTAR_CONFIG_DIR=str(ROOT / "config"),
    )
    result = CliRunner().invoke(app, ["run"], env=env)
    assert result.exit_code == 2, result.output
    assert "`fivestar db upgrade`" in result.output and "FIVESTAR_AUTO_UPGRADE=1" in result.output
    with release_84c509f.connect() as conn:
        assert migrate.is_legacy(conn)  # nothing changed


def test_downgrade_one_revision_and_back_and_refusals(warehouse_engine: Engine, warehouse_url: str) -> None:
    head = migrate.head()
    down = migrate.scripts().get_revision(head).down_revision
    with warehouse_engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO submission (county_code, period, version, status) VALUES ('410523', '2026-11', 1, 'accepted')"
        )
    # 0004 -> 0003 would lose the record of closed periods: it says so and refuses.
    with warehouse_engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO period_event (period, county_code, action, actor, at) "
            "VALUES ('2026-11', '', 'close', 'it', '2026-12-10 02:00:00')"
        )
    result = _db(warehouse_url, "downgrade")
    assert result.exit_code == 2 and "period_event holds 1" in result.output, result.output
    with warehouse_engine.begin() as conn:
        assert migrate.current(conn) == head
        conn.exec_driver_sql("DELETE FROM period_event")
    result = _db(warehouse_url, "downgrade")
    assert result.exit_code == 0, result.output
    with warehouse_engine.connect() as conn:
        assert migrate.current(conn) == down == "0003"
        names = set(sa.inspect(conn).get_view_names())
        assert names == set(view_contracts()) - {"rpt_completeness", "rpt_period_event"}
        assert not {"period_event", "completeness"} & set(sa.inspect(conn).get_table_names())
        down = "0002"
    result = _db(warehouse_url, "downgrade")
    assert result.exit_code == 0, result.output
    with warehouse_engine.connect() as conn:
        assert migrate.current(conn) == down
        assert set(sa.inspect(conn).get_view_names()) == set(BASELINE_VIEWS)  # views hold no rows
        assert conn.exec_driver_sql("SELECT count(*) FROM rpt_submission").scalar() == 1
    # 0002 -> 0001 would lose the IT digests kept in alert_outbox: it says so and refuses.
    with warehouse_engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO alert_outbox (alert_key, subject, body_text, body_markdown) VALUES ('k', 's', 'b', 'm')"
        )
    result = _db(warehouse_url, "downgrade")
    assert result.exit_code == 2 and "alert_outbox holds 1" in result.output, result.output
    with warehouse_engine.connect() as conn:
        assert migrate.current(conn) == down
        assert conn.exec_driver_sql("SELECT count(*) FROM alert_outbox").scalar() == 1
    result = _db(warehouse_url, "upgrade")
    assert result.exit_code == 0, result.output
    with warehouse_engine.connect() as conn:
        assert migrate.current(conn) == head
        assert set(sa.inspect(conn).get_view_names()) == set(view_contracts())


PROBE = '''"""throwaway: a probe column on derive_queue

Revision ID: 9999
Revises: {down}
"""

import sqlalchemy as sa
from alembic import op

revision = "9999"
down_revision = "{down}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("derive_queue") as batch:
        batch.add_column(sa.Column("probe", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("derive_queue") as batch:
        batch.drop_column("probe")
'''


def test_a_throwaway_revision_goes_up_and_down(warehouse_engine: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS_DIR, folder, ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "versions" / "9999_probe.py").write_text(PROBE.format(down=migrate.head()), encoding="utf-8")
    cfg = migrate.alembic_config(folder)
    assert migrate.head(cfg) == "9999"

    def columns() -> list[str]:
        return [c["name"] for c in sa.inspect(warehouse_engine).get_columns("derive_queue")]

    with warehouse_engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO derive_queue (county_code, year) VALUES ('410523', 2026)")
        migrate.upgrade(conn, "head", cfg)
        assert migrate.current(conn) == "9999"
        conn.exec_driver_sql("UPDATE derive_queue SET probe = 'p'")
    assert columns() == [*tables.DERIVE_QUEUE, "probe"]
    with warehouse_engine.begin() as conn:
        migrate.downgrade(conn, "-1", cfg)
        assert migrate.current(conn) == migrate.head()
    assert columns() == list(tables.DERIVE_QUEUE)
    with warehouse_engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT county_code, year FROM derive_queue").all() == [("410523", 2026)]


def test_head_schema_equals_sql_001(tmp_path: Path) -> None:
    """sql/001_schema.sql documents the head schema: the revisions must arrive at it."""

    def shape(engine: Engine) -> dict[str, object]:
        insp = sa.inspect(engine)
        return {
            t: (
                [(c["name"], str(c["type"]), c["nullable"]) for c in insp.get_columns(t)],
                insp.get_pk_constraint(t)["constrained_columns"],
                sorted((i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in insp.get_indexes(t)),
            )
            for t in insp.get_table_names()
            if t != "alembic_version"
        }

    migrated, direct = (
        make_engine(f"sqlite:///{tmp_path / 'a.db'}"),
        make_engine(f"sqlite:///{tmp_path / 'b.db'}"),
    )
    try:
        ensure_schema(migrated)
        with direct.begin() as conn:
            for stmt in schema_statements(dialect.SQLITE):
                conn.exec_driver_sql(stmt)
        assert shape(migrated) == shape(direct)
    finally:
        migrated.dispose()
        direct.dispose()


# sha256 of release 84c509f's sql/001_schema.sql and sql/002_views.sql (`git show 84c509f:sql/…`).
RELEASE_84C509F = {
    "001_schema.sql": "32b3acef037e9251c54e50661746947c1fb671bc8169ad58a8e31636bf841829",
    "002_views.sql": "c6968444fb434b64375ccd61c98a676b3f43854c0f312e8f31aa6d2baf767136",
}


def test_baseline_is_the_pinned_release() -> None:
    for name, digest in RELEASE_84C509F.items():
        got = hashlib.sha256((migrate.MIGRATIONS_DIR / "baseline" / name).read_bytes()).hexdigest()
        assert got == digest, name


def test_history_lists_every_revision() -> None:
    result = CliRunner().invoke(app, ["db", "history"])
    assert result.exit_code == 0, result.output
    revs = [r.revision for r in migrate.history()]
    assert revs[0] == migrate.BASELINE and revs[-1] == migrate.head()
    assert all(f"-> {r}" in result.output for r in revs)


def test_changed_views_come_with_a_revision() -> None:
    """The newest revision that applies views was written for today's sql/views/."""
    import importlib.util

    recorded = None
    for r in reversed(migrate.history()):
        path = next((migrate.MIGRATIONS_DIR / "versions").glob(f"{r.revision}_*.py"))
        spec = importlib.util.spec_from_file_location(f"rev_{r.revision}", path)
        assert spec and spec.loader
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        recorded = getattr(mod, "VIEWS_SHA256", None)
        if recorded:
            break
    assert recorded == views_digest(), (
        "sql/views/ changed: add a revision whose upgrade calls schema.apply_views(op.get_bind()) "
        f'and set VIEWS_SHA256 = "{views_digest()}" in it (fivestar/warehouse/migrations/README.md)'
    )


@pytest.mark.postgres
@pytest.mark.parametrize("warehouse_url", ["postgresql"], indirect=True)
def test_roles_keep_their_views_through_an_upgrade(release_84c509f: Engine, warehouse_url: str) -> None:
    """Roles applied to an 84c509f warehouse; the loader login runs `fivestar db upgrade`:
    the reporting login still reads every row of the views, the county login its county's."""
    from fivestar.warehouse.roles import apply_roles, drop_roles

    tag = uuid.uuid4().hex[:8]
    pw = {"loader": f"Ld!{tag}", "reporting": f"Rp!{tag}", "county": f"Cc!{tag}"}
    roles = apply_roles(
        release_84c509f,
        prefix=f"fsm{tag}",
        loader_password=pw["loader"],
        reporting_password=pw["reporting"],
        county_logins={"410523": pw["county"]},
    )
    names = [
        roles.loader,
        roles.reporting,
        roles.county_views,
        roles.county_agg,
        *roles.county_logins.values(),
    ]

    def as_login(role: str, password: str, schema: str | None = None) -> str:
        u = sa.engine.make_url(warehouse_url).set(username=role, password=password)
        if schema:
            u = u.update_query_dict({"options": f"-csearch_path={schema}"})
        return u.render_as_string(hide_password=False)

    def read(url: str, sql: str) -> list[tuple]:
        engine = sa.create_engine(url)
        try:
            with engine.connect() as conn:
                return _rows(conn, sql)
        finally:
            engine.dispose()

    reporting = as_login(roles.reporting, pw["reporting"])
    county = as_login(roles.county_logins["410523"], pw["county"], roles.county_schema)
    sql = "SELECT county_code, period, version, status FROM rpt_submission"
    try:
        before = (read(reporting, sql), read(county, sql))
        assert before[0] and before[1]
        result = _db(as_login(roles.loader, pw["loader"]), "upgrade")
        assert result.exit_code == 0, result.output
        assert (read(reporting, sql), read(county, sql)) == before
    finally:
        admin = sa.create_engine(warehouse_url, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{roles.county_schema}" CASCADE')
            drop_roles(admin, names)
        finally:
            admin.dispose()


BROKEN = '''"""throwaway: creates a table, then fails

Revision ID: 9998
Revises: {down}
"""

from alembic import op

revision = "9998"
down_revision = "{down}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE TABLE half_done (x TEXT)")
    op.execute("INSERT INTO meta (key, value) VALUES ('half', 'done')")
    raise RuntimeError("a revision that fails half-way")


def downgrade() -> None:
    pass
'''


def test_a_failing_upgrade_changes_nothing(warehouse_engine: Engine, tmp_path: Path) -> None:
    """One transaction for the whole upgrade, on SQLite too: all of it or nothing."""
    folder = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS_DIR, folder, ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "versions" / "9998_broken.py").write_text(BROKEN.format(down=migrate.head()), encoding="utf-8")
    with pytest.raises(RuntimeError, match="half-way"), warehouse_engine.begin() as conn:
        migrate.upgrade(conn, "head", migrate.alembic_config(folder))
    with warehouse_engine.connect() as conn:
        assert migrate.current(conn) == migrate.head()
        assert "half_done" not in sa.inspect(conn).get_table_names()
        assert conn.exec_driver_sql("SELECT count(*) FROM meta WHERE key = 'half'").scalar() == 0


def test_0004_turns_stored_local_times_into_utc(
    release_84c509f: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows written before 0004 held the writing machine's local time; the upgrade shifts
    them to UTC by the machine's offset (TZ says which zone wrote them)."""
    import time

    import pandas as pd

    sql = "SELECT county_code, period, version, received_at, processed_at FROM submission ORDER BY 1, 2, 3"
    with release_84c509f.connect() as conn:
        before = pd.read_sql(sa.text(sql), conn)
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    try:
        ensure_schema(release_84c509f, auto_upgrade=True)
    finally:
        monkeypatch.undo()
        time.tzset()
    with release_84c509f.connect() as conn:
        after = pd.read_sql(sa.text(sql), conn)
        shown = pd.read_sql(sa.text(sql.replace("FROM submission", "FROM rpt_submission")), conn)
    for col in ("received_at", "processed_at"):
        shift = pd.to_datetime(before[col]) - pd.to_datetime(after[col])
        assert (shift == pd.Timedelta(hours=8)).all(), (before[col], after[col])
        assert (
            pd.to_datetime(shown[col]) == pd.to_datetime(before[col]).dt.floor("s")
        ).all()  # Beijing again
