"""A city adds 机关 branches by configuration only (issue 17), end to end.

In: the shipped config with config/examples/organs/*.csv copied over it; a generated
province with 村, 社区 and 机关 branches (`generate(..., branch_types=...)`, what
`fivestar sample --branch-types 村,社区,机关` does), one county's registry also listing a
学校 branch (a type nobody configured). Out, on SQLite and PostgreSQL: the real pipeline
run (flows.nightly.fivestar_run.fn); `rpt_area_summary` with rows per type and 全部;
机关 branches rated on their own five stars; the leaders' report headline with one clause
per type; the county template with its 机关指标 sheet and that sheet's input checks; the
county with the unconfigured type rejected with a clear Chinese finding, not a crash.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from sqlalchemy import create_engine, text

from testenv import drop_fivestar_settings

ROOT = Path(__file__).resolve().parents[2]
ORGANS = ROOT / "config" / "examples" / "organs"
TYPES = ("村", "社区", "机关")


def _config(tmp: Path) -> Path:
    cfg = tmp / "rulebook"
    shutil.copytree(ROOT / "config", cfg, ignore=shutil.ignore_patterns("examples"))
    for f in ORGANS.glob("*.csv"):
        shutil.copyfile(f, cfg / f.name)
    return cfg


def _run(monkeypatch: pytest.MonkeyPatch, root: Path, url: str) -> None:
    from prefect import Task

    import flows.nightly as nightly

    drop_fivestar_settings(monkeypatch)
    for k, v in {
        "FIVESTAR_RAW_DIR": root / "raw",
        "FIVESTAR_CONFIG_DIR": root / "config",
        "FIVESTAR_PROCESSED_DIR": root / "processed",
        "FIVESTAR_WAREHOUSE_URL": url,
        "FIVESTAR_ID_HASH_KEY": "test-key-branch-types",
        "FIVESTAR_SETTLE_SECONDS": "0",
    }.items():
        monkeypatch.setenv(k, str(v))
    for name, obj in list(vars(nightly).items()):
        if isinstance(obj, Task):
            monkeypatch.setattr(nightly, name, obj.fn)
    monkeypatch.setattr(nightly, "publish_artifacts", lambda result, names: None)
    nightly.fivestar_run.fn()


def test_a_city_adds_organs_by_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, warehouse_url: str, capfd: pytest.CaptureFixture[str]
) -> None:
    from fivestar.config import load_registry, load_rulebook
    from fivestar.report import build_report_data
    from fivestar.sample import generate
    from fivestar.template import write_template

    root = tmp_path / "prov"
    generate(
        root,
        "2026-11",
        counties=3,
        seed=5,
        months=1,
        rulebook_dir=_config(tmp_path),
        branches_per_county=(20, 30),
        events_per_branch=4,
        inject=False,
        branch_types=TYPES,
    )
    reg_path = root / "config" / "registry.csv"
    reg = pd.read_csv(reg_path, dtype=str, keep_default_na=False)
    assert set(reg.loc[reg["level"] == "branch", "branch_type"]) == set(TYPES)
    counties = sorted(reg.loc[reg["level"] == "county", "code"])
    # The last county's registry also lists a school: a type the configuration lacks.
    bad_county = counties[-1]
    school = [f"{bad_county}001901", "县第一中学", "branch", bad_county, "学校", "城关镇"]
    reg.loc[len(reg)] = school
    reg.to_csv(reg_path, index=False)

    capfd.readouterr()
    _run(monkeypatch, root, warehouse_url)
    it_log = capfd.readouterr().err  # the file workers' log lines (English, for IT)

    engine = create_engine(warehouse_url)
    try:
        with engine.connect() as conn:
            sub = pd.read_sql(text("SELECT county_code, status FROM rpt_submission"), conn)
            area = pd.read_sql(text("SELECT * FROM rpt_area_summary WHERE area_level = 'province'"), conn)
            stars = pd.read_sql(
                text(
                    "SELECT r.branch_type, s.star_code FROM rpt_branch_star s JOIN rpt_branch_rating r "
                    "ON r.year = s.year AND r.branch_code = s.branch_code"
                ),
                conn,
            )
            dq = pd.read_sql(text("SELECT county_code, rule, message FROM rpt_dq_issue"), conn)
    finally:
        engine.dispose()

    # The county with the unconfigured type: rejected, told in Chinese; the others loaded.
    status = dict(zip(sub["county_code"], sub["status"], strict=True))
    assert status[bad_county] == "rejected"
    assert all(status[c].startswith("accepted") for c in counties[:-1]), status
    bad = dq[(dq["county_code"] == bad_county) & (dq["rule"] == "roster.branch_type.unconfigured")]
    assert len(bad) == 1 and "学校" in bad["message"].iloc[0] and "信息化管理员" in bad["message"].iloc[0]
    assert "has branch_type '学校', which is not configured in branch_types.csv" in it_log

    # Views: a row per configured type and 全部; 机关 rated on the organs' own stars.
    assert set(area["branch_type"]) == {*TYPES, "全部"}
    per_type = area.set_index("branch_type")["branches"]
    assert per_type["全部"] == per_type["村"] + per_type["社区"] + per_type["机关"]
    organ_stars = set(stars.loc[stars["branch_type"] == "机关", "star_code"])
    assert organ_stars == {"ZBGY", "FWYZ", "QZLJ", "YJTC", "WMCJ"}
    assert set(stars.loc[stars["branch_type"] == "村", "star_code"]) == {
        "ZBGY",
        "CYXW",
        "STYJ",
        "PAFZ",
        "WMXF",
    }

    # Report: one headline clause per type, in configuration order, in the seed's words.
    rb = load_rulebook(root / "config")
    engine = create_engine(warehouse_url)
    try:
        data = build_report_data(engine, 2026, None, rb)
    finally:
        engine.dispose()
    headline = data["headline"]["province"][0]["text"]
    clauses = [
        f"{int(per_type[t])}{w}创成“五星”支部"
        for t, w in (("村", "个村"), ("社区", "个城市社区"), ("机关", "个机关"))
    ]
    assert all(c in headline for c in clauses), headline
    assert headline.index(clauses[0]) < headline.index(clauses[1]) < headline.index(clauses[2])
    assert "“三星”以上村、社区、机关支部占比" in headline

    # Template: the 机关指标 sheet with its registered organs and input checks.
    out = write_template(rb, load_registry(root / "config"), counties[0], "2026-12", tmp_path / "t.xlsx")
    wb = load_workbook(out)
    assert "机关指标" in wb.sheetnames
    ws = wb["机关指标"]
    organs = reg[(reg["parent_code"] == counties[0]) & (reg["branch_type"] == "机关")]
    codes = {str(ws.cell(r, 1).value) for r in range(2, ws.max_row + 1)} - {"None"}
    assert codes == set(organs["code"])
    headers = [c.value for c in ws[1]]
    rate_col = headers.index("办件按时办结率（%）") + 1
    yes_col = headers.index("是否为县级以上文明单位") + 1
    assert len(headers) == 2 + 20  # 支部代码, 支部名称 and 5 stars × 4 indicators
    dvs = ws.data_validations.dataValidation

    def check_on(col: int):
        letter = get_column_letter(col)
        return next(dv for dv in dvs if any(str(r).startswith(f"{letter}2") for r in dv.sqref.ranges))

    assert check_on(rate_col).type == "decimal" and float(check_on(rate_col).formula2) == 100
    assert check_on(yes_col).type == "list" and "是" in check_on(yes_col).formula1
    roster = wb["支部名册"]
    type_col = [c.value for c in roster[1]].index("类型") + 1
    roster_dv = next(
        dv
        for dv in roster.data_validations.dataValidation
        if any(str(r).startswith(f"{get_column_letter(type_col)}2") for r in dv.sqref.ranges)
    )
    assert roster_dv.formula1 == '"村,社区,机关"'


def test_a_running_warehouse_takes_a_new_type_without_sql(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, warehouse_url: str
) -> None:
    """Old rows keep their types and verdicts when the configuration gains 机关 (the
    rulebook hash changes: the next run recomputes every rating from stored facts)."""
    from fivestar.sample import generate

    root = tmp_path / "prov"
    generate(root, "2026-11", counties=2, seed=9, months=1, branches_per_county=(12, 18), events_per_branch=4)
    _run(monkeypatch, root, warehouse_url)
    q = (
        "SELECT r.branch_code, r.branch_type, r.star_level, s.star_code, s.total_score, s.awarded "
        "FROM rpt_branch_rating r JOIN rpt_branch_star s ON s.year = r.year AND s.branch_code = r.branch_code"
    )

    def snapshot() -> tuple[pd.DataFrame, set[str]]:
        engine = create_engine(warehouse_url)
        try:
            with engine.connect() as conn:
                rows = pd.read_sql(text(q), conn).sort_values(["branch_code", "star_code"], ignore_index=True)
                hashes = set(
                    pd.read_sql(text("SELECT DISTINCT rulebook_hash FROM branch_rating"), conn)[
                        "rulebook_hash"
                    ]
                )
        finally:
            engine.dispose()
        return rows, hashes

    before, old_hash = snapshot()
    assert len(before) and set(before["branch_type"]) == {"村", "社区"}
    for f in ORGANS.glob("*.csv"):
        shutil.copyfile(f, root / "config" / f.name)
    _run(monkeypatch, root, warehouse_url)
    after, new_hash = snapshot()
    assert new_hash != old_hash  # recomputed under the new rulebook …
    pd.testing.assert_frame_equal(after, before)  # … with the same types, scores and verdicts


def test_an_optional_type_sheet_is_needed_only_where_the_county_has_such_branches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """机关指标 is `sheet_required = no`: left out by counties without organs (accepted);
    left out by a county with organs, each organ is missing its row (rejected)."""
    from fivestar.sample import generate

    cfg = _config(tmp_path)
    small = {"months": 1, "branches_per_county": (10, 14), "events_per_branch": 3, "inject": False}
    without = tmp_path / "without"
    generate(without, "2026-11", counties=1, seed=2, rulebook_dir=cfg, branch_types=("村", "社区"), **small)
    (f,) = (without / "raw" / "2026-11").glob("*.xlsx")
    assert "机关指标" not in load_workbook(f, read_only=True).sheetnames
    _run(monkeypatch, without, f"sqlite:///{tmp_path / 'a.db'}")

    with_organs = tmp_path / "with"
    generate(with_organs, "2026-11", counties=1, seed=2, rulebook_dir=cfg, branch_types=TYPES, **small)
    (g,) = (with_organs / "raw" / "2026-11").glob("*.xlsx")
    wb = load_workbook(g)
    organs = {str(r[0]) for r in wb["机关指标"].iter_rows(min_row=2, values_only=True) if r[0]}
    del wb["机关指标"]
    wb.save(g)
    _run(monkeypatch, with_organs, f"sqlite:///{tmp_path / 'b.db'}")

    for db, want in (("a.db", "accepted"), ("b.db", "rejected")):
        engine = create_engine(f"sqlite:///{tmp_path / db}")
        try:
            with engine.connect() as conn:
                status = conn.execute(text("SELECT status FROM rpt_submission")).scalar_one()
                dq = pd.read_sql(text("SELECT rule, value, sheet, message FROM rpt_dq_issue"), conn)
        finally:
            engine.dispose()
        assert status.startswith(want), (db, status, dq)
    missing = dq[dq["rule"] == "organ_indicators.branch_code.missing"]
    assert (
        organs
        and set(missing["value"]) == organs
        and set(dq["rule"]) == {"organ_indicators.branch_code.missing"}
    )
    assert all("机关指标" in m for m in missing["message"])
