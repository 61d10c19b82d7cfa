"""What the operator's terminal shows: the run summary, `fivestar status`, `fivestar runs`,
and the spinner's progress line.

In: the run's result dict, overview records (fivestar.overview), progress log records.
Out: rich tables that fit an 80-column terminal (short English status words, a period
never cut: long cells wrap instead) and a logging handler that updates a spinner.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.status import Status
from rich.table import Table

from fivestar.status import SubmissionStatus

if TYPE_CHECKING:  # the CLI imports this module early: no pandas or SQLAlchemy here
    from fivestar.overview import CountyStatus, RunRecord

# Short words: the warnings column already says "with warnings".
SHORT = {
    SubmissionStatus.ACCEPTED: "accepted",
    SubmissionStatus.ACCEPTED_WITH_WARNINGS: "accepted",
    SubmissionStatus.REJECTED: "rejected",
    SubmissionStatus.SUPERSEDED: "superseded",
    SubmissionStatus.LATE_CLOSED: "late_closed",
    SubmissionStatus.FAILED: "failed",
}
STYLE = {
    SubmissionStatus.ACCEPTED: "green",
    SubmissionStatus.ACCEPTED_WITH_WARNINGS: "yellow",
    SubmissionStatus.REJECTED: "red",
    SubmissionStatus.SUPERSEDED: "dim",
    SubmissionStatus.LATE_CLOSED: "magenta",
    SubmissionStatus.FAILED: "bold red",
}
STARS = ("5★", "4★", "3★", "2★", "1★", "0★")


def _table(title: str) -> Table:
    # No vertical rules and one space between columns: 12 columns fit 80 characters.
    return Table(title=title, box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False, collapse_padding=True)


def _n(v: object) -> str:
    return "" if v is None or v != v else str(int(v))  # NaN-safe


def status_word(status: str | None) -> str:
    if status is None:
        return ""
    try:
        s = SubmissionStatus(status)
    except ValueError:
        return status
    return f"[{STYLE[s]}]{SHORT[s]}[/]"


def summary_table(result: dict[str, Any]) -> Table:
    table = _table(f"fivestar run {result.get('run_id', '')}")
    table.add_column("county", no_wrap=True)
    table.add_column("period", no_wrap=True, min_width=7)
    table.add_column("v", justify="right")
    table.add_column("status")
    table.add_column("err", justify="right")
    table.add_column("warn", justify="right")
    for s in STARS:
        table.add_column(s, justify="right")
    for r in result.get("summary", []):
        table.add_row(
            r["county_code"],
            r["period"],
            str(r["version"]),
            status_word(r["status"]),
            _n(r["errors"]),
            _n(r["warnings"]),
            *(_n(r.get(k)) for k in STARS),
        )
    return table


def _when(t: dt.datetime | None) -> str:
    return "" if t is None else f"{t:%m-%d %H:%M}"


def status_table(period: str, rows: list[CountyStatus]) -> Table:
    table = _table(f"fivestar status {period}")
    table.add_column("county", no_wrap=True)
    table.add_column("name", max_width=10)
    table.add_column("v", justify="right")
    table.add_column("status")
    table.add_column("err", justify="right")
    table.add_column("warn", justify="right")
    table.add_column("received", no_wrap=True)
    table.add_column("alerts")
    table.add_column("late")
    for r in rows:
        late = {True: "[red]late[/]", False: "on time", None: ""}[r.late]
        table.add_row(
            r.county_code,
            r.county_name,
            "" if r.version is None else str(r.version),
            status_word(r.status) if r.version is not None else "[dim]none yet[/]",
            _n(r.errors),
            _n(r.warnings),
            _when(r.received_at),
            r.alerts,
            late,
        )
    return table


def runs_table(records: list[RunRecord]) -> Table:
    # The run id starts with its local start time (YYYYMMDDTHHMMSS): no separate column.
    table = _table("fivestar runs")
    table.caption = "alerts: deliveries sent/failed"
    table.add_column("run", no_wrap=True)
    table.add_column("secs", justify="right")
    table.add_column("outcome")
    table.add_column("files", justify="right")
    table.add_column("failed", justify="right")
    table.add_column("alerts", justify="right")
    table.add_column("params", overflow="fold")
    for r in records:
        alerts = f"{r.alerts.get('sent', 0)}/{r.alerts.get('failed', 0)}" if r.alerts else ""
        params = " ".join(f"{k}={v}" for k, v in r.params.items())
        style = {"completed": "green", "failed": "red", "abandoned": "yellow"}.get(r.outcome, "")
        table.add_row(
            r.run_id,
            "" if r.seconds is None else f"{r.seconds:.0f}",
            f"[{style}]{r.outcome}[/]" if style else r.outcome,
            _n(r.processed),
            _n(r.failed),
            alerts,
            params + (f"\n{r.error}" if r.error else ""),
        )
    return table


def print_summary(console: Console, result: dict[str, Any]) -> None:
    """The run's table, then failed counties, unrecognised files, feedback folders, alerts."""
    rows = result.get("summary", [])
    if rows:
        console.print(summary_table(result))
    else:
        console.print("Nothing new to process.")
    for name in result.get("unrecognised", []):
        console.print(f"[yellow]unrecognised file (not a submission):[/] {escape(name)}", soft_wrap=True)
    from fivestar.cells import mask_ids_in

    failed = [r for r in rows if r["status"] == "failed"]
    for r in failed:
        error = mask_ids_in(str(r.get("error", "")))  # an error may quote a file name
        console.print(
            f"[red]{r['county_code']} {r['period']} v{r['version']} failed:[/] {escape(error)}",
            soft_wrap=True,
        )
    if rows:
        # isinstance: a failed county's row has no feedback (NaN in the summary frame).
        feedback_dirs = sorted(
            {str(Path(r["feedback"]).parent) for r in rows if isinstance(r.get("feedback"), str)}
        )
        for d in feedback_dirs:
            console.print(f"feedback workbooks and validation pages: {d}", soft_wrap=True)
    alerts = result.get("alerts") or {}
    if alerts.get("failed") or alerts.get("given_up") or alerts.get("deferred"):
        console.print(
            f"[yellow]alerts:[/] {alerts.get('sent', 0)} sent, {alerts.get('failed', 0)} failed, "
            f"{alerts.get('deferred', 0)} put off to the next run, {alerts.get('given_up', 0)} given up",
            soft_wrap=True,
        )


class SpinnerProgress(logging.Handler):
    """Shows the pipeline's progress records (logger `fivestar.progress`) on a spinner."""

    def __init__(self, status: Status) -> None:
        super().__init__(logging.INFO)
        self.status = status

    def emit(self, record: logging.LogRecord) -> None:
        progress = getattr(record, "progress", None)
        if progress is not None:
            self.status.update(f"{progress.line()} ...")
