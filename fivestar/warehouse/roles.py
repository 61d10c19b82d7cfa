"""Least-privilege PostgreSQL roles for the warehouse (sql/roles_postgres.sql).

In: an Engine connected as a superuser (or a role that may create roles and owns the
warehouse) whose search_path names the warehouse schema; passwords as arguments
(`python -m fivestar.warehouse.roles` reads them from the environment only).
Out: these roles, created if missing and (re)granted on every call (idempotent):

- `<prefix>_loader` — LOGIN; owns the warehouse schema and every table and view in it.
  The pipeline connects as this role (FIVESTAR_WAREHOUSE_URL), so the views it
  replaces after an upgrade stay owned by it and keep their grants.
- `<prefix>_reporting` — LOGIN for BI tools: USAGE on the schema and SELECT on the
  `rpt_*` views only; every table (facts, submitters' contacts, run records) is closed,
  `run_lock` too: only the loader can take the run lock (lock.py), no reader stalls a run.
- county logins (optional) `<prefix>_county_<code>` — each sees the `rpt_*` views with
  only its own county's rows. Row-level security on every base table that has a
  `county_code` column (ENABLE, not FORCE: the loader, the owner, is exempt and its COPY
  loads keep working) lets the role `<prefix>_county_views` read only the rows of the
  county mapped to `current_user` in `<county schema>.login_county`; that role owns
  county copies of the rpt_* views (WITH security_barrier) in the county schema
  (`<schema>_county` by default), which is the county login's search_path. Views do
  not switch users, so `current_user` in the policy is the county login. The county
  copy of `rpt_area_summary` (owned by `<prefix>_county_agg`, whose policy sees every
  row, so the province share stays right) returns only the caller's county rows.
  The copies are rebuilt on every call: re-run after an upgrade that changes the views.

Passwords never travel in SQL text, logs or error messages: only a SCRAM-SHA-256
verifier computed on the client (libpq's PQencryptPasswordConn) is sent.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection, Engine

from fivestar.settings import load_admin_settings
from fivestar.warehouse import dialect
from fivestar.warehouse.engine import check_reachable, make_engine, safe_url
from fivestar.warehouse.schema import schema_statements
from fivestar.warehouse.views import load_views, view_contracts

log = logging.getLogger(__name__)

ROLES_SQL = Path(__file__).resolve().parents[2] / "sql" / "roles_postgres.sql"
_CREATE_VIEW = re.compile(r"^CREATE\s+VIEW\s+([a-z_][a-z0-9_]*)\s+AS\s+(.*)$", re.IGNORECASE | re.DOTALL)
_COUNTY_CODE = re.compile(r"^\d{6}$")
_PREFIX = re.compile(r"^[a-z][a-z0-9_]{0,30}$")


class RolesError(RuntimeError):
    """The roles cannot be applied (wrong database, bad input); never quotes a password."""


@dataclass(frozen=True)
class Roles:
    """Names of what apply_roles created or updated."""

    schema: str
    county_schema: str | None
    loader: str
    reporting: str
    county_views: str
    county_agg: str
    county_logins: dict[str, str] = field(default_factory=dict)  # county code -> login name
    views: tuple[str, ...] = ()


def role_names(prefix: str = "fivestar") -> dict[str, str]:
    return {
        "loader": f"{prefix}_loader",
        "reporting": f"{prefix}_reporting",
        "county_views": f"{prefix}_county_views",
        "county_agg": f"{prefix}_county_agg",
    }


def county_login_name(prefix: str, county_code: str) -> str:
    return f"{prefix}_county_{county_code}"


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def sections(path: Path = ROLES_SQL) -> dict[str, list[str]]:
    """`-- @section NAME` blocks of the roles script, as statement templates."""
    out: dict[str, list[str]] = {}
    name = ""
    chunk: list[str] = []
    for line in [*path.read_text(encoding="utf-8").splitlines(), "-- @section end"]:
        m = re.match(r"^--\s*@section\s+(\S+)", line)
        if m:
            if name:
                out[name] = dialect.split_statements("\n".join(chunk))
            name, chunk = m.group(1), []
        else:
            chunk.append(line)
    return out


def scram_verifier(conn: Connection, role: str, password: str) -> str:
    """SCRAM-SHA-256 verifier of `password`, computed by libpq on the client."""
    pgconn = conn.connection.driver_connection.pgconn  # type: ignore[union-attr]
    return pgconn.encrypt_password(password.encode(), role.encode(), b"scram-sha-256").decode()


def _exists(conn: Connection, role: str) -> bool:
    return bool(conn.exec_driver_sql("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).first())


def _ensure_role(conn: Connection, role: str, *, login: bool, password: str | None) -> None:
    q = quote_ident(role)
    attrs = "LOGIN" if login else "NOLOGIN"
    # No superuser, no role creation, no RLS bypass: a policy applies to every one of these.
    attrs += " NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS"
    if not _exists(conn, role):
        conn.exec_driver_sql(f"CREATE ROLE {q} {attrs}")
    else:
        conn.exec_driver_sql(f"ALTER ROLE {q} {attrs}")
    if password:
        conn.exec_driver_sql(f"ALTER ROLE {q} PASSWORD {quote_literal(scram_verifier(conn, role, password))}")


def _run(conn: Connection, templates: list[str], **values: str) -> None:
    for template in templates:
        conn.exec_driver_sql(template.format(**values), execution_options={"no_parameters": True})


def _objects(conn: Connection, schema: str) -> Iterator[tuple[str, str]]:
    """(TABLE|VIEW, name) of every table and view in the schema."""
    rows = conn.exec_driver_sql(
        "SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'v', 'm') ORDER BY c.relkind, c.relname",
        (schema,),
    ).all()
    for name, kind in rows:
        yield ("VIEW" if kind == "v" else "MATERIALIZED VIEW" if kind == "m" else "TABLE"), name


def _county_tables(conn: Connection, schema: str) -> list[str]:
    rows = conn.exec_driver_sql(
        "SELECT c.table_name FROM information_schema.columns c "
        "JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name "
        "WHERE c.table_schema = %s AND c.column_name = 'county_code' AND t.table_type = 'BASE TABLE' "
        "ORDER BY 1",
        (schema,),
    ).all()
    return [r[0] for r in rows]


def report_views() -> list[tuple[str, str]]:
    """(name, SELECT body) of every rpt_* view of sql/ with a county copy, in creation order."""
    # A view that aggregates every county (county_copy: false in its .yml) would show a
    # county login wrong totals from its own rows: it gets no county copy.
    no_copy = {v.name for v in load_views() if not v.county_copy}
    out = []
    for stmt in schema_statements(dialect.POSTGRES):
        m = _CREATE_VIEW.match(stmt.strip())
        if m and m.group(1).startswith("rpt_") and m.group(1) not in no_copy:
            out.append((m.group(1), m.group(2)))
    return out


def _county_views(conn: Connection, schema: str, cschema: str, owner: str, agg: str) -> list[str]:
    """County copies of the rpt_* views in `cschema`; returns the names granted to logins."""
    qs, qc = quote_ident(schema), quote_ident(cschema)
    # Copies of the views of sql/views/ the warehouse has (one behind head lacks the newest,
    # and their tables); anything else named is attempted (and fails loudly).
    known = set(view_contracts())
    present = {
        n
        for (n,) in conn.exec_driver_sql(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind = 'v'",
            (schema,),
        ).all()
    }
    views = [(n, b) for n, b in report_views() if n in present or n not in known]
    existing = conn.exec_driver_sql(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relkind = 'v'",
        (cschema,),
    ).all()
    for (name,) in existing:
        conn.exec_driver_sql(f"DROP VIEW IF EXISTS {qc}.{quote_ident(name)} CASCADE")
    # Unqualified names in the bodies: other rpt_* views resolve to the county copies,
    # tables to the warehouse schema.
    conn.exec_driver_sql(f"SET LOCAL search_path = {qc}, {qs}")
    granted = []
    bodies = dict(views)
    for name, body in views:
        if name == "rpt_area_summary":
            continue
        conn.exec_driver_sql(f"CREATE VIEW {qc}.{name} WITH (security_barrier) AS {body}")
        conn.exec_driver_sql(f"ALTER VIEW {qc}.{name} OWNER TO {quote_ident(owner)}")
        granted.append(name)
    if "rpt_area_summary" in bodies and "rpt_branch_rating" in bodies:
        # Computed over every county (the province share), then cut to the caller's county.
        conn.exec_driver_sql(f"CREATE VIEW {qc}._all_rpt_branch_rating AS {bodies['rpt_branch_rating']}")
        area = re.sub(r"\brpt_branch_rating\b", "_all_rpt_branch_rating", bodies["rpt_area_summary"])
        conn.exec_driver_sql(f"CREATE VIEW {qc}._all_rpt_area_summary AS {area}")
        conn.exec_driver_sql(
            f"CREATE VIEW {qc}.rpt_area_summary WITH (security_barrier) AS "
            f"SELECT * FROM {qc}._all_rpt_area_summary s WHERE s.area_level = 'county' AND s.area_code IN "
            f"(SELECT lc.county_code FROM {qc}.login_county lc WHERE lc.login = current_user)"
        )
        for name in ("_all_rpt_branch_rating", "_all_rpt_area_summary", "rpt_area_summary"):
            conn.exec_driver_sql(f"ALTER VIEW {qc}.{name} OWNER TO {quote_ident(agg)}")
        granted.append("rpt_area_summary")
    conn.exec_driver_sql("SET LOCAL search_path TO DEFAULT")
    return granted


def apply_roles(
    engine: Engine,
    *,
    reporting_password: str | None = None,
    county_logins: dict[str, str] | None = None,
    loader_password: str | None = None,
    prefix: str = "fivestar",
    county_schema: str | None = None,
) -> Roles:
    """Create/update the loader, reporting and (optional) county-scoped roles; see the module doc.

    county_logins: {county code (6 digits): password}; each gets `<prefix>_county_<code>`.
    Idempotent: run it again after schema upgrades, new counties or password changes.
    """
    if not dialect.is_postgres(engine):
        raise RolesError("Roles apply to a PostgreSQL warehouse only (SQLite has no users).")
    if not _PREFIX.match(prefix):
        raise RolesError(f"Role prefix {prefix!r} must be lower-case letters, digits and '_' (max 31).")
    bad = [c for c in (county_logins or {}) if not _COUNTY_CODE.match(str(c))]
    if bad:
        raise RolesError(f"County logins need 6-digit county codes, got {bad!r}.")
    names = role_names(prefix)
    tmpl = sections()
    with engine.begin() as conn:
        conn.exec_driver_sql(dialect.PG_XACT_LOCK % dialect.advisory_key("roles", prefix))
        schema = conn.exec_driver_sql(dialect.PG_CURRENT_SCHEMA).scalar_one()
        if schema is None:
            raise RolesError("The connection has no current schema: set search_path to the warehouse schema.")
        database = conn.exec_driver_sql("SELECT current_database()").scalar_one()
        views = [n for (k, n) in _objects(conn, schema) if k == "VIEW" and n.startswith("rpt_")]
        if not views:
            raise RolesError(f"No rpt_* views in schema {schema!r}: run the pipeline (ensure_schema) first.")
        _ensure_role(conn, names["loader"], login=True, password=loader_password)
        _ensure_role(conn, names["reporting"], login=True, password=reporting_password)
        q = {k: quote_ident(v) for k, v in names.items()}
        base = {"schema": quote_ident(schema), "database": quote_ident(database), **q}
        _run(conn, tmpl["loader"], **base)
        for kind, obj in _objects(conn, schema):
            _run(conn, tmpl["per-object"], kind=kind, object=quote_ident(obj), **base)
        _run(conn, tmpl["reporting"], **base)
        for view in views:
            _run(conn, tmpl["per-reporting-view"], view=quote_ident(view), **base)
        cschema = None
        logins: dict[str, str] = {}
        if county_logins is not None:
            cschema = county_schema or f"{schema}_county"
            _ensure_role(conn, names["county_views"], login=False, password=None)
            _ensure_role(conn, names["county_agg"], login=False, password=None)
            base["cschema"] = quote_ident(cschema)
            _run(conn, tmpl["county"], **base)
            for table in _county_tables(conn, schema):
                _run(
                    conn,
                    tmpl["per-county-table"],
                    table=quote_ident(table),
                    policy_scope=quote_ident(f"{prefix}_county_scope"),
                    policy_all=quote_ident(f"{prefix}_county_all"),
                    **base,
                )
            granted = _county_views(conn, schema, cschema, names["county_views"], names["county_agg"])
            conn.exec_driver_sql(f"DELETE FROM {quote_ident(cschema)}.login_county")
            for code, password in sorted(county_logins.items()):
                login = county_login_name(prefix, code)
                logins[code] = login
                _ensure_role(conn, login, login=True, password=password)
                values = {"login": quote_ident(login), "login_text": quote_literal(login)}
                _run(conn, tmpl["per-county-login"], county_text=quote_literal(code), **values, **base)
                for view in granted:
                    _run(conn, tmpl["per-county-login-view"], view=quote_ident(view), **values, **base)
    log.info(
        "roles applied on %s: loader %s, reporting %s, %d county login(s)",
        safe_url(engine),
        names["loader"],
        names["reporting"],
        len(logins),
    )
    return Roles(
        schema=schema,
        county_schema=cschema,
        loader=names["loader"],
        reporting=names["reporting"],
        county_views=names["county_views"],
        county_agg=names["county_agg"],
        county_logins=logins,
        views=tuple(views),
    )


def drop_roles(engine: Engine, roles: list[str]) -> None:
    """Drop roles and everything they own or were granted in this database (tests, cleanup)."""
    with engine.begin() as conn:
        present = [r for r in roles if _exists(conn, r)]
        if present:
            conn.exec_driver_sql(f"DROP OWNED BY {', '.join(quote_ident(r) for r in present)} CASCADE")
            for r in present:
                conn.exec_driver_sql(f"DROP ROLE {quote_ident(r)}")


# ---------------------------------------------------------------------------- command line
def passwords_from_env(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """FIVESTAR_LOADER_PASSWORD, FIVESTAR_REPORTING_PASSWORD, FIVESTAR_COUNTY_PASSWORD_<code>
    (read by fivestar.settings), as apply_roles' keyword arguments."""
    a = load_admin_settings(environ)
    return {
        "loader_password": a.loader_password,
        "reporting_password": a.reporting_password,
        "county_logins": a.county_passwords or None,
    }


