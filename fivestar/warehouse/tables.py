"""Column lists of the warehouse tables that Python writes (mirrors sql/001_schema.sql).

In: nothing. Out: ordered column names per table, and which of them must be present,
used by load.py and derive.py to pick and check frame columns before a bulk insert.
tests/warehouse/test_warehouse_schema.py checks these lists against the live DDL.
"""

from __future__ import annotations

VERSION_KEY = ("county_code", "period", "version")

SUBMISSION = (
    "county_code", "period", "version", "file_name", "file_sha256", "archive_path",
    "received_at", "processed_at", "status", "errors", "warnings", "run_id",
    "rulebook_hash", "county_name", "submitter", "phone", "email",
)  # fmt: skip

DQ_ISSUE = (
    "county_code", "period", "version", "seq", "severity", "sheet", "row_number", "cell",
    "column_name", "value", "rule", "message", "explained", "branch_code",
)  # fmt: skip

REGISTRY_REGION = ("code", "name", "level", "parent_code", "branch_type", "township")

RUN = ("run_id", "started_at", "finished_at", "params", "outcome", "rulebook_hash", "summary")

DERIVE_QUEUE = ("county_code", "year", "enqueued_at")

RUN_LOCK = ("note",)  # never holds rows: PostgreSQL runs lock the table (lock.py)

ALERT_DELIVERY = (
    "id", "run_id", "county_code", "period", "version", "channel", "recipient",
    "attempted_at", "attempt", "outcome", "error", "alert_key",
)  # fmt: skip

ALERT_OUTBOX = (
    "alert_key", "period", "created_at", "subject", "body_text", "body_markdown", "status", "meta",
)  # fmt: skip

META = ("key", "value")

PERIOD_EVENT = ("id", "period", "county_code", "action", "actor", "at", "reason")

COMPLETENESS = (
    "period", "county_code", "county_name", "city_code", "deadline", "expected",
    "first_received_at", "last_received_at", "versions", "current_version", "status",
    "on_time", "days_late", "accepted_version", "accepted_at", "late_closed", "as_of",
)  # fmt: skip

# Fact tables: all columns, and those a loaded frame must carry (besides the version key).
FACTS: dict[str, tuple[str, ...]] = {
    "roster": (
        *VERSION_KEY, "branch_code", "branch_name", "branch_type", "township", "members",
        "households", "secretary_name", "secretary_age", "sheet_row",
    ),
    "indicator_value": (
        *VERSION_KEY, "branch_code", "indicator_key", "value", "sheet", "sheet_row", "cell",
    ),
    "ledger": (
        *VERSION_KEY, "seq", "event_date", "branch_code", "subject_type", "subject_id",
        "item_code", "points", "note", "sheet_row",
    ),
    "vetoes": (*VERSION_KEY, "seq", "event_date", "branch_code", "veto_code", "note", "sheet_row"),
    "explanations": (*VERSION_KEY, "seq", "location", "note", "sheet_row"),
}  # fmt: skip
FACTS_REQUIRED: dict[str, tuple[str, ...]] = {
    "roster": ("branch_code", "branch_type"),
    "indicator_value": ("branch_code", "indicator_key", "value"),
    "ledger": ("seq", "branch_code", "subject_type", "item_code", "points"),
    "vetoes": ("branch_code", "veto_code"),
    "explanations": (),
}

# Derived tables (score.py / tally.py frames + county_code and traceability columns).
DERIVED: dict[str, tuple[str, ...]] = {
    "branch_rating": (
        "year", "as_of_period", "county_code", "branch_code", "branch_type", "months_accepted",
        "is_final", "is_latest", "star_level", "as_of_version", "source_versions",
        "rulebook_hash", "run_id",
    ),
    "branch_star": (
        "year", "as_of_period", "county_code", "branch_code", "star_code", "star_name",
        "indicator_score", "points_score", "total_score", "awarded", "vetoed", "gate_failed",
        "reason",
    ),
    "branch_indicator_score": (
        "year", "as_of_period", "county_code", "branch_code", "star_code", "indicator_key",
        "header", "value", "rule", "points", "hint",
    ),
    "branch_change": (
        "year", "as_of_period", "county_code", "branch_code", "basis", "compared_period",
        "level_before", "level_after", "stars_gained", "stars_lost", "reason",
    ),
    "points_tally": (
        "period", "county_code", "branch_code", "subject_type", "subject_id", "earned",
        "deducted", "redeemed", "net", "cumulative_earned", "cumulative_net",
        "cumulative_redeemed", "balance",
    ),
    "branch_points": (
        "period", "county_code", "branch_code", "households_active", "members_active",
        "households_positive", "participation_rate", "avg_household_points",
    ),
}  # fmt: skip
# Derived tables replaced per (county, year); the others per county (all periods).
DERIVED_BY_YEAR = ("branch_rating", "branch_star", "branch_indicator_score", "branch_change")
DERIVED_BY_COUNTY = ("points_tally", "branch_points")

ALL_TABLES: dict[str, tuple[str, ...]] = {
    "meta": META,
    "run": RUN,
    "registry_region": REGISTRY_REGION,
    "submission": SUBMISSION,
    "dq_issue": DQ_ISSUE,
    **FACTS,
    **DERIVED,
    "derive_queue": DERIVE_QUEUE,
    "alert_delivery": ALERT_DELIVERY,
    "run_lock": RUN_LOCK,
    "alert_outbox": ALERT_OUTBOX,
    "period_event": PERIOD_EVENT,
    "completeness": COMPLETENESS,
}
