"""Generate a synthetic province: config, registry, submitters and county workbooks.

In: an output folder, the last period, how many counties and months, a seed, the
rulebook folder and size knobs. Out (all under the output folder):
- `config/` — a copy of the rulebook files plus a generated `registry.csv` and
  `submitters.csv`;
- `raw/<YYYY-MM>/<county code>_<county name>_<YYYY-MM>.xlsx` — one workbook per county
  and month, exactly in the layout of submission.md;
- `manifest.json` — per file the expected status and every injected problem.
The same seed gives the same content, and byte-identical files.
"""

from __future__ import annotations

import datetime as dt
import shutil
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openpyxl.utils import get_column_letter

from fivestar.config import Rulebook, load_rulebook, load_validation_thresholds
from fivestar.sample import names
from fivestar.sample.build import FileBuild, Pending, build_file, county_style, finalize_sheets
from fivestar.sample.inject import FilePlan, MonthContext, inject, plan_files
from fivestar.sample.manifest import FileEntry, Issue, Manifest
from fivestar.sample.province import County, build_province, write_registry, write_submitters
from fivestar.sample.sheets import Row, Sheet, Styled, write_xlsx
from fivestar.sample.values import LedgerState, indicator_defs, item_defs, ym

CONFIG_SUFFIXES = (".yaml", ".yml", ".csv", ".json")
GENERATED = ("registry.csv", "submitters.csv")

EXPLANATIONS = {
    "age_over_60": "该支部书记经县委组织部批准超龄留任",
    "text_number": "数据由台账系统导出，数值无误",
    "rate_fraction": "该项由乡镇按小数报送，已核实",
    "resident_id": "该户沿用户主身份证号作为编号",
    "cap_overflow": "本月该项活动实际开展多次，如实登记",
    "not_in_registry": "该村为本年度新设行政村，尚未纳入区划代码库",
    "members_over_500": "该社区党员人数较多，数据已核实",
    "cumulative_decrease": "经审计核减上月多计的集体经济收入",
    "rate_jump": "本月重新核定统计口径",
}


@dataclass(frozen=True)
class Preset:
    counties: int
    months: int
    period: str
    branches_per_county: tuple[int, int]
    events_per_branch: int
    webhooks: bool = False


# The committed quickstart sample (config/registry.csv, config/submitters.csv, data/raw/2026-1x).
# No webhooks: a quickstart run should not log failing deliveries to the discard port.
SMALL = Preset(
    counties=3, months=2, period="2026-11", branches_per_county=(15, 40), events_per_branch=5, webhooks=False
)


def periods_ending(period: str, months: int) -> list[str]:
    """`months` consecutive periods ending at `period`, oldest first."""
    y, m = ym(period)
    k = y * 12 + m - 1
    return [f"{(k - i) // 12:04d}-{(k - i) % 12 + 1:02d}" for i in range(months - 1, -1, -1)]


def _display(v: Any) -> str:
    """The value as written in the cell, as openpyxl reads it back, as text."""
    if isinstance(v, Styled):
        v = v.value
    if v is None:
        return ""
    if isinstance(v, dt.datetime | dt.date):
        return v.isoformat()[:10]
    return str(v)


def _sheet_title(fb: FileBuild, key: str) -> str:
    if key in fb.sheets:
        return fb.sheets[key].title
    if key == "cover":
        return fb.rb.cover_sheet
    return fb.rb.sheets[key].sheet if key in fb.rb.sheets else ""


def _resolve(fb: FileBuild, p: Pending) -> Issue:
    title = _sheet_title(fb, p.sheet_key) if p.sheet_key else ""
    cell, row_no = "", None
    if p.row is not None:
        sh = fb.sheets[p.sheet_key]
        row_no = sh.excel_row(p.row)
        cell = sh.cell_ref(p.row, p.column if sh.header is not None else None)
    elif p.at_header:
        sh = fb.sheets[p.sheet_key]
        row_no = 1
        cell = f"{get_column_letter(sh.col(p.column) + 1)}1"
    return Issue(
        severity=p.severity,
        sheet=title,
        cell=cell,
        row=row_no,
        column=p.column,
        value=_display(p.value),
        rule=p.rule,
        description=p.description,
        branch_code=p.branch_code,
    )


