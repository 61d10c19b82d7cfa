"""Everything a run needs, loaded once: settings, rulebook, registry, limits, warehouse.

In: environment settings (or explicit ones). Out: a `RunContext`; creating it
checks the folders (ConfigError naming the one that is wrong), that the warehouse is
reachable (fail fast) and that its schema is in place.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine

from fivestar.config import (
    ConfigError,
    Limits,
    Registry,
    Rulebook,
    config_folder,
    load_limits,
    load_registry,
    load_rulebook,
)
from fivestar.deadlines import Deadlines, load_deadlines
from fivestar.run_params import RunParams, check_registered
from fivestar.settings import Settings, id_hash_key_refusal, load_settings
from fivestar.warehouse import migrate
from fivestar.warehouse.engine import check_reachable, make_engine
from fivestar.warehouse.schema import ensure_schema


@dataclass
class RunContext:
    settings: Settings
    rulebook: Rulebook
    registry: Registry
    limits: Limits
    engine: Engine
    deadlines: Deadlines = field(default_factory=Deadlines)  # config/deadlines.yaml


def check_folders(s: Settings) -> None:
    """Raw and config folders exist and can be read; the processed folder exists and can be
    written, or can be made (`open_context` makes it). A wrong path must fail loudly, never
    look like a quiet night."""
    config_folder(s.config_dir)
    if not s.raw_dir.is_dir():
        raise ConfigError(f"raw folder not found: {s.raw_dir} (FIVESTAR_RAW_DIR)")
    if not os.access(s.raw_dir, os.R_OK | os.X_OK):
        raise ConfigError(f"raw folder cannot be read: {s.raw_dir} (FIVESTAR_RAW_DIR)")
    existing = next(
        p for p in (s.processed_dir.absolute(), *s.processed_dir.absolute().parents) if p.exists()
    )
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        what = "written" if existing == s.processed_dir.absolute() else "created"
        raise ConfigError(f"processed folder cannot be {what}: {s.processed_dir} (FIVESTAR_PROCESSED_DIR)")


def _load(s: Settings, params: RunParams | None) -> tuple[Rulebook, Registry, Limits, Engine]:
    rb = load_rulebook(s.config_dir)
    registry = load_registry(s.config_dir)
    if params is not None:
        check_registered(params, registry.county_codes)
    limits = load_limits(s.config_dir)
    load_deadlines(s.config_dir)  # a wrong deadline file fails before anything starts
    engine = make_engine(s.warehouse_url)
    check_reachable(engine)  # before the folders: exit 3 says the database, whatever else is wrong
    refusal = id_hash_key_refusal(s)  # every entry point: CLI, `fivestar serve`, deployment workers
    if refusal:
        raise ConfigError(refusal)
    check_folders(s)
    return rb, registry, limits, engine


def preflight(settings: Settings, params: RunParams | None = None) -> None:
    """Every check of `open_context`, nothing created: the CLI fails fast with it, before
    Prefect starts a server."""
    engine = _load(settings, params)[3]
    try:
        with engine.connect() as conn:  # a PostgreSQL warehouse behind head waits for its operator
            why = migrate.refusal(conn, settings.auto_upgrade)
        if why:
            raise migrate.SchemaBehind(why)
    finally:
        engine.dispose()


def open_context(settings: Settings | None = None, params: RunParams | None = None) -> RunContext:
    s = settings or load_settings()
    rb, registry, limits, engine = _load(s, params)
    s.processed_dir.mkdir(parents=True, exist_ok=True)
    ensure_schema(engine, auto_upgrade=s.auto_upgrade)
    return RunContext(
        settings=s,
        rulebook=rb,
        registry=registry,
        limits=limits,
        engine=engine,
        deadlines=load_deadlines(s.config_dir),
    )
