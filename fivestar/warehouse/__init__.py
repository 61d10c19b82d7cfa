"""The reporting warehouse: schema (sql/), loading facts, deriving ratings, locks.

In: submission records, fact frames and findings from ingest/validate; the Rulebook and
Registry from config. Out: tables and the rpt_* views of interfaces.md, in SQLite or
PostgreSQL. Typical run:

    engine = make_engine(settings.warehouse_url); check_reachable(engine); ensure_schema(engine)
    with run_lock(engine):
        run_id = start_run(engine, params, rb.hash); sync_registry(engine, registry)
        for each new version: load_version(engine, sub, facts, findings)
        (fivestar.derive.derive_pending(engine, rb, run_id)); finish_run(engine, run_id, "completed", summary)
"""

from fivestar.warehouse.bulk import insert_frame
from fivestar.warehouse.engine import WarehouseUnavailable, check_reachable, make_engine, safe_url
from fivestar.warehouse.facts import current_facts, known_versions, previous_accepted_period
from fivestar.warehouse.load import load_version
from fivestar.warehouse.lock import RunLocked, run_lock
from fivestar.warehouse.registry import sync_registry
from fivestar.warehouse.retry import retrying, with_retry
from fivestar.warehouse.runs import finish_run, start_run
from fivestar.warehouse.schema import ensure_schema

__all__ = [
    "RunLocked",
    "WarehouseUnavailable",
    "check_reachable",
    "current_facts",
    "ensure_schema",
    "finish_run",
    "insert_frame",
    "known_versions",
    "load_version",
    "make_engine",
    "previous_accepted_period",
    "retrying",
    "run_lock",
    "safe_url",
    "start_run",
    "sync_registry",
    "with_retry",
]
