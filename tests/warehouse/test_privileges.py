"""Least privilege on PostgreSQL: who can read what, and passwords that never leak.

In: the shared PostgreSQL test server (a database for this module, see conftest), a
fresh warehouse schema, uniquely named roles from `fivestar.warehouse.roles.apply_roles`
(prefix `fst<random>`, dropped afterwards: the server is shared), and a two-county
province (wbfactory) loaded by ONE `fivestar run -v` process logged in as the loader,
with known passwords for the loader and for SMTP (whose server is down).
Out: connected as each role, proofs that
- the loader owns the schema, runs the pipeline (COPY loads, view re-creation) and
  the reporting grants survive the views being recreated;
- the reporting role reads every rpt_* view and no table, and cannot write or create;
- a county login sees only its own county in every rpt_* view (row-level security),
  and nothing else at all;
- passwords are stored as SCRAM verifiers (checked against the password here, since
  the test server trusts loopback) and never appear in logs, the run table, any
  warehouse table, processed files, Prefect's own database (artifacts, parameters,
  logs) or error messages.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import logging
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from servers import free_port
from sqlalchemy import create_engine
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, make_url

import wbfactory as W
from fivestar.config import load_rulebook
from fivestar.warehouse import ensure_schema, make_engine
from fivestar.warehouse.roles import Roles, apply_roles, drop_roles, passwords_from_env
from fivestar.warehouse.views import view_contracts
from testenv import clean_env

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
RAW = {"no_parameters": True}  # SQL text with '%' (LIKE) goes to the driver as is
A, B = "410522", "410523"
COUNTIES = {A: "林州市", B: "安阳县"}
PERIOD = "2026-11"
TAG = uuid.uuid4().hex[:8]
LOADER_PW = f"Ld!{TAG}#pw"
REPORT_PW = f"Rp!{TAG}#pw"
COUNTY_PW = {A: f"Ca!{TAG}#pw", B: f"Cb!{TAG}#pw"}
SMTP_PW = f"Sm!{TAG}#pw"
PASSWORDS = (LOADER_PW, REPORT_PW, *COUNTY_PW.values(), SMTP_PW)
FORMS = tuple({f for p in PASSWORDS for f in (p, quote(p, safe=""), quote(p))})
VIEWS = tuple(view_contracts())  # every rpt_* view of sql/views/
# Views a county login gets a copy of, filtered to its county (rpt_area_history has none).
COUNTY_ROW_VIEWS = (
    "rpt_submission", "rpt_dq_issue", "rpt_branch_rating", "rpt_branch_star", "rpt_points_tally",
    "rpt_rating_history", "rpt_star_history", "rpt_branch_change", "rpt_branch_points",
    "rpt_indicator_score",
)  # fmt: skip
TABLES = (
    "submission",
    "dq_issue",
    "roster",
    "indicator_value",
    "ledger",
    "branch_rating",
    "run",
    "registry_region",
    "alert_delivery",
    "meta",
    "run_lock",
)


@dataclass
class Warehouse:
    db_url: str  # admin URL of the module's database (no schema)
    schema: str
    roles: Roles
    root: Path
    cli: subprocess.CompletedProcess[bytes]
    env: dict[str, str] | None = None  # of the loader's `fivestar run`

    def url(
        self, role: str | None = None, password: str | None = None, schema: str | bool | None = None
    ) -> str:
        """schema None: the warehouse schema; False: the role's own search_path."""
        u = make_url(self.db_url)
        if role:
            u = u.set(username=role, password=password)
        if schema is not False:
            u = u.update_query_dict({"options": f"-csearch_path={schema or self.schema}"})
        return u.render_as_string(hide_password=False)

    def rows(self, role: str | None, sql: str, schema: str | bool | None = None) -> list[tuple[Any, ...]]:
        engine = create_engine(self.url(role, schema=schema), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                return [tuple(r) for r in conn.exec_driver_sql(sql, execution_options=RAW).all()]
        finally:
            engine.dispose()

    def denied(self, role: str, sql: str, schema: str | bool | None = None) -> bool:
        try:
            self.rows(role, sql, schema)
        except sa_exc.ProgrammingError as e:
            return "permission denied" in str(e.orig)
        return False


def _province(root: Path) -> None:
    cfg = root / "config"
    import shutil

    shutil.copytree(ROOT / "config", cfg, ignore=shutil.ignore_patterns("registry.csv", "submitters.csv"))
    brs = {c: W.branches(c, 2, 1) for c in COUNTIES}
    W.registry_frame(COUNTIES, brs).to_csv(cfg / "registry.csv", index=False)
    (cfg / "submitters.csv").write_text(
        "county_code,name,email,webhook_url\n" + "".join(f"{c},联系人,c{c}@example.org,\n" for c in COUNTIES),
        encoding="utf-8",
    )
    rb = load_rulebook(cfg)
    for c, name in COUNTIES.items():
        values = {(brs[c][0]["code"], "meeting_rate"): 150} if c == B else None  # B is rejected
        W.write_workbook(
            root / "raw" / PERIOD / f"{c}_{name}.xlsx",
            rb,
            c,
            name,
            PERIOD,
            brs[c],
            values=values,
            ledger=[[dt.date(2026, 11, 3), brs[c][0]["code"], "支部", "", "ZB01", 2, ""]],
        )


@pytest.fixture(scope="module")
def wh(pg_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    schema = f"wh_{TAG}"
    prefix = f"fst{TAG}"
    admin = create_engine(pg_database, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    names: list[str] = []
    try:
        url = make_url(pg_database).update_query_dict({"options": f"-csearch_path={schema}"})
        engine = make_engine(url.render_as_string(hide_password=False))
        ensure_schema(engine)
        roles = apply_roles(
            engine,
            prefix=prefix,
            loader_password=LOADER_PW,
            reporting_password=REPORT_PW,
            county_logins=dict(COUNTY_PW),
        )
        engine.dispose()
        names = [
            roles.loader,
            roles.reporting,
            roles.county_views,
            roles.county_agg,
            *roles.county_logins.values(),
        ]
        root = tmp_path_factory.mktemp("privileges")
        _province(root)
        w = Warehouse(pg_database, schema, roles, root, None)  # type: ignore[arg-type]
        loader_url = w.url(roles.loader, LOADER_PW)
        env = clean_env()
        env.update(
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            DO_NOT_TRACK="1",
            PREFECT_HOME=str(root / ".prefect"),
            FIVESTAR_RAW_DIR=str(root / "raw"),
            FIVESTAR_CONFIG_DIR=str(root / "config"),
            FIVESTAR_PROCESSED_DIR=str(root / "processed"),
            FIVESTAR_WAREHOUSE_URL=loader_url,
            FIVESTAR_SETTLE_SECONDS="0",  # the province was written just now
            FIVESTAR_SMTP_HOST="127.0.0.1",
            FIVESTAR_SMTP_PORT=str(free_port()),  # nothing listens: every e-mail fails
            FIVESTAR_SMTP_USER="fivestar",
            FIVESTAR_SMTP_PASSWORD=SMTP_PW,
            FIVESTAR_ID_HASH_KEY=f"test-id-key-{TAG}",
        )
        w.env = env
        w.cli = subprocess.run(
            [sys.executable, "-m", "fivestar.cli", "run", "-v"],
            env=env,
            cwd=root,
            capture_output=True,
            timeout=900,
        )
        yield w
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}_county" CASCADE')
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        drop_roles(admin, names)
        admin.dispose()
        with create_engine(
            make_url(pg_database).set(database="postgres"), isolation_level="AUTOCOMMIT"
        ).connect() as c:
            left = c.exec_driver_sql(
                f"SELECT rolname FROM pg_roles WHERE rolname LIKE 'fst{TAG}%'", execution_options=RAW
            ).all()
        assert left == [], left


# ----------------------------------------------------------------------------- the loader
def test_the_loader_runs_the_pipeline(wh: Warehouse) -> None:
    out = wh.cli.stdout.decode() + wh.cli.stderr.decode()
    assert wh.cli.returncode == 0, out[-3000:]
    status = dict(wh.rows(None, "SELECT county_code, status FROM submission"))
    assert status == {A: "accepted", B: "rejected"}
    owners = wh.rows(
        None,
        "SELECT DISTINCT c.relowner::regrole::text FROM pg_class c "
        f"WHERE c.relnamespace = '{wh.schema}'::regnamespace AND c.relkind IN ('r', 'v')",
    )
    assert owners == [(wh.roles.loader,)]  # views recreated by the run are the loader's too
    assert wh.rows(
        None, f"SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = '{wh.schema}'"
    ) == [(wh.roles.loader,)]


def test_the_loader_is_not_a_superuser_and_cannot_create_roles(wh: Warehouse) -> None:
    (flags,) = wh.rows(
        None,
        f"SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls FROM pg_roles WHERE rolname = '{wh.roles.loader}'",
    )
    assert flags == (False, False, False, False)
    assert wh.denied(wh.roles.loader, "CREATE ROLE fst_should_not_exist")


# ----------------------------------------------------------------------------- reporting
def test_reporting_reads_every_view_with_every_county(wh: Warehouse) -> None:
    for view in VIEWS:
        wh.rows(wh.roles.reporting, f"SELECT * FROM {view}")  # no error
    counties = {c for (c,) in wh.rows(wh.roles.reporting, "SELECT county_code FROM rpt_submission")}
    assert counties == {A, B}
    assert wh.rows(wh.roles.reporting, "SELECT count(*) FROM rpt_branch_rating")[0][0] == 3


@pytest.mark.parametrize("table", TABLES)
def test_reporting_reads_no_table(wh: Warehouse, table: str) -> None:
    assert wh.denied(wh.roles.reporting, f"SELECT * FROM {table}")


def test_reporting_cannot_write_or_create(wh: Warehouse) -> None:
    r = wh.roles.reporting
    assert wh.denied(r, "DELETE FROM rpt_submission")
    assert wh.denied(
        r, "INSERT INTO submission (county_code, period, version, status) VALUES ('x', 'x', 1, 'x')"
    )
    assert wh.denied(r, "CREATE TABLE reporting_was_here (x int)")
    assert wh.denied(r, "CREATE VIEW reporting_was_here AS SELECT 1 AS x")


# ----------------------------------------------------------------------------- county logins
@pytest.mark.parametrize("county", [A, B])
def test_a_county_login_sees_only_its_own_rows(wh: Warehouse, county: str) -> None:
    login = wh.roles.county_logins[county]
    cs = wh.roles.county_schema
    assert wh.rows(login, "SELECT current_schemas(false)", schema=False) == [([cs],)]  # its search_path
    for view in COUNTY_ROW_VIEWS:
        mine = wh.rows(login, f"SELECT county_code FROM {view}", schema=False)
        everyone = wh.rows(None, f"SELECT county_code FROM {view} WHERE county_code = '{county}'")
        assert sorted(mine) == sorted(everyone), view
    areas = wh.rows(login, "SELECT area_level, area_code FROM rpt_area_summary", schema=False)
    assert {a for a in areas} <= {("county", county)}
    if county == A:  # the accepted county: its data is there, with the province share
        assert wh.rows(login, "SELECT count(*) FROM rpt_branch_rating", schema=False)[0][0] == 3
        (share,) = wh.rows(
            login, "SELECT DISTINCT province_three_plus_share FROM rpt_area_summary", schema=False
        )[0:1] or [(None,)]
        assert share is not None
    else:
        assert wh.rows(login, "SELECT count(*) FROM rpt_dq_issue", schema=False)[0][0] >= 1
        assert wh.rows(login, "SELECT count(*) FROM rpt_branch_rating", schema=False) == [(0,)]


@pytest.mark.parametrize("county", [A, B])
def test_a_county_login_reads_nothing_else(wh: Warehouse, county: str) -> None:
    login = wh.roles.county_logins[county]
    cs = wh.roles.county_schema
    for table in TABLES:
        assert wh.denied(login, f'SELECT * FROM "{wh.schema}".{table}'), table
    for view in VIEWS:
        assert wh.denied(login, f'SELECT * FROM "{wh.schema}".{view}'), view
    assert wh.denied(login, f'SELECT * FROM "{cs}".login_county')
    assert wh.denied(login, f'SELECT * FROM "{cs}"._all_rpt_area_summary')
    # A view over every county has no county copy: not there, and the warehouse's is denied.
    county_views = {
        r[0] for r in wh.rows(None, f"SELECT viewname FROM pg_views WHERE schemaname = '{cs}'")
    }  # fmt: skip
    assert set(COUNTY_ROW_VIEWS) | {"rpt_area_summary"} <= county_views
    assert "rpt_area_history" not in county_views
    for owner in (wh.roles.county_views, wh.roles.county_agg, wh.roles.loader):
        assert wh.denied(login, f'SET ROLE "{owner}"') or _set_role_fails(wh, login, owner)


def _set_role_fails(wh: Warehouse, login: str, role: str) -> bool:
    try:
        wh.rows(login, f'SET ROLE "{role}"', schema=False)
    except sa_exc.DBAPIError:
        return True
    return False


def test_row_level_security_is_on_every_county_table_and_the_loader_is_exempt(wh: Warehouse) -> None:
    rows = wh.rows(
        None,
        "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity FROM pg_class c "
        f"WHERE c.relnamespace = '{wh.schema}'::regnamespace AND c.relkind = 'r' "
        "AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'county_code')",
    )
    assert rows and all(on and not forced for _, on, forced in rows), rows
    # The loader (owner) still sees everything directly.
    assert {c for (c,) in wh.rows(wh.roles.loader, "SELECT county_code FROM submission")} == {A, B}


# ----------------------------------------------------------------------------- passwords
def _scram_matches(verifier: str, password: str) -> bool:
    """RFC 5802/7677: does a stored SCRAM-SHA-256 verifier belong to `password`?"""
    method, rest = verifier.split("$", 1)
    iterations_salt, keys = rest.split("$")
    iterations, salt = iterations_salt.split(":")
    stored_key, _server_key = keys.split(":")
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(salt), int(iterations))
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    return method == "SCRAM-SHA-256" and hashlib.sha256(client_key).digest() == base64.b64decode(stored_key)


def test_passwords_are_stored_as_scram_verifiers(wh: Warehouse) -> None:
    wanted = {
        wh.roles.loader: LOADER_PW,
        wh.roles.reporting: REPORT_PW,
        **{wh.roles.county_logins[c]: p for c, p in COUNTY_PW.items()},
    }
    stored = dict(
        wh.rows(
            None, f"SELECT rolname, rolpassword FROM pg_authid WHERE rolname LIKE 'fst{TAG}%' AND rolcanlogin"
        )
    )
    assert stored.keys() == wanted.keys()
    for role, password in wanted.items():
        assert _scram_matches(stored[role], password), role
        assert not _scram_matches(stored[role], password + "x")


def _grep(text: str) -> list[str]:
    return [f for f in FORMS if f in text]


def test_passwords_never_in_logs_run_records_or_files(wh: Warehouse) -> None:
    out = wh.cli.stdout.decode("utf-8", "replace") + wh.cli.stderr.decode("utf-8", "replace")
    assert wh.cli.returncode == 0, out[-3000:]
    assert _grep(out) == []
    failed = wh.rows(None, "SELECT error FROM alert_delivery WHERE outcome = 'failed'")
    assert failed, "the SMTP server is down: failed deliveries must be recorded"
    dump = []
    for (table,) in wh.rows(
        None,
        f"SELECT table_name FROM information_schema.tables WHERE table_schema = '{wh.schema}' ORDER BY 1",
    ):
        dump += [repr(r) for r in wh.rows(None, f'SELECT * FROM "{wh.schema}"."{table}"')]
    text = "\n".join(dump)
    assert _grep(text) == []
    run_rows = wh.rows(None, f'SELECT params, summary FROM "{wh.schema}".run')
    assert run_rows and _grep(repr(run_rows)) == []
    for p in wh.root.rglob("*"):  # processed files, and Prefect's own database (artifacts, params, logs)
        if p.is_file() and "raw" not in p.parts and "config" not in p.parts:
            data = p.read_bytes()
            assert not [f for f in FORMS if f.encode() in data], p


def test_passwords_never_in_error_messages(wh: Warehouse) -> None:
    env = clean_env()
    env.update(PREFECT_HOME=str(wh.root / ".prefect-err"), FIVESTAR_CONFIG_DIR=str(wh.root / "config"))
    closed = URL.create(
        "postgresql+psycopg",
        wh.roles.loader,
        LOADER_PW,
        "127.0.0.1",
        free_port(),
        make_url(wh.db_url).database,
    )
    wrong_db = make_url(wh.url(wh.roles.loader, LOADER_PW)).set(database=f"nope_{TAG}")
    for url in (closed, wrong_db):
        env["FIVESTAR_WAREHOUSE_URL"] = url.render_as_string(hide_password=False)
        proc = subprocess.run(
            [sys.executable, "-m", "fivestar.cli", "run"],
            env=env,
            cwd=wh.root,
            capture_output=True,
            timeout=300,
        )
        text = proc.stdout.decode("utf-8", "replace") + proc.stderr.decode("utf-8", "replace")
        assert proc.returncode == 3, text[-2000:]
        assert "Cannot reach the warehouse" in text
        assert _grep(text) == []


def test_apply_roles_never_logs_or_raises_a_password(
    wh: Warehouse, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import fivestar.warehouse.roles as roles_mod

    url = make_url(wh.url())
    engine = create_engine(url, echo=True)  # every SQL statement is logged
    caplog.set_level(logging.DEBUG)
    try:
        prefix = wh.roles.loader.removesuffix("_loader")
        apply_roles(
            engine,
            prefix=prefix,
            loader_password=LOADER_PW,
            reporting_password=REPORT_PW,
            county_logins=dict(COUNTY_PW),
        )
        assert "ALTER ROLE" in caplog.text and "SCRAM-SHA-256$" in caplog.text
        # A failure after the passwords were set: the error names the failing SQL, never a password.
        monkeypatch.setattr(
            roles_mod, "report_views", lambda: [("rpt_broken", "SELECT * FROM no_such_table")]
        )
        with pytest.raises(sa_exc.DBAPIError) as err:
            apply_roles(
                engine,
                prefix=prefix,
                loader_password=LOADER_PW,
                reporting_password=REPORT_PW,
                county_logins=dict(COUNTY_PW),
            )
        assert _grep(str(err.value)) == [] and _grep(repr(err.value)) == []
    finally:
        engine.dispose()
    assert _grep(caplog.text) == []
    # The failed call rolled back: the county views of the first call are intact.
    login = wh.roles.county_logins[A]
    assert wh.rows(login, "SELECT count(*) FROM rpt_submission", schema=False) == [(1,)]


def test_passwords_come_from_the_environment() -> None:
    got = passwords_from_env(
        {
            "FIVESTAR_LOADER_PASSWORD": "a",
            "FIVESTAR_REPORTING_PASSWORD": "b",
            "FIVESTAR_COUNTY_PASSWORD_410522": "c",
            "FIVESTAR_COUNTY_PASSWORD_410523": "",
        }
    )
    assert got == {"loader_password": "a", "reporting_password": "b", "county_logins": {"410522": "c"}}
    assert passwords_from_env({})["county_logins"] is None


def test_roles_refuse_sqlite(tmp_path: Path) -> None:
    from fivestar.warehouse.roles import RolesError

    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with pytest.raises(RolesError, match="PostgreSQL"):
        apply_roles(engine)
    engine.dispose()


# ----------------------------------------------------------------------------- readers never break or stall a run
def test_a_reporting_temp_view_does_not_break_the_next_run(wh: Warehouse) -> None:
    """A BI login keeps `CREATE TEMP VIEW … AS SELECT * FROM rpt_submission` open: the next
    `fivestar run` (views unchanged: left alone, never dropped under readers) exits 0."""
    assert wh.env is not None
    bi = create_engine(wh.url(wh.roles.reporting, REPORT_PW))
    try:
        with bi.connect() as conn:
            conn.exec_driver_sql("CREATE TEMP VIEW v AS SELECT * FROM rpt_submission")
            conn.commit()
            proc = subprocess.run(
                [sys.executable, "-m", "fivestar.cli", "run"],
                env={**wh.env, "PREFECT_HOME": str(wh.root / ".prefect-again")},
                cwd=wh.root,
                capture_output=True,
                timeout=900,
            )
            out = proc.stdout.decode("utf-8", "replace") + proc.stderr.decode("utf-8", "replace")
            assert proc.returncode == 0, out[-3000:]
            assert conn.exec_driver_sql("SELECT count(*) FROM v").scalar() == 2  # the reader's view works
    finally:
        bi.dispose()


def test_reporting_and_county_logins_cannot_take_or_stall_the_run_lock(wh: Warehouse) -> None:
    from fivestar.warehouse import run_lock
    from fivestar.warehouse.dialect import advisory_key

    reporting = make_engine(wh.url(wh.roles.reporting, REPORT_PW))
    loader = make_engine(wh.url(wh.roles.loader, LOADER_PW))
    try:
        with (
            pytest.raises(sa_exc.ProgrammingError, match="permission denied"),
            run_lock(reporting, wait=False),
        ):
            pass
        for mode in ("EXCLUSIVE", "ACCESS EXCLUSIVE", "SHARE ROW EXCLUSIVE", "ACCESS SHARE"):
            assert wh.denied(wh.roles.reporting, f"BEGIN; LOCK TABLE run_lock IN {mode} MODE; COMMIT")
            for login in wh.roles.county_logins.values():
                assert wh.denied(login, f'BEGIN; LOCK TABLE "{wh.schema}".run_lock IN {mode} MODE; COMMIT')
        # The advisory keys earlier releases locked on are no obstacle any more.
        with reporting.connect() as conn:
            for name in ("run", "schema"):
                assert conn.exec_driver_sql(
                    f"SELECT pg_try_advisory_lock({advisory_key(name, wh.schema)})"
                ).scalar()
            ensure_schema(loader)
            with run_lock(loader, wait=False):
                pass
    finally:
        reporting.dispose()
        loader.dispose()
