"""The leaders' report (`fivestar report`): HTML and XLSX in Chinese, or one branch's card.

In: the warehouse (FIVESTAR_WAREHOUSE_URL; only the `rpt_*` views, listed per section in
`data.SOURCES`), the rulebook in FIVESTAR_CONFIG_DIR (star list, award threshold,
incentive amounts), a year and an optional as-of month. Out: files in the output folder:
`fivestar_report_<year>_<as-of>.html` (self-contained: inline CSS and SVG, no scripts) and
`.xlsx` (same tables), or `branch_<code>_<year>.html` with `--branch`.

    from fivestar.report import build_report_data, run_report_command
    paths = run_report_command(year=2026, out=Path("data/processed/reports"))
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy.exc import DBAPIError

from fivestar.report.branch import build_branch_data, render_branch_html
from fivestar.report.data import SOURCES, ReportError, build_report_data
from fivestar.report.html import render_report_html
from fivestar.report.xlsx import write_report_xlsx

__all__ = [
    "SOURCES",
    "ReportError",
    "build_branch_data",
    "build_report_data",
    "render_branch_html",
    "render_report_html",
    "run_report_command",
    "write_report",
    "write_report_xlsx",
]


def write_report(data: dict, out: Path) -> list[Path]:
    """Write the HTML page and the XLSX workbook of a `build_report_data` dict into `out`."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"fivestar_report_{data['year']}_{data['as_of']}"
    html_path = out / f"{stem}.html"
    html_path.write_text(render_report_html(data), encoding="utf-8")
    return [html_path, write_report_xlsx(data, out / f"{stem}.xlsx")]


def run_report_command(
    *, year: int | None = None, out: Path = Path("data/processed/reports"), branch: str | None = None,
    as_of: str | None = None,
) -> list[Path]:  # fmt: skip
    """The `fivestar report` command: build from the warehouse, write the files, return their paths."""
    from fivestar.config import load_rulebook
    from fivestar.settings import load_settings
    from fivestar.warehouse.engine import check_reachable, make_engine

    settings = load_settings()
    rb = load_rulebook(settings.config_dir)
    engine = make_engine(settings.warehouse_url)
    try:
        check_reachable(engine)
        try:
            if branch:
                card = build_branch_data(engine, branch, year, as_of, rb)
                out = Path(out)
                out.mkdir(parents=True, exist_ok=True)
                safe = re.sub(r"[^0-9A-Za-z_-]", "_", str(card["branch_code"]))
                path = out / f"branch_{safe}_{card['year']}.html"
                path.write_text(render_branch_html(card), encoding="utf-8")
                return [path]
            return write_report(build_report_data(engine, year, as_of, rb), out)
        except DBAPIError as exc:  # e.g. the views do not exist yet on a fresh warehouse
            raise ReportError(
                f"读取仓库失败（是否已运行 fivestar run？）：{str(exc.orig).strip()[:300]}"
            ) from exc
    finally:
        engine.dispose()
