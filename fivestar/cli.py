"""The `fivestar` command line (interfaces.md): run, sample, template, report, serve.

In: command-line options and FIVESTAR_* settings. Out: the pipeline's effects and
a summary printed with rich. Heavy imports (Prefect, GX) happen inside commands
so `--help` stays fast.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

import flows  # noqa: F401  (sets Prefect environment defaults before Prefect is imported)

app = typer.Typer(
    help="Five-Star Party Branch (五星支部) data pipeline.", no_args_is_help=True, add_completion=False
)
console = Console(width=None if sys.stdout.isatty() else 130)  # pipes and CI logs get full rows
STATUS_STYLE = {
    "accepted": "green",
    "accepted_with_warnings": "yellow",
    "rejected": "red",
    "superseded": "dim",
    "failed": "bold red",
}


def _logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )


@app.command()
def run(
    period: Annotated[str | None, typer.Option(help="Only this month (YYYY-MM).")] = None,
    county: Annotated[str | None, typer.Option(help="Only this county code (6 digits).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Reprocess files even when unchanged.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Process every new or changed submission, load the warehouse, print a summary."""
    _logging(verbose)
    from sqlalchemy.exc import DBAPIError

    from fivestar.settings import load_settings
    from fivestar.warehouse.engine import WarehouseUnavailable, check_reachable, make_engine

    try:  # fail fast, before Prefect starts its temporary server
        check_reachable(make_engine(load_settings().warehouse_url))
    except WarehouseUnavailable as exc:
        console.print(f"[bold red]Warehouse unreachable:[/] {exc}")
        raise typer.Exit(3) from exc
    with console.status("running the pipeline ..."):
        try:
            from flows.nightly import fivestar_run

            result = fivestar_run(period=period, county=county, force=force)
        except WarehouseUnavailable as exc:
            console.print(f"[bold red]Warehouse unreachable:[/] {exc}")
            raise typer.Exit(3) from exc
        except DBAPIError as exc:
            from fivestar.warehouse.retry import is_transient

            if not is_transient(exc):
                raise
            reason = (str(getattr(exc, "orig", exc)).splitlines() or [type(exc).__name__])[0]
            console.print(
                f"[bold red]Lost the warehouse during the run:[/] {reason}. Each county-month commits in one "
                "transaction, so nothing is half-loaded; run `fivestar run` again when the database is back."
            )
            raise typer.Exit(3) from exc
    print_summary(result)


def print_summary(result: dict) -> None:
    rows = result.get("summary", [])
    table = Table(title=f"fivestar run {result.get('run_id', '')}", show_lines=False)
    for col in (
        "county",
        "period",
        "ver",
        "status",
        "errors",
        "warnings",
        "5★",
        "4★",
        "3★",
        "2★",
        "1★",
        "0★",
    ):
        table.add_column(col, justify="right" if col not in ("county", "period", "status") else "left")
    for r in rows:
        style = STATUS_STYLE.get(r["status"], "")

        def n(v: object) -> str:
            return "" if v is None or v != v else str(int(v))  # NaN-safe

        table.add_row(
            r["county_code"],
            r["period"],
            str(r["version"]),
            f"[{style}]{r['status']}[/]",
            n(r["errors"]),
            n(r["warnings"]),
            *(n(r.get(k)) for k in ("5★", "4★", "3★", "2★", "1★", "0★")),
        )
    if rows:
        console.print(table)
    else:
        console.print("Nothing new to process.")
    for name in result.get("unrecognised", []):
        console.print(f"[yellow]unrecognised file (not a submission):[/] {name}")
    from fivestar.cells import mask_ids_in

    failed = [r for r in rows if r["status"] == "failed"]
    for r in failed:
        console.print(
            f"[red]{r['county_code']} {r['period']} v{r['version']} failed:[/] "
            + mask_ids_in(str(r.get("error", "")))  # an error may quote a file name
        )
    if rows:
        feedback_dirs = sorted({str(Path(r["feedback"]).parent) for r in rows if r.get("feedback")})
        for d in feedback_dirs:
            console.print(f"feedback workbooks and validation pages: {d}")


@app.command()
def sample(
    out: Annotated[Path, typer.Option(help="Output folder (raw/ and config/ are written inside).")],
    period: Annotated[str, typer.Option(help="Last month to generate (YYYY-MM).")],
    counties: Annotated[int, typer.Option(help="Number of counties.")] = 5,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same files).")] = 0,
    months: Annotated[int, typer.Option(help="Consecutive months ending at --period.")] = 2,
) -> None:
    """Write a synthetic province: registry, submitters and county workbooks (some with errors)."""
    from fivestar.sample import generate
    from fivestar.settings import load_settings

    rulebook_dir = load_settings().config_dir
    if not (rulebook_dir / "rulebook.yaml").exists():  # run from elsewhere: the shipped default rulebook
        rulebook_dir = Path(__file__).resolve().parents[1] / "config"
    with console.status("generating ..."):
        manifest = generate(
            out, period, counties=counties, seed=seed, months=months, rulebook_dir=rulebook_dir
        )
    console.print(
        f"wrote {len(manifest.files)} workbooks under {out / 'raw'} and config under {out / 'config'}"
    )
    console.print(f"use: FIVESTAR_RAW_DIR={out / 'raw'} FIVESTAR_CONFIG_DIR={out / 'config'} fivestar run")


@app.command()
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
def serve(
    cron: Annotated[
        str | None, typer.Option(help="Cron (Asia/Shanghai); default FIVESTAR_SCHEDULE_CRON, else 0 2 * * *.")
    ] = None,
    name: Annotated[str, typer.Option(help="Deployment name.")] = "nightly",
) -> None:
    """Register the nightly schedule with Prefect and serve it (Ctrl-C to stop)."""
    from flows.serve import serve_nightly

    serve_nightly(cron=cron, name=name)


def main() -> None:  # pragma: no cover - console entry
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
