"""The operator's commands: `fivestar status`, `runs`, `close`, `reopen`, `roles` and `rekey`.

In: options and FIVESTAR_* settings (passwords and keys from the environment only).
Out: tables on the console, roles in PostgreSQL, re-hashed pseudonyms. fivestar.cli
registers these functions as commands (each wrapped so it fails with one clean line).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from fivestar.console import console


def warehouse() -> Any:
    """An engine on the configured warehouse, reachable (exit 3 otherwise); nothing created."""
    from fivestar.settings import load_settings
    from fivestar.warehouse.engine import check_reachable, make_engine

    engine = make_engine(load_settings().warehouse_url)
    check_reachable(engine)
    return engine


def status(
    period: Annotated[
        str | None, typer.Option(help="Month YYYY-MM (default: the latest with a file).")
    ] = None,
) -> None:
    """Per county: the latest version of the month, its status, findings, alerts, lateness."""
    import datetime as dt

    from fivestar.config import load_registry
    from fivestar.console_tables import status_table
    from fivestar.deadlines import load_deadlines
    from fivestar.overview import county_status, has_tables, latest_period
    from fivestar.run_params import parse_run_params
    from fivestar.settings import load_settings

    if period is not None:
        period = parse_run_params(period, None, False).period  # a clear usage error for "2026-13"
    config_dir = load_settings().config_dir
    registry = load_registry(config_dir)
    deadlines = load_deadlines(config_dir)
    engine = warehouse()
    try:
        period = period or (latest_period(engine) if has_tables(engine, "submission") else None)
        if period is None or not has_tables(engine, "submission", "alert_delivery"):
            console.print("No submission recorded yet (run `fivestar run` first).")
            return
        names = {str(c): registry.county_name(str(c)) or "" for c in registry.county_codes}
        rows = county_status(engine, names, period, dt.datetime.now(dt.UTC), deadlines)
    finally:
        engine.dispose()
    console.print(status_table(period, rows))
    deadline = deadlines.deadline(period).strftime("%Y-%m-%d %H:%M:%S")
    console.print(
        f"late: the first accepted file arrived after, or none by, the deadline {deadline} "
        "Asia/Shanghai (config/deadlines.yaml); times are Asia/Shanghai",
        style="dim",
        soft_wrap=True,
    )


def _open_warehouse() -> Any:
    """The configured warehouse with its schema at head (as a run brings it), reachable."""
    from fivestar.settings import load_settings
    from fivestar.warehouse.schema import ensure_schema

    engine = warehouse()
    try:
        ensure_schema(engine, auto_upgrade=load_settings().auto_upgrade)
    except BaseException:
        engine.dispose()
        raise
    return engine


def close(
    period: Annotated[str, typer.Option(help="The month to close (YYYY-MM).")],
    reason: Annotated[str | None, typer.Option(help="Why (kept in rpt_period_event).")] = None,
    by: Annotated[
        str | None, typer.Option(help="Who closes it (default: the operating-system user).")
    ] = None,
) -> None:
    """Close a period: files arriving for it later are archived as late_closed, not loaded."""
    import datetime as dt

    from fivestar.closing import close_period
    from fivestar.config import load_registry
    from fivestar.settings import load_settings

    registry = load_registry(load_settings().config_dir)
    engine = _open_warehouse()
    try:
        done = close_period(
            engine, period, reason=reason, by=by, now=dt.datetime.now(dt.UTC), registry=registry
        )
    finally:
        engine.dispose()
    console.print(
        f"closed {done.period} ({done.closed_counties} registered county-months) by {done.actor}; "
        "files arriving for it are archived as late_closed and not loaded until a reopen",
        soft_wrap=True,
    )


def reopen(
    period: Annotated[str, typer.Option(help="The month (YYYY-MM).")],
    county: Annotated[str, typer.Option(help="The county to reopen (6 digits).")],
    reason: Annotated[str, typer.Option(help="Why (kept in rpt_period_event).")],
    by: Annotated[
        str | None, typer.Option(help="Who reopens it (default: the operating-system user).")
    ] = None,
) -> None:
    """Reopen one county-month of a closed period: the next run takes its waiting files."""
    import datetime as dt

    from fivestar.closing import reopen_county
    from fivestar.config import load_registry
    from fivestar.settings import load_settings

    registry = load_registry(load_settings().config_dir)
    engine = _open_warehouse()
    try:
        done = reopen_county(
            engine,
            period,
            county,
            reason=reason,
            by=by,
            now=dt.datetime.now(dt.UTC),
            registry=registry,
        )
    finally:
        engine.dispose()
    note = "" if done.was_closed else " (it was not closed)"
    console.print(
        f"reopened {done.county_code} {done.period}{note} by {done.actor}; the next run takes its waiting files",
        soft_wrap=True,
    )


def runs(last: Annotated[int, typer.Option(help="How many runs, newest first.", min=1)] = 10) -> None:
    """The run history (the warehouse's `run` table)."""
    from fivestar.console_tables import runs_table
    from fivestar.overview import has_tables, run_history

    engine = warehouse()
    try:
        records = run_history(engine, last) if has_tables(engine, "run") else []
    finally:
        engine.dispose()
    console.print(runs_table(records) if records else "No run recorded yet.")


def roles(
    prefix: Annotated[
        str, typer.Option(envvar="FIVESTAR_ROLE_PREFIX", help="Role name prefix.")
    ] = "fivestar",
) -> None:
    """Create or update the PostgreSQL loader, read-only reporting and county login roles."""
    from fivestar.config import ConfigError
    from fivestar.settings import load_admin_settings
    from fivestar.warehouse.engine import check_reachable, make_engine
    from fivestar.warehouse.roles import RolesError, apply_roles, passwords_from_env

    url = load_admin_settings().admin_url
    if not url:
        raise ConfigError("set FIVESTAR_ADMIN_URL (or FIVESTAR_WAREHOUSE_URL) to a superuser PostgreSQL URL")
    engine = make_engine(url)
    try:
        check_reachable(engine)
        made = apply_roles(engine, prefix=prefix, **passwords_from_env())
    except RolesError as exc:
        raise ConfigError(str(exc)) from exc
    finally:
        engine.dispose()
    console.print(f"loader: {made.loader}  reporting: {made.reporting}  schema: {made.schema}")
    for code, login in made.county_logins.items():
        console.print(f"county {code}: {login} (views in schema {made.county_schema})")


def rekey() -> None:
    """Re-hash every stored resident-ID pseudonym from FIVESTAR_ID_HASH_KEY to FIVESTAR_NEW_ID_HASH_KEY."""
    from fivestar.config import ConfigError, load_limits, load_rulebook
    from fivestar.rekey import RekeyError
    from fivestar.rekey import rekey as rehash
    from fivestar.settings import load_settings

    settings = load_settings()
    from fivestar.settings import load_admin_settings

    new_key = load_admin_settings().new_id_hash_key
    engine = warehouse()
    try:
        cfg = settings.config_dir
        done = rehash(engine, load_rulebook(cfg), load_limits(cfg), settings.id_hash_key, new_key)
    except RekeyError as exc:
        raise ConfigError(str(exc)) from exc
    finally:
        engine.dispose()
    console.print(
        f"re-keyed {done.pseudonyms} pseudonyms ({done.cells} stored values) from {done.versions} "
        "archived workbooks. Now set FIVESTAR_ID_HASH_KEY to the new key everywhere (workers "
        "included) before the next run, and unset FIVESTAR_NEW_ID_HASH_KEY.",
        soft_wrap=True,
    )
