"""HTML validation pages: one per submission (for the county clerk), plus a run index.

In: a Findings frame and the submission's identity (county, period, version, file
name and hash, status), and the time to show (Beijing time); for the index, one dict
per processed submission. Out: self-contained UTF-8 HTML files (inline CSS, no external
resources), in plain Chinese: errors before warnings, the 处理意见 steps of the
审核结果 sheet; rule ids and the file hash only in a collapsed section for IT staff.
Jinja2 autoescaping is on, so text from workbooks (values, file names) is shown, never run.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd
from jinja2 import DictLoader, Environment, StrictUndefined

from fivestar.deadlines import SHANGHAI
from fivestar.feedback.common import (
    clean_text,
    counts,
    location,
    normalise,
    severity_label,
)
from fivestar.feedback.summary_sheet import guidance_steps
from fivestar.feedback.templates import TEMPLATES
from fivestar.findings import ERROR
from fivestar.status import status_zh

SHORT_VALUE = 24  # values up to this many characters never wrap (a 10-digit number stays whole)
_ENV = Environment(
    loader=DictLoader(TEMPLATES),
    autoescape=True,  # values come from submitted files: '<script>' must stay text
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


def write_validation_html(
    out: Path,
    findings: pd.DataFrame,
    *,
    county_code: str,
    county_name: str,
    period: str,
    version: int,
    status: str,
    file_name: str,
    file_sha256: str,
    feedback_workbook: Path | None = None,
    now: datetime | None = None,
) -> Path:
    """Write the per-submission validation page to `out` and return `out`.

    `now`: the time shown on the page (default: the current time), in Beijing time."""
    out = Path(out)
    df = normalise(findings)
    rows = []
    for rec in df.to_dict("records"):
        sev = str(rec["severity"])
        rows.append(
            {
                "severity": sev if sev in ("error", "warning") else "",
                "severity_label": severity_label(sev),
                "location": clean_text(location(str(rec["sheet"]), str(rec["cell"]))) or "（整个文件）",
                "row": "" if pd.isna(rec["row"]) else int(rec["row"]),
                "column_name": clean_text(rec["column_name"]),
                "value": clean_text(rec["value"]),
                "value_class": "short" if len(clean_text(rec["value"])) <= SHORT_VALUE else "long",
                "message": clean_text(rec["message"]),
                "rule": clean_text(rec["rule"]),
                "branch_code": clean_text(rec["branch_code"]),
                "explained": "" if sev == ERROR else ("是" if bool(rec["explained"]) else "否"),
            }
        )
    html = _ENV.get_template("validation.html").render(
        county_code=clean_text(county_code),
        county_name=clean_text(county_name),
        period=clean_text(period),
        version=clean_text(version),
        status=_css_token(status),
        status_label=status_zh(status),
        file_name=clean_text(file_name),
        file_sha256=clean_text(file_sha256),
        feedback_href=_href(feedback_workbook, out) if feedback_workbook else "",
        feedback_name=Path(feedback_workbook).name if feedback_workbook else "",
        n=counts(df),
        steps=guidance_steps(status, counts(df)),
        rows=rows,
        generated_at=beijing_time(now),
    )
    _write(out, html)
    return out


def write_run_index(
    out: Path, rows: list[dict], *, title: str = "本次运行审核报告", now: datetime | None = None
) -> Path:
    """Write an index page linking every submission's validation page; return `out`.

    Each row may hold: county_code, county_name, period, version, status, errors,
    warnings, file_name, html_path (the page from `write_validation_html`) and
    feedback_path (the workbook). Missing keys show blank; links are relative to `out`.
    """
    out = Path(out)
    shown = []
    by_status: dict[str, int] = {}
    n_err = n_warn = 0
    for row in rows:
        status = str(row.get("status", "") or "")
        by_status[status] = by_status.get(status, 0) + 1
        errors, warnings = _int(row.get("errors")), _int(row.get("warnings"))
        n_err += errors or 0
        n_warn += warnings or 0
        html_path = row.get("html_path", row.get("html"))
        feedback = row.get("feedback_path", row.get("feedback"))
        shown.append(
            {
                "county_code": clean_text(row.get("county_code")),
                "county_name": clean_text(row.get("county_name")),
                "period": clean_text(row.get("period")),
                "version": clean_text(row.get("version")),
                "status": _css_token(status),
                "status_label": status_zh(status),
                "errors": "" if errors is None else errors,
                "warnings": "" if warnings is None else warnings,
                "file_name": clean_text(row.get("file_name")),
                "html_href": _href(html_path, out) if html_path else "",
                "feedback_href": _href(feedback, out) if feedback else "",
            }
        )
    totals = {
        "files": len(rows),
        "by_status": [(_css_token(k), status_zh(k), v) for k, v in by_status.items() if k],
        "errors": n_err,
        "warnings": n_warn,
    }
    html = _ENV.get_template("run_index.html").render(
        title=clean_text(title), rows=shown, totals=totals, generated_at=beijing_time(now)
    )
    _write(out, html)
    return out


def _href(target: Any, page: Path) -> str:
    """A link from `page` to `target`: relative, '/'-separated, percent-encoded."""
    text = str(target)
    if "://" in text:
        return text
    try:
        rel = os.path.relpath(Path(target).resolve(), page.resolve().parent)
    except ValueError:  # different drive on Windows: fall back to an absolute file URL
        return Path(target).resolve().as_uri()
    return quote(Path(rel).as_posix(), safe="/")


def _css_token(status: Any) -> str:
    s = str(status or "")
    return s if s.replace("_", "").isalnum() and s.isascii() else ""


def _int(value: Any) -> int | None:
    try:
        return None if value is None or pd.isna(value) else int(value)
    except (TypeError, ValueError):
        return None


def beijing_time(now: datetime | None = None) -> str:
    """`now` (default: the current time; naive means UTC) as Beijing time, to the minute."""
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return now.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def _write(out: Path, text: str) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)  # a full disk leaves no half-written page behind
