"""Versioned warehouse migrations: Alembic runs fivestar/warehouse/migrations on a connection.

In: a Connection inside the caller's transaction (the revisions run in it: PostgreSQL and
SQLite both roll DDL back) and a target revision. Out: the schema at that revision and
its id in the `alembic_version` table. Revision 0001 is the schema of release 84c509f;
a warehouse that release made has its tables but no `alembic_version`, and is stamped at
0001 (never recreated) before the later revisions run. `fivestar db …` (cli.py) and
`schema.ensure_schema` (every run) call this module; the revisions themselves reuse
fivestar.warehouse.schema to apply views.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from fivestar.config import ConfigError
from fivestar.warehouse import dialect

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().with_name("migrations")
BASELINE = "0001"  # the schema of release 84c509f
LEGACY_MARKER = "meta"  # a table every release has created; without alembic_version: 84c509f

BACKUP_ADVICE = {
    dialect.POSTGRES: (
        "Back up the warehouse before changing its schema: pg_dump -Fc -f fivestar-before-upgrade.dump "
        "<database> (restore into a new database with pg_restore -d <new database> "
        "fivestar-before-upgrade.dump); README.md, 'Backup and restore'."
    ),
    dialect.SQLITE: (
        'Back up the warehouse before changing its schema: sqlite3 warehouse.db ".backup warehouse-before-upgrade.db" '
        "(an online copy, safe while readers are connected); README.md, 'Backup and restore'."
    ),
}


class SchemaBehind(ConfigError):
    """The warehouse needs an upgrade (or is newer than this fivestar) and may not be changed now."""


class DataLossRefused(ConfigError):
    """A downgrade would lose rows: the revision refuses (the message says what would be lost)."""


@dataclass(frozen=True)
class Revision:
    revision: str
    down_revision: str | None
    doc: str


def alembic_config(script_location: Path | None = None) -> Config:
    """An Alembic Config for the migrations folder (no alembic.ini: fivestar gives the engine)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location or MIGRATIONS_DIR))
    return cfg


def scripts(cfg: Config | None = None) -> ScriptDirectory:
    return ScriptDirectory.from_config(cfg or alembic_config())


def head(cfg: Config | None = None) -> str:
    """The newest revision id (one line of revisions: a single head)."""
    return scripts(cfg).get_current_head() or BASELINE


def history(cfg: Config | None = None) -> list[Revision]:
    """Every revision, oldest first."""
    out = [
        Revision(sc.revision, sc.down_revision, ((sc.doc or "").strip().splitlines() or [""])[0])  # type: ignore[arg-type]
        for sc in scripts(cfg).walk_revisions()
    ]
    return list(reversed(out))


def is_legacy(conn: Connection) -> bool:
    """A warehouse made before migrations (release 84c509f): its tables, no alembic_version."""
    names = set(inspect(conn).get_table_names())
    return "alembic_version" not in names and LEGACY_MARKER in names


def current(conn: Connection) -> str | None:
    """The revision the warehouse is at; None for an empty one (or one of release 84c509f)."""
    return MigrationContext.configure(conn).get_current_revision()


def describe(conn: Connection, cfg: Config | None = None) -> str:
    """One line: where the warehouse is, relative to head."""
    rev, top = current(conn), head(cfg)
    if rev is None:
        where = "release 84c509f, before migrations" if is_legacy(conn) else "empty"
        return f"no revision ({where}); head is {top}"
    return f"{rev} (head)" if rev == top else f"{rev}; head is {top}: run `fivestar db upgrade`"


def _run(conn: Connection, cfg: Config, action: str, target: str) -> None:
    cfg.attributes["connection"] = conn  # env.py runs the revisions on it
    if is_legacy(conn):
        log.info("warehouse made by release 84c509f: stamped at the baseline revision %s", BASELINE)
        command.stamp(cfg, BASELINE)
    getattr(command, action)(cfg, target)


def upgrade(conn: Connection, target: str = "head", cfg: Config | None = None) -> None:
    """Upgrade to `target` (a revision id, or "head") inside the caller's transaction."""
    _run(conn, cfg or alembic_config(), "upgrade", target)


def downgrade(conn: Connection, target: str = "-1", cfg: Config | None = None) -> None:
    """Downgrade to `target` (default: one revision); a revision that would lose data refuses."""
    _run(conn, cfg or alembic_config(), "downgrade", target)


def pending(conn: Connection, cfg: Config | None = None) -> bool:
    """True when the warehouse is not at head (empty, 84c509f or an older revision)."""
    return current(conn) != head(cfg)


def refusal(conn: Connection, auto_upgrade: bool = False, cfg: Config | None = None) -> str | None:
    """Why a run may not bring this warehouse to head now (one line), or None; changes nothing.

    An empty warehouse is created and SQLite upgraded; PostgreSQL behind head only with
    `auto_upgrade` (FIVESTAR_AUTO_UPGRADE=1): an operator decides when production changes.
    """
    cfg = cfg or alembic_config()
    rev, top = current(conn), head(cfg)
    if rev == top:
        return None
    if rev is not None:
        try:
            scripts(cfg).get_revision(rev)
        except CommandError:
            return (
                f"The warehouse schema is at revision {rev}, which this fivestar does not know "
                f"(its newest is {top}): a newer fivestar upgraded it; run that one."
            )
    empty = rev is None and not is_legacy(conn)
    if dialect.is_postgres(conn) and not empty and not auto_upgrade:
        return (
            f"The PostgreSQL warehouse schema is at {rev or 'release 84c509f'} and this fivestar needs "
            f"{top}: back it up, then run `fivestar db upgrade` (or set FIVESTAR_AUTO_UPGRADE=1)."
        )
    return None


def check_and_upgrade(conn: Connection, auto_upgrade: bool = False, cfg: Config | None = None) -> None:
    """What a run does first: bring the warehouse to head, or raise SchemaBehind (see `refusal`)."""
    cfg = cfg or alembic_config()
    why = refusal(conn, auto_upgrade, cfg)
    if why:
        raise SchemaBehind(why)
    if pending(conn, cfg):
        log.info("warehouse schema: %s; upgrading", describe(conn, cfg))
        upgrade(conn, "head", cfg)