def main(argv: list[str] | None = None) -> int:
    """`python -m fivestar.warehouse.roles`: apply the roles with settings from the environment.

    FIVESTAR_ADMIN_URL (default FIVESTAR_WAREHOUSE_URL): a superuser connection to the
    warehouse database, its search_path at the warehouse schema; FIVESTAR_ROLE_PREFIX
    (default `fivestar`); passwords as in passwords_from_env.
    """
    del argv
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    admin = load_admin_settings()
    url = admin.admin_url
    if not url:
        print(
            "Set FIVESTAR_ADMIN_URL (or FIVESTAR_WAREHOUSE_URL) to a superuser PostgreSQL URL.",
            file=sys.stderr,
        )
        return 2
    engine = make_engine(url)
    try:
        check_reachable(engine)
        roles = apply_roles(engine, prefix=admin.role_prefix, **passwords_from_env())
    except Exception as exc:  # a plain message; the exception text never holds a password
        print(
            f"Could not apply the roles on {safe_url(engine)}: {type(exc).__name__}: {exc}", file=sys.stderr
        )
        return 1
    finally:
        engine.dispose()
    print(f"loader: {roles.loader}  reporting: {roles.reporting}  schema: {roles.schema}")
    for code, login in roles.county_logins.items():
        print(f"county {code}: {login} (views in schema {roles.county_schema})")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
