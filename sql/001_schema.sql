-- fivestar warehouse tables (portable: SQLite 3.35+ and PostgreSQL 13+).
-- The head schema, for reading and for tests: warehouses get it from the Alembic revisions
-- (fivestar/warehouse/migrations); tests/test_migrations.py checks that they arrive at it.
-- The only dialect tokens are {{...}} placeholders replaced by fivestar/warehouse/dialect.py.
-- Timestamps are naive local time; periods are 'YYYY-MM' text; all codes are text.
-- No foreign keys: facts are replaced by (county_code, period, version) delete-then-insert
-- inside one transaction, and provenance is the key itself (-> submission -> file_sha256).

-- ---------------------------------------------------------------- bookkeeping
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT
);

CREATE TABLE IF NOT EXISTS run (
    run_id        TEXT PRIMARY KEY,
    started_at    TIMESTAMP NOT NULL,
    finished_at   TIMESTAMP,
    params        TEXT,          -- JSON
    outcome       TEXT,          -- running | completed | failed
    rulebook_hash TEXT,
    summary       TEXT           -- JSON or plain text
);

-- Replaced from config/registry.csv on each run (sync_registry).
CREATE TABLE IF NOT EXISTS registry_region (
    code        TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    level       TEXT NOT NULL,   -- province | city | county | branch
    parent_code TEXT,
    branch_type TEXT,            -- 村 | 社区 (branch rows only)
    township    TEXT
);
CREATE INDEX IF NOT EXISTS ix_registry_region_parent ON registry_region (parent_code, level);

-- One row per processed file version of a county-month (submission.md "Where files arrive").
CREATE TABLE IF NOT EXISTS submission (
    county_code   TEXT NOT NULL,
    period        TEXT NOT NULL,
    version       INTEGER NOT NULL,
    file_name     TEXT,
    file_sha256   TEXT,
    archive_path  TEXT,
    received_at   TIMESTAMP,
    processed_at  TIMESTAMP,
    status        TEXT NOT NULL,  -- accepted | accepted_with_warnings | rejected | superseded
    errors        INTEGER NOT NULL DEFAULT 0,
    warnings      INTEGER NOT NULL DEFAULT 0,
    run_id        TEXT,
    rulebook_hash TEXT,
    county_name   TEXT,
    submitter     TEXT,
    phone         TEXT,
    email         TEXT,
    PRIMARY KEY (county_code, period, version)
);
CREATE INDEX IF NOT EXISTS ix_submission_sha ON submission (file_sha256);
CREATE INDEX IF NOT EXISTS ix_submission_status ON submission (status, county_code, period);

-- Findings of a version (validate -> dq_issue). cell is an A1 reference without the sheet.
CREATE TABLE IF NOT EXISTS dq_issue (
    county_code TEXT NOT NULL,
    period      TEXT NOT NULL,
    version     INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    severity    TEXT NOT NULL,    -- error | warning
    sheet       TEXT,
    row_number  INTEGER,
    cell        TEXT,
    column_name TEXT,
    value       TEXT,
    rule        TEXT,
    message     TEXT,
    explained   BOOLEAN NOT NULL DEFAULT FALSE,
    branch_code TEXT,
    PRIMARY KEY (county_code, period, version, seq)
);

-- ---------------------------------------------------------------- facts (one per sheet)
CREATE TABLE IF NOT EXISTS roster (
    county_code    TEXT NOT NULL,
    period         TEXT NOT NULL,
    version        INTEGER NOT NULL,
    branch_code    TEXT NOT NULL,
    branch_name    TEXT,
    branch_type    TEXT NOT NULL,
    township       TEXT,
    members        INTEGER,
    households     INTEGER,
    secretary_name TEXT,
    secretary_age  INTEGER,
    sheet_row      INTEGER,
    PRIMARY KEY (county_code, period, version, branch_code)
);
CREATE INDEX IF NOT EXISTS ix_roster_branch ON roster (branch_code, period);

-- 村指标 and 社区指标 in long form: one row per branch and indicator.
CREATE TABLE IF NOT EXISTS indicator_value (
    county_code   TEXT NOT NULL,
    period        TEXT NOT NULL,
    version       INTEGER NOT NULL,
    branch_code   TEXT NOT NULL,
    indicator_key TEXT NOT NULL,
    value         DOUBLE PRECISION,
    sheet         TEXT,
    sheet_row     INTEGER,
    cell          TEXT,
    PRIMARY KEY (county_code, period, version, branch_code, indicator_key)
);

CREATE TABLE IF NOT EXISTS ledger (
    county_code  TEXT NOT NULL,
    period       TEXT NOT NULL,
    version      INTEGER NOT NULL,
    seq          INTEGER NOT NULL,   -- Excel row of the event
    event_date   DATE,
    branch_code  TEXT NOT NULL,
    subject_type TEXT NOT NULL,
    subject_id   TEXT NOT NULL,
    item_code    TEXT NOT NULL,
    points       DOUBLE PRECISION,
    note         TEXT,
    sheet_row    INTEGER,
    PRIMARY KEY (county_code, period, version, seq)
);
-- No index on branch_code: no query or view reads the ledger by branch (derivation reads
-- whole counties by the key), and maintaining one costs ~40% of loading 1.5 M rows.
DROP INDEX IF EXISTS ix_ledger_branch;

