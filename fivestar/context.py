"""Everything a run needs, loaded once: settings, rulebook, registry, limits, warehouse.

In: environment settings (or explicit ones). Out: a `RunContext`; creating it
checks the warehouse is reachable (fail fast) and its schema is in place.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from fivestar.config import Limits, Registry, Rulebook, load_limits, load_registry, load_rulebook
from fivestar.settings import Settings, load_settings
from fivestar.warehouse.engine import check_reachable, make_engine
from fivestar.warehouse.schema import ensure_schema


@dataclass
class RunContext:
    settings: Settings
    rulebook: Rulebook
    registry: Registry
    limits: Limits
    engine: Engine


def open_context(settings: Settings | None = None) -> RunContext:
    s = settings or load_settings()
    rb = load_rulebook(s.config_dir)
    registry = load_registry(s.config_dir)
    engine = make_engine(s.warehouse_url)
    check_reachable(engine)
    ensure_schema(engine)
    return RunContext(
        settings=s, rulebook=rb, registry=registry, limits=load_limits(s.config_dir), engine=engine
    )
