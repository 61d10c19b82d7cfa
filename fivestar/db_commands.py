"""`fivestar db upgrade|downgrade|current|history`: the warehouse schema's revisions.

In: FIVESTAR_WAREHOUSE_URL (settings). Out: the schema moved between Alembic revisions
(fivestar.warehouse.migrate) and one line per fact on stdout. cli.py registers these
functions (wrapped in its clean_failures) on its `db` sub-app.
"""

from __future__ import annotations

from typing import Annotated

import typer

from fivestar.settings import load_settings
from fivestar.warehouse import dialect, migrate
from fivestar.warehouse.engine import check_reachable, make_engine, safe_url
from fivestar.warehouse.schema import apply_views, lock_schema


def _engine():  # -> Engine
    engine = make_engine(load_settings().warehouse_url)
    check_reachable(engine)
    return engine


def upgrade(
    to: Annotated[str, typer.Option("--to", help="Target revision (default: head).")] = "head",
) -> None:
    """Upgrade the warehouse schema (an empty warehouse is created; one of release 84c509f is kept)."""
    engine = _engine()
    try:
        with engine.begin() as conn:
            lock_schema(conn)
            before = migrate.describe(conn)
            target = migrate.head() if to == "head" else to
            if migrate.current(conn) == target:
                typer.echo(f"{safe_url(engine)}: already at {target}; nothing to do")
                return
            # Before anything changes: how to get back if the upgrade is regretted.
            typer.echo(migrate.BACKUP_ADVICE[dialect.name_of(conn)])
            typer.echo(f"{safe_url(engine)}: {before}")
            migrate.upgrade(conn, target)
            if migrate.current(conn) == migrate.head():
                apply_views(conn)
            typer.echo(f"upgraded to {migrate.current(conn)}")
    finally:
        engine.dispose()


def downgrade(
    to: Annotated[str, typer.Option("--to", help="Target revision (default: one revision down).")] = "-1",
) -> None:
    """Downgrade the warehouse schema; a revision that would lose data refuses."""
    engine = _engine()
    try:
        with engine.begin() as conn:
            lock_schema(conn)
            typer.echo(migrate.BACKUP_ADVICE[dialect.name_of(conn)])
            migrate.downgrade(conn, to)
            typer.echo(f"downgraded to {migrate.current(conn) or 'nothing'}")
    finally:
        engine.dispose()


def current() -> None:
    """Print the warehouse schema's revision and the head revision."""
    engine = _engine()
    try:
        with engine.connect() as conn:
            typer.echo(f"{safe_url(engine)}: {migrate.describe(conn)}")
    finally:
        engine.dispose()


def history() -> None:
    """Print every revision, oldest first."""
    top = migrate.head()
    for r in migrate.history():
        typer.echo(
            f"{r.down_revision or '<base>'} -> {r.revision}{' (head)' if r.revision == top else ''}: {r.doc}"
        )