CREATE TABLE IF NOT EXISTS vetoes (
    county_code TEXT NOT NULL,
    period      TEXT NOT NULL,
    version     INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    event_date  DATE,
    branch_code TEXT NOT NULL,
    veto_code   TEXT NOT NULL,
    note        TEXT,
    sheet_row   INTEGER,
    PRIMARY KEY (county_code, period, version, seq)
);

CREATE TABLE IF NOT EXISTS explanations (
    county_code TEXT NOT NULL,
    period      TEXT NOT NULL,
    version     INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    location    TEXT,
    note        TEXT,
    sheet_row   INTEGER,
    PRIMARY KEY (county_code, period, version, seq)
);

-- ---------------------------------------------------------------- derived (score.py / tally.py)
-- One as-of rating per branch, year and accepted month of that year.
CREATE TABLE IF NOT EXISTS branch_rating (
    year             INTEGER NOT NULL,
    as_of_period     TEXT NOT NULL,
    county_code      TEXT NOT NULL,
    branch_code      TEXT NOT NULL,
    branch_type      TEXT,
    months_accepted  INTEGER,
    is_final         BOOLEAN NOT NULL DEFAULT FALSE,
    is_latest        BOOLEAN NOT NULL DEFAULT FALSE,
    star_level       INTEGER NOT NULL,
    as_of_version    INTEGER,        -- version of the as-of month's submission used
    source_versions  TEXT,           -- 'YYYY-MM:v,...' of every month of the year used
    rulebook_hash    TEXT,
    run_id           TEXT,
    PRIMARY KEY (year, as_of_period, branch_code)
);
CREATE INDEX IF NOT EXISTS ix_branch_rating_county ON branch_rating (county_code, year, as_of_period);

CREATE TABLE IF NOT EXISTS branch_star (
    year            INTEGER NOT NULL,
    as_of_period    TEXT NOT NULL,
    county_code     TEXT NOT NULL,
    branch_code     TEXT NOT NULL,
    star_code       TEXT NOT NULL,
    star_name       TEXT,
    indicator_score DOUBLE PRECISION,
    points_score    DOUBLE PRECISION,
    total_score     DOUBLE PRECISION,
    awarded         BOOLEAN NOT NULL DEFAULT FALSE,
    vetoed          BOOLEAN NOT NULL DEFAULT FALSE,
    gate_failed     BOOLEAN NOT NULL DEFAULT FALSE,
    reason          TEXT,
    PRIMARY KEY (year, as_of_period, branch_code, star_code)
);
CREATE INDEX IF NOT EXISTS ix_branch_star_county ON branch_star (county_code, year);

CREATE TABLE IF NOT EXISTS branch_indicator_score (
    year          INTEGER NOT NULL,
    as_of_period  TEXT NOT NULL,
    county_code   TEXT NOT NULL,
    branch_code   TEXT NOT NULL,
    star_code     TEXT NOT NULL,
    indicator_key TEXT NOT NULL,
    header        TEXT,
    value         DOUBLE PRECISION,
    rule          TEXT,
    points        DOUBLE PRECISION,
    hint          TEXT,
    PRIMARY KEY (year, as_of_period, branch_code, star_code, indicator_key)
);
CREATE INDEX IF NOT EXISTS ix_branch_indicator_score_county ON branch_indicator_score (county_code, year);

CREATE TABLE IF NOT EXISTS branch_change (
    year            INTEGER NOT NULL,
    as_of_period    TEXT NOT NULL,
    county_code     TEXT NOT NULL,
    branch_code     TEXT NOT NULL,
    basis           TEXT NOT NULL,   -- prev_month | prev_year
    compared_period TEXT,
    level_before    INTEGER,
    level_after     INTEGER,
    stars_gained    TEXT,            -- star codes joined with '|'
    stars_lost      TEXT,
    reason          TEXT,
    PRIMARY KEY (year, as_of_period, branch_code, basis)
);
CREATE INDEX IF NOT EXISTS ix_branch_change_county ON branch_change (county_code, year);

CREATE TABLE IF NOT EXISTS points_tally (
    period              TEXT NOT NULL,
    county_code         TEXT NOT NULL,
    branch_code         TEXT NOT NULL,
    subject_type        TEXT NOT NULL,
    subject_id          TEXT NOT NULL,
    earned              DOUBLE PRECISION,
    deducted            DOUBLE PRECISION,
    redeemed            DOUBLE PRECISION,
    net                 DOUBLE PRECISION,
    cumulative_earned   DOUBLE PRECISION,
    cumulative_net      DOUBLE PRECISION,
    cumulative_redeemed DOUBLE PRECISION,
    balance             DOUBLE PRECISION,
    PRIMARY KEY (period, branch_code, subject_type, subject_id)
);
CREATE INDEX IF NOT EXISTS ix_points_tally_county ON points_tally (county_code, period);

