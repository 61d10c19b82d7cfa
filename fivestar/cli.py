"""The `fivestar` command line (interfaces.md): run, watch, sample, template, report, serve,
and for the operator status, runs and roles.

In: command-line options and FIVESTAR_* settings. Out: the pipeline's effects and
a summary printed with rich. Heavy imports (Prefect, GX) happen inside commands
so `--help` stays fast.
"""

from __future__ import annotations

import datetime
import functools
import logging
import sys
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.markup import escape
from typer.exceptions import TyperException

import flows  # noqa: F401  (sets Prefect environment defaults before Prefect is imported)
from fivestar import cli_ops
from fivestar.console import console

if TYPE_CHECKING:
    from fivestar.settings import Settings

app = typer.Typer(
    help="Five-Star Party Branch (五星支部) data pipeline.", no_args_is_help=True, add_completion=False
)


# Exit codes (README "Exit codes"): one place, so every command fails the same way.
EXIT_FAILED = 1  # the command itself failed (details in the log file)
EXIT_USAGE = 2  # a wrong option, setting, folder or config file
EXIT_WAREHOUSE = 3  # the warehouse could not be reached
EXIT_COUNTY_FAILED = 4  # the run finished, but some county's file could not be processed
log = logging.getLogger("fivestar.cli")


# Loggers whose INFO lines are noise on an operator's console (-v): each HTTP request of
# Prefect's client and the alert webhooks (the alert stage logs one summary line instead).
QUIET_LOGGERS = ("httpx", "httpcore")


def _logging(verbose: bool) -> None:
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    # Progress goes to the spinner; with -v it is logged too.
    logging.getLogger("fivestar.progress").propagate = verbose
    logging.getLogger("fivestar.progress").setLevel(logging.INFO)
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        if verbose
        else "%(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )


def log_file() -> Path:
    """Where a failing command writes its details: processed/logs/fivestar.log (else the temp folder)."""
    from fivestar.config import ConfigError
    from fivestar.settings import load_settings

    try:
        processed = load_settings().processed_dir
    except ConfigError:  # the settings themselves are what failed
        processed = None
    # Never create the processed folder just for a log: a failed check leaves no trace there.
    candidates = [processed / "logs"] if processed is not None and processed.is_dir() else []
    for folder in (*candidates, Path(tempfile.gettempdir())):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / "fivestar.log"
            with path.open("a", encoding="utf-8"):
                return path
        except OSError:
            continue
    return Path(tempfile.gettempdir()) / "fivestar.log"


def _fail(code: int, message: str, exc: BaseException) -> NoReturn:
    """One English line on the console; the traceback in the log file."""
    path = log_file()
    try:
        with path.open("a", encoding="utf-8") as f:
            stamp = datetime.datetime.now().isoformat(timespec="seconds")
            f.write(f"{stamp} fivestar {' '.join(sys.argv[1:2])} failed: {message}\n")
            f.write("".join(traceback.format_exception(exc)))
    except OSError:
        pass
    console.print(f"[bold red]error:[/] {escape(message)} (details: {path.resolve()})", soft_wrap=True)
    raise typer.Exit(code) from exc


