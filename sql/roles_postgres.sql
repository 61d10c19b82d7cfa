-- Least-privilege roles for a PostgreSQL warehouse (PostgreSQL 15+).
-- NOT applied by ensure_schema (which applies only the numbered files 001_*, 002_*, …):
-- run `python -m fivestar.warehouse.roles` as a superuser (see fivestar/warehouse/roles.py).
--
-- Placeholders, filled in by roles.py (identifiers quoted, literals escaped):
--   {schema}       the warehouse schema (tables + rpt_* views)
--   {cschema}      the county schema: county-scoped copies of the rpt_* views
--   {loader}       owns both schemas and every table and view; the pipeline logs in as it
--   {reporting}    BI tools: USAGE on {schema}, SELECT on the rpt_* views, nothing else
--   {county_views} owns the county-scoped views; row-level security filters its reads
--   {county_agg}   owns the county copy of rpt_area_summary (the province share needs
--                  every county), which itself returns only the caller's county rows
--   {database}     the current database
--   {kind} {object} / {view} / {table} / {policy_*} / {login} / {login_text} / {county_text}
--                  one object of a per-object section
-- Passwords never appear here: roles.py sends only SCRAM verifiers computed client-side.
-- `-- @section NAME` starts a section; roles.py runs each section once, or once per
-- object for the per-* sections. Every statement ends with ';' at a line end.

-- @section loader
ALTER SCHEMA {schema} OWNER TO {loader};
REVOKE CREATE ON SCHEMA {schema} FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE {database} TO {loader};

-- @section per-object
-- Tables and views; identity sequences follow their tables.
ALTER {kind} {schema}.{object} OWNER TO {loader};

-- @section reporting
GRANT CONNECT ON DATABASE {database} TO {reporting};
GRANT USAGE ON SCHEMA {schema} TO {reporting};
REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {reporting};
REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM PUBLIC;

-- @section per-reporting-view
GRANT SELECT ON {schema}.{view} TO {reporting};

-- @section county
CREATE SCHEMA IF NOT EXISTS {cschema} AUTHORIZATION {loader};
ALTER SCHEMA {cschema} OWNER TO {loader};
REVOKE ALL ON SCHEMA {cschema} FROM PUBLIC;
CREATE TABLE IF NOT EXISTS {cschema}.login_county (
    login       TEXT PRIMARY KEY,
    county_code TEXT NOT NULL
);
ALTER TABLE {cschema}.login_county OWNER TO {loader};
REVOKE ALL ON {cschema}.login_county FROM PUBLIC;
GRANT USAGE ON SCHEMA {schema} TO {county_views}, {county_agg};
GRANT USAGE, CREATE ON SCHEMA {cschema} TO {county_views}, {county_agg};
GRANT SELECT ON {cschema}.login_county TO {county_views}, {county_agg};
-- The public region list (names, parents) is read by the views; it holds no county data.
GRANT SELECT ON {schema}.registry_region TO {county_views}, {county_agg};

-- @section per-county-table
-- Every base table with a county_code column. ENABLE (not FORCE): the owner ({loader})
-- is not subject to RLS, so the pipeline (and its COPY loads) is unaffected; any other
-- role without a policy sees no rows at all.
ALTER TABLE {schema}.{table} ENABLE ROW LEVEL SECURITY;
GRANT SELECT ON {schema}.{table} TO {county_views}, {county_agg};
DROP POLICY IF EXISTS {policy_scope} ON {schema}.{table};
CREATE POLICY {policy_scope} ON {schema}.{table} FOR SELECT TO {county_views}
    USING (county_code IN (SELECT lc.county_code FROM {cschema}.login_county lc WHERE lc.login = current_user));
DROP POLICY IF EXISTS {policy_all} ON {schema}.{table};
CREATE POLICY {policy_all} ON {schema}.{table} FOR SELECT TO {county_agg} USING (true);

-- @section per-county-login
-- current_user inside a view is the caller (views do not switch users), so the policy
-- above and the rpt_area_summary filter see the county login, not the view owner.
GRANT CONNECT ON DATABASE {database} TO {login};
GRANT USAGE ON SCHEMA {cschema} TO {login};
ALTER ROLE {login} SET search_path = {cschema};
INSERT INTO {cschema}.login_county (login, county_code) VALUES ({login_text}, {county_text})
    ON CONFLICT (login) DO UPDATE SET county_code = excluded.county_code;

-- @section per-county-login-view
GRANT SELECT ON {cschema}.{view} TO {login};