CREATE TABLE IF NOT EXISTS branch_points (
    period               TEXT NOT NULL,
    county_code          TEXT NOT NULL,
    branch_code          TEXT NOT NULL,
    households_active    INTEGER,
    members_active       INTEGER,
    households_positive  INTEGER,
    participation_rate   DOUBLE PRECISION,
    avg_household_points DOUBLE PRECISION,
    PRIMARY KEY (period, branch_code)
);
CREATE INDEX IF NOT EXISTS ix_branch_points_county ON branch_points (county_code, period);

-- Work list of derivation: survives a crash, emptied only together with the derived rows.
CREATE TABLE IF NOT EXISTS derive_queue (
    county_code TEXT NOT NULL,
    year        INTEGER NOT NULL,
    enqueued_at TIMESTAMP,
    PRIMARY KEY (county_code, year)
);

-- ---------------------------------------------------------------- alerts
CREATE TABLE IF NOT EXISTS alert_delivery (
    id           {{AUTO_ID}},
    run_id       TEXT,
    county_code  TEXT,
    period       TEXT,
    version      INTEGER,
    channel      TEXT NOT NULL,   -- email | webhook | digest
    recipient    TEXT,
    attempted_at TIMESTAMP,
    attempt      INTEGER NOT NULL DEFAULT 1,
    outcome      TEXT NOT NULL,   -- sent | failed | queued (not tried: budget) | given_up
    error        TEXT,
    alert_key    TEXT             -- e.g. submission:<county>:<period>:v<version> (alerts.deliver)
);
CREATE INDEX IF NOT EXISTS ix_alert_delivery_sub ON alert_delivery (county_code, period, version);

-- ---------------------------------------------------------------- run lock
-- Never holds rows. On PostgreSQL a run holds LOCK TABLE run_lock IN EXCLUSIVE MODE for
-- its whole duration (fivestar/warehouse/lock.py): only roles that may write this table
-- (its owner, the loader) can take that lock, so reporting logins cannot stall a run.
CREATE TABLE IF NOT EXISTS run_lock (
    note TEXT
);

-- Messages that cannot be rebuilt from other tables (the IT digest), kept until every
-- target has it or is given up, so later runs can retry them (fivestar.alerts.outbox).
CREATE TABLE IF NOT EXISTS alert_outbox (
    alert_key     TEXT PRIMARY KEY,  -- digest:<period>:<content hash>
    period        TEXT,
    created_at    TIMESTAMP,
    subject       TEXT NOT NULL,
    body_text     TEXT NOT NULL,
    body_markdown TEXT NOT NULL,
    status        TEXT,
    meta          TEXT              -- JSON
);

-- ---------------------------------------------------------------- closing (issue 16)
-- One row per `fivestar close` / `fivestar reopen` (rpt_period_event). county_code '' is a
-- whole-period close; the latest event naming a county-month (or its whole period, '')
-- decides whether it is closed (fivestar.warehouse.periods). `at` is UTC.
CREATE TABLE IF NOT EXISTS period_event (
    id          {{AUTO_ID}},
    period      TEXT NOT NULL,
    county_code TEXT NOT NULL DEFAULT '',
    action      TEXT NOT NULL,   -- close | reopen
    actor       TEXT,
    at          TIMESTAMP NOT NULL,
    reason      TEXT
);
CREATE INDEX IF NOT EXISTS ix_period_event_period ON period_event (period, county_code);

-- Completeness and timeliness per registered county and period, as of the latest run's
-- "now" (refreshed by every run: fivestar.completeness); rpt_completeness reads it and
-- adds whether the county-month is closed now. Timestamps are UTC.
CREATE TABLE IF NOT EXISTS completeness (
    period             TEXT NOT NULL,
    county_code        TEXT NOT NULL,
    county_name        TEXT,
    city_code          TEXT,
    deadline           TIMESTAMP NOT NULL,
    expected           BOOLEAN NOT NULL DEFAULT TRUE,
    first_received_at  TIMESTAMP,
    last_received_at   TIMESTAMP,
    versions           INTEGER NOT NULL DEFAULT 0,
    current_version    INTEGER,
    status             TEXT NOT NULL,     -- a submission status, or missing
    on_time            BOOLEAN NOT NULL DEFAULT FALSE,
    days_late          INTEGER,
    accepted_version   INTEGER,           -- the earliest-received accepted version
    accepted_at        TIMESTAMP,         -- its received_at
    late_closed        INTEGER NOT NULL DEFAULT 0,  -- versions waiting as late_closed
    as_of              TIMESTAMP,         -- the run's "now"
    PRIMARY KEY (period, county_code)
);