def clean_failures(command: Callable[..., None]) -> Callable[..., None]:
    """Every command fails with one clear line and a documented exit code, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        from sqlalchemy.exc import DBAPIError

        from fivestar.config import ConfigError
        from fivestar.run_params import InvalidRunParameter
        from fivestar.warehouse.engine import WarehouseUnavailable

        try:
            command(*args, **kwargs)
        except (typer.Exit, typer.Abort, TyperException):  # typer's own usage errors (exit 2)
            raise
        except WarehouseUnavailable as exc:
            _fail(EXIT_WAREHOUSE, f"Warehouse unreachable: {exc}", exc)
        except (ConfigError, InvalidRunParameter) as exc:
            _fail(EXIT_USAGE, str(exc), exc)
        except DBAPIError as exc:
            from fivestar.warehouse.retry import is_transient

            reason = (str(getattr(exc, "orig", exc)).splitlines() or [type(exc).__name__])[0]
            if is_transient(exc):
                _fail(
                    EXIT_WAREHOUSE,
                    f"lost the warehouse: {reason}. Each county-month commits in one transaction, so "
                    "nothing is half-loaded; run the command again when the database is back",
                    exc,
                )
            _fail(EXIT_FAILED, f"warehouse error: {reason}", exc)
        except KeyboardInterrupt:
            raise
        except Exception as exc:
            first = (str(exc).splitlines() or [""])[0]
            _fail(EXIT_FAILED, f"{type(exc).__name__}: {first}".rstrip(": "), exc)

    return wrapper


def _warn_default_id_hash_key(settings: Settings) -> None:
    """Once per command: the built-in key is fine for trying fivestar on SQLite, not for real data
    (on PostgreSQL or with e-mail the run refuses to start: fivestar.context)."""
    if settings.id_hash_key_is_default:
        console.print(
            "[yellow]Warning:[/] FIVESTAR_ID_HASH_KEY is not set; using the built-in key, which is "
            "fine for trying fivestar on SQLite but not for real data (hashed IDs can be reversed).",
            soft_wrap=True,
        )


@app.command()
@clean_failures
def run(
    period: Annotated[str | None, typer.Option(help="Only this month (YYYY-MM).")] = None,
    county: Annotated[str | None, typer.Option(help="Only this county code (6 digits).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Reprocess files even when unchanged.")] = False,
    now: Annotated[
        str | None,
        typer.Option(
            "--now", help="The run's clock, YYYY-MM-DDTHH:MM[:SS] Asia/Shanghai (backfills, tests)."
        ),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Process every new or changed submission, load the warehouse, print a summary."""
    _logging(verbose)
    from fivestar.context import preflight
    from fivestar.run_params import parse_run_params
    from fivestar.settings import load_settings

    params = parse_run_params(period, county, force, now)
    settings = load_settings()
    preflight(settings, params)  # fail fast, before Prefect starts its temporary server
    _warn_default_id_hash_key(settings)
    from fivestar.console_tables import SpinnerProgress
    from fivestar.lifetime import start_watchdog

    # Before Prefect starts its temporary server: a `kill -9` of this run must not leave it behind.
    start_watchdog()
    with console.status("running the pipeline ...") as spinner:
        from flows.nightly import fivestar_run

        progress = logging.getLogger("fivestar.progress")
        shown = SpinnerProgress(spinner)
        progress.addHandler(shown)
        try:
            result = run_result(fivestar_run(**params.as_dict(), return_state=True))
        finally:
            progress.removeHandler(shown)
    print_summary(result)
    if any(r["status"] == "failed" for r in result.get("summary", [])):
        raise typer.Exit(EXIT_COUNTY_FAILED)


def run_result(outcome: Any) -> dict[str, Any]:
    """The flow's result dict from its final state; a run that raised raises here again (so
    the failure gets its exit code), a run that failed only some counties does not."""
    if isinstance(outcome, dict):
        return outcome
    data = outcome.result(raise_on_failure=False)
    if isinstance(data, BaseException):
        raise data
    return data


def print_summary(result: dict) -> None:
    from fivestar.console_tables import print_summary as show

    show(console, result)


@app.command()
@clean_failures
def sample(
    out: Annotated[Path, typer.Option(help="Output folder (raw/ and config/ are written inside).")],
    period: Annotated[str, typer.Option(help="Last month to generate (YYYY-MM).")],
    counties: Annotated[int, typer.Option(help="Number of counties.")] = 5,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same files).")] = 0,
    months: Annotated[int, typer.Option(help="Consecutive months ending at --period.")] = 2,
    branch_types: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated branch types to invent (default: every type of branch_types.csv)."
        ),
    ] = None,
) -> None:
    """Write a synthetic province: registry, submitters and county workbooks (some with errors)."""
    from fivestar.sample import generate
    from fivestar.settings import load_settings

    rulebook_dir = load_settings().config_dir
    if not (rulebook_dir / "rulebook.yaml").exists():  # run from elsewhere: the shipped default rulebook
        rulebook_dir = Path(__file__).resolve().parents[1] / "config"
    types = None if branch_types is None else tuple(t.strip() for t in branch_types.split(",") if t.strip())
    with console.status("generating ..."):
        try:
            manifest = generate(
                out,
                period,
                counties=counties,
                seed=seed,
                months=months,
                rulebook_dir=rulebook_dir,
                branch_types=types,
            )
        except ValueError as exc:
            if types is None or "branch type" not in str(exc):
                raise
            raise typer.BadParameter(str(exc), param_hint="'--branch-types'") from exc
    console.print(
        f"wrote {len(manifest.files)} workbooks under {out / 'raw'} and config under {out / 'config'}"
    )
    console.print(f"use: FIVESTAR_RAW_DIR={out / 'raw'} FIVESTAR_CONFIG_DIR={out / 'config'} fivestar run")