def _explain(fb: FileBuild, issues: list[Issue]) -> list[Issue]:
    """Fill 情况说明 for the first warning with a cell; mark what it explains."""
    target = next((i for i in issues if i.severity == "warning" and i.cell and i.rule in EXPLANATIONS), None)
    if target is None:
        return issues
    sh = fb.sheets["explanations"]
    sh.rows.append(Row([f"{target.sheet}!{target.cell}", EXPLANATIONS[target.rule]]))
    return [
        Issue(**{**i.__dict__, "explained": True})
        if i.severity == "warning" and i.sheet == target.sheet and i.cell == target.cell
        else i
        for i in issues
    ]


def _status(issues: list[Issue]) -> str:
    if any(i.severity == "error" for i in issues):
        return "rejected"
    return "accepted_with_warnings" if issues else "accepted"


def _write(fb: FileBuild, out_dir: Path) -> FileEntry:
    issues = [_resolve(fb, p) for p in fb.pending]
    if fb.explain:
        issues = _explain(fb, issues)
    sheets: list[Sheet] = finalize_sheets(fb)
    rel = Path("raw") / fb.period / f"{fb.county.code}_{fb.county.name}_{fb.period}.xlsx"
    path = out_dir / rel
    y, m = ym(fb.period)
    # Submitted early next month; fixed, so the bytes do not depend on the clock.
    when = dt.datetime(y + m // 12, m % 12 + 1, 5, 9, 0, 0)
    write_xlsx(path, sheets, when, f"{fb.county.name}委组织部")
    if fb.corrupt:
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    return FileEntry(
        county_code=fb.county.code,
        county_name=fb.county.name,
        period=fb.period,
        path=rel.as_posix(),
        expected_status=_status(issues),
        issues=tuple(issues),
        variations=tuple(fb.variations),
    )


def _county_files(
    rb: Rulebook,
    county: County,
    ci: int,
    periods: list[str],
    plan: dict[tuple[int, int], FilePlan],
    seed: int,
    events_per_branch: int,
    inject_problems: bool,
    out_dir: Path,
) -> list[FileEntry]:
    style = county_style(rb, county, ci, seed, inject_problems)
    defs = {t: indicator_defs(rb, t) for t in rb.types}
    items = item_defs(rb)
    state = LedgerState()
    registry_codes = frozenset(b.code for b in county.branches)
    thresholds = load_validation_thresholds(rb.directory)
    history: list[tuple[str, str, dict]] = []  # period, expected status, meaning
    out = []
    for mi, period in enumerate(periods):
        fb = build_file(rb, county, period, style, seed, events_per_branch, state, defs, items)
        prev = next(((p, mean) for p, st, mean in reversed(history) if st != "rejected"), None)
        ctx = MonthContext(
            is_last=mi == len(periods) - 1,
            prev_period=prev[0] if prev else None,
            prev_meaning=prev[1] if prev else None,
            registry_codes=registry_codes,
            thresholds=thresholds,
        )
        inject(fb, plan[(ci, mi)], ctx, seed)
        entry = _write(fb, out_dir)
        history.append((period, entry.expected_status, fb.meaning))
        out.append(entry)
    return out


def _county_job(args: tuple) -> list[FileEntry]:
    rulebook_dir, county, *rest = args
    return _county_files(load_rulebook(rulebook_dir), county, *rest)


def generate(
    out_dir: Path,
    period: str,
    counties: int = 5,
    seed: int = 0,
    months: int = 2,
    rulebook_dir: Path = Path("config"),
    branches_per_county: tuple[int, int] = (150, 400),
    events_per_branch: int = 30,
    inject: bool = True,
    *,
    workers: int = 1,
    webhooks: bool = False,
    branch_types: tuple[str, ...] | None = None,
) -> Manifest:
    """Write a synthetic province under `out_dir` and return its manifest.

    `events_per_branch` is the mean number of ledger events per branch and month.
    `workers` > 1 writes counties in parallel processes (same output, faster).
    Every webhook_url in submitters.csv is blank (e-mail only) unless `webhooks=True`,
    which points some at the unreachable discard port (for tests of failing deliveries).
    `branch_types` limits the kinds of branch invented (default: every configured type).
    """
    out_dir = Path(out_dir)
    rulebook_dir = Path(rulebook_dir)
    ym(period)  # fail early on a malformed period
    if months < 1:
        raise ValueError("months must be at least 1")
    rb = load_rulebook(rulebook_dir)
    config_out = out_dir / "config"
    config_out.mkdir(parents=True, exist_ok=True)
    for src in sorted(rulebook_dir.iterdir()):
        # The whole configuration (rulebook, limits, validation thresholds, …) but not the
        # registry and submitters of the source: this province gets its own.
        wanted = src.is_file() and src.suffix in CONFIG_SUFFIXES and src.name not in GENERATED
        if wanted and src.resolve() != (config_out / src.name).resolve():
            shutil.copyfile(src, config_out / src.name)

    if branch_types is not None:
        unknown = [t for t in branch_types if t not in rb.types]
        if unknown or not branch_types:
            raise ValueError(
                f"branch type(s) {', '.join(unknown) or '(none)'} not configured in "
                f"{rulebook_dir / 'branch_types.csv'} (configured: {', '.join(rb.types)})"
            )
    province = build_province(rb, counties, seed, branches_per_county, webhooks, branch_types)
    write_registry(config_out / "registry.csv", province)
    write_submitters(config_out / "submitters.csv", province)

    periods = periods_ending(period, months)
    plan = plan_files([(ci, mi) for ci in range(len(province)) for mi in range(months)], months, seed, inject)
    jobs = [
        (rulebook_dir, c, ci, periods, plan, seed, events_per_branch, inject, out_dir)
        for ci, c in enumerate(province)
    ]
    if workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            per_county = list(pool.map(_county_job, jobs))
    else:
        per_county = [_county_files(rb, *job[1:]) for job in jobs]
    files = sorted((f for fs in per_county for f in fs), key=lambda f: (f.period, f.county_code))

    manifest = Manifest(
        seed=seed,
        period=period,
        periods=periods,
        counties=[
            {
                "code": c.code,
                "name": c.name,
                "city_code": c.city_code,
                "city_name": c.city_name,
                "branches": len(c.branches),
                "villages": len(c.of_type(names.RURAL_TYPE)),
                "communities": len(c.of_type(names.URBAN_TYPE)),
            }
            for c in province
        ],
        files=files,
        root=out_dir,
    )
    manifest.save(out_dir / "manifest.json")
    return manifest


def generate_small(out_dir: Path, seed: int = 0, rulebook_dir: Path = Path("config")) -> Manifest:
    """The quickstart preset `SMALL` (3 counties, 2026-10 and 2026-11, 15–40 branches each)."""
    p = SMALL
    return generate(
        out_dir,
        p.period,
        counties=p.counties,
        seed=seed,
        months=p.months,
        rulebook_dir=rulebook_dir,
        branches_per_county=p.branches_per_county,
        events_per_branch=p.events_per_branch,
        webhooks=p.webhooks,
    )


def install_quickstart(repo: Path, seed: int = 0, work_dir: Path | None = None) -> Manifest:
    """Regenerate the committed sample: registry and submitters into `repo/config`,
    workbooks into `repo/data/raw/<period>/`. The rulebook files of the repo are the input
    and are not touched. The manifest stays in `work_dir` (a temp folder by default)."""
    import tempfile

    repo = Path(repo)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(work_dir) if work_dir else Path(tmp)
        manifest = generate_small(out, seed=seed, rulebook_dir=repo / "config")
        for name in ("registry.csv", "submitters.csv"):
            shutil.copyfile(out / "config" / name, repo / "config" / name)
        for f in manifest.files:
            dest = repo / "data" / f.path  # raw/<period>/<file>
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(out / f.path, dest)
        if work_dir is None:
            manifest.root = None
        return manifest