@app.command()
@clean_failures
def template(
    period: Annotated[str, typer.Option(help="Month the template is for (YYYY-MM).")],
    out: Annotated[Path, typer.Option(help="Output file (with --county) or folder (with --all).")],
    county: Annotated[str | None, typer.Option(help="County code (6 digits).")] = None,
    all_counties: Annotated[bool, typer.Option("--all", help="One template per registered county.")] = False,
    email: Annotated[
        bool, typer.Option("--email", help="With --all: e-mail each county its template (opt-in).")
    ] = False,
) -> None:
    """Write pre-filled submission templates with drop-downs and input checks."""
    from fivestar.template import run_template_command

    if bool(county) == all_counties:
        console.print("[red]Give exactly one of --county CODE or --all.[/]")
        raise typer.Exit(2)
    paths = run_template_command(period=period, out=out, county=county, send_email=email)
    for p in paths:
        console.print(str(p))


@app.command()
@clean_failures
def report(
    year: Annotated[int | None, typer.Option(help="Year (default: the latest with data).")] = None,
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("data/processed/reports"),
    branch: Annotated[str | None, typer.Option(help="One branch's card instead of the full report.")] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="As-of month YYYY-MM (default: latest).")
    ] = None,
) -> None:
    """Write the leaders' report (HTML and XLSX, in Chinese) from the warehouse."""
    from fivestar.report import run_report_command
    from fivestar.report.data import ReportError

    try:
        paths = run_report_command(year=year, out=out, branch=branch, as_of=as_of)
    except ReportError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from exc
    for p in paths:
        console.print(str(p))


@app.command()
@clean_failures
def serve(
    cron: Annotated[
        str | None, typer.Option(help="Cron (Asia/Shanghai); default FIVESTAR_SCHEDULE_CRON, else 0 2 * * *.")
    ] = None,
    name: Annotated[str, typer.Option(help="Deployment name.")] = "nightly",
) -> None:
    """Register the nightly schedule with Prefect and serve it (Ctrl-C to stop)."""
    from fivestar.config import ConfigError
    from fivestar.settings import id_hash_key_refusal, load_settings

    settings = load_settings()
    refusal = id_hash_key_refusal(settings)  # the scheduled runs use these settings
    if refusal:
        raise ConfigError(refusal)
    _warn_default_id_hash_key(settings)
    from fivestar.lifetime import start_watchdog
    from flows.serve import serve_nightly

    start_watchdog()  # what a killed `serve` started (Prefect's server, flow runs) ends with it
    serve_nightly(cron=cron, name=name)


@app.command()
@clean_failures
def watch(
    interval: Annotated[
        float | None,
        typer.Option(
            help="Seconds between two looks at the raw folder (default FIVESTAR_WATCH_INTERVAL_SECONDS, 2)."
        ),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Process corrections soon after they land in the raw folder (until Ctrl-C or SIGTERM)."""
    _logging(verbose)
    logging.getLogger("fivestar.watch").setLevel(logging.INFO)  # a service's log, -v or not
    from fivestar.config import load_registry
    from fivestar.context import preflight
    from fivestar.settings import load_settings

    settings = load_settings()
    preflight(settings)  # fail fast: a wrong folder or warehouse, before watching anything
    _warn_default_id_hash_key(settings)
    from fivestar.lifetime import start_watchdog
    from fivestar.watch import watch as watch_folder

    start_watchdog()  # what the watch's runs start (Prefect's temporary server) ends with it
    watch_folder(
        settings.raw_dir,
        settle_s=settings.settle_seconds,
        interval_s=settings.watch_interval_s if interval is None else max(0.1, interval),
        counties=load_registry(settings.config_dir).county_codes,
    )


# The operator's commands (fivestar.cli_ops), after the pipeline's, each failing cleanly.
for _name in ("status", "runs", "close", "reopen", "roles", "rekey"):
    app.command(_name)(clean_failures(getattr(cli_ops, _name)))


# `fivestar db …`: the warehouse schema's revisions (fivestar/db_commands.py).
db_app = typer.Typer(help="Warehouse schema revisions (Alembic): upgrade, downgrade, current, history.")
app.add_typer(db_app, name="db")


def _db_commands() -> None:
    from fivestar import db_commands

    for name in ("upgrade", "downgrade", "current", "history"):
        db_app.command(name)(clean_failures(getattr(db_commands, name)))


_db_commands()


def main() -> None:  # pragma: no cover - console entry
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
