"""Validation of county workbooks: every error and warning of shared/spec/submission.md.

In: one small workbook per case (tests/wbfactory.py, edited to carry exactly one
problem), a registry of a few counties, and prior facts (previous month, earlier
ledger) per county. All cases run through read_workbook and ONE validate_period call
(Great Expectations has a fixed cost per call; many files per call is also how runs
work). Out: assertions on each finding: severity, sheet, cell, column header, value,
rule and a plain-Chinese message; clean workbooks have no findings at all.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import wbfactory as W
from fivestar.config import Limits, Registry, Rulebook
from fivestar.ingest.read import read_workbook
from fivestar.validate import catalogue
from fivestar.validate.batch import validate_period
from fivestar.validate.inputs import Prior, Submission

PERIOD = "2026-11"
COUNTY = "410522"
ID_KEY = "test-id-key"
ID = "41052219900101123X"
CHINESE = re.compile(r"[\u4e00-\u9fff]")

BRS = W.branches(COUNTY)
V1, V2, V3, C1 = (b["code"] for b in BRS)  # roster rows 2-5; 村指标 rows 2-4; 社区指标 row 2
NEW = "410522101299"  # a well-formed code of this county that nobody registered
D = dt.date(2026, 11, 3)

# Counties with prior facts or special rosters (one county per setup: priors are per county).
PREV_SAME_YEAR = "410523"
PREV_OTHER_YEAR = "410526"
SAT_ALL_100 = "410527"
SAT_90_PCT = "410581"
SAT_11 = "410582"
BALANCE = "410528"
NAMES = {
    COUNTY: "林州市",
    PREV_SAME_YEAR: "安阳县",
    PREV_OTHER_YEAR: "滑县",
    SAT_ALL_100: "内黄县",
    SAT_90_PCT: "林州一县",
    SAT_11: "林州二县",
    BALANCE: "汤阴县",
}
BRANCHES = {c: W.branches(c) for c in NAMES}
BRANCHES[SAT_ALL_100] = W.branches(SAT_ALL_100, n_village=10)
BRANCHES[SAT_90_PCT] = W.branches(SAT_90_PCT, n_village=10)
BRANCHES[SAT_11] = W.branches(SAT_11, n_village=11)
REGISTRY = Registry(
    regions=W.registry_frame(NAMES, BRANCHES),
    submitters=pd.DataFrame(columns=["county_code", "name", "email", "webhook_url"]),
)


def _prev(county: str, values: dict[str, float]) -> pd.DataFrame:
    v1 = BRANCHES[county][0]["code"]
    return pd.DataFrame(
        {"branch_code": v1, "indicator_key": list(values), "value": [float(x) for x in values.values()]}
    )


# Current values are the factory's: rates 96, collective_income 30000.
PREV_VALUES = {
    "collective_income": 40000,
    "meeting_rate": 60,
    "member_participation_rate": 66,
    "toilet_rate": 95,
}
H1 = "H0001"
PRIORS = {
    PREV_SAME_YEAR: Prior(prev_period="2026-10", prev_indicators=_prev(PREV_SAME_YEAR, PREV_VALUES)),
    PREV_OTHER_YEAR: Prior(prev_period="2025-12", prev_indicators=_prev(PREV_OTHER_YEAR, PREV_VALUES)),
    BALANCE: Prior(
        prev_period="2026-10",
        earlier_ledger=pd.DataFrame(
            {
                "county_code": BALANCE,
                "period": ["2025-10", "2026-10", "2026-10", "2026-10"],
                "version": 1,
                "seq": [2, 2, 3, 4],
                "event_date": pd.to_datetime(["2025-10-05", "2026-10-05", "2026-10-06", "2026-10-07"]),
                "branch_code": BRANCHES[BALANCE][0]["code"],
                "subject_type": "户",
                "subject_id": H1,
                "item_code": ["HH03", "HH01", "HH02", "HH01"],  # HH01 twice: cap 1, second not counted
                "points": [1.0, 2.0, 3.0, 2.0],
            }
        ),
    ),
}


def col(rb: Rulebook, sheet_key: str, key: str) -> str:
    """Column letter of a column as the factory writes it (spec order)."""
    keys = [c.key for c in rb.sheets[sheet_key].columns]
    return chr(ord("A") + keys.index(key))


@dataclass
class Case:
    county: str = COUNTY
    edit: Callable[[Any], None] | None = None
    ledger: list[list[Any]] | None = None
    vetoes: list[list[Any]] | None = None
    explanations: list[list[Any]] | None = None
    values: dict[tuple[str, str], Any] | None = None
    raw: bytes | None = None  # write these bytes instead of a workbook


def setter(sheet: str, **cells_: Any) -> Callable[[Any], None]:
    def edit(wb: Any) -> None:
        for ref, v in cells_.items():
            wb[sheet][ref] = v

    return edit


def chain(*edits: Callable[[Any], None]) -> Callable[[Any], None]:
    def edit(wb: Any) -> None:
        for e in edits:
            e(wb)

    return edit


def recode(old: str, new: str) -> Callable[[Any], None]:
    """Change a branch code on every sheet (so only the code itself is wrong)."""

    def edit(wb: Any) -> None:
        for ws in wb.worksheets:
            for row in ws.iter_rows():
                for c in row:
                    if c.value == old:
                        c.value = new

    return edit


def delete_row(sheet: str, row: int) -> Callable[[Any], None]:
    def edit(wb: Any) -> None:
        wb[sheet].delete_rows(row)

    return edit


def copy_row(sheet: str, row: int, **changes: Any) -> Callable[[Any], None]:
    """Append a copy of a row (changes: {column letter: value})."""

    def edit(wb: Any) -> None:
        ws = wb[sheet]
        values = [c.value for c in ws[row]]
        ws.append(values)
        for letter, v in changes.items():
            ws[f"{letter}{ws.max_row}"] = v

    return edit


def _ledger(*rows: tuple[Any, ...]) -> list[list[Any]]:
    """Rows of (date, branch, subject type, subject id, item, points); 说明 filled in."""
    return [[*r, "说明"] for r in rows]


def veto(*rows: tuple[Any, ...]) -> list[list[Any]]:
    return [list(r) for r in rows]


def percent_cells(wb: Any) -> None:
    ws = wb["村指标"]
    ws["C2"] = 0.95
    ws["C2"].number_format = "0%"
    ws["E2"] = "95%"
    ws["K2"] = "９６％"


def _make_cases() -> dict[str, Case]:
    c: dict[str, Case] = {}
    # ---- clean files ----
    c["clean"] = Case()
    c["clean_again"] = Case()  # a second version of the same county-month in the same run
    c["clean_variants"] = Case(
        edit=chain(
            percent_cells,
            setter("封面", B1=int(COUNTY), B3=dt.date(2026, 11, 1)),
            setter("支部名册", A2=int(V1), E2=500, E3=3, F2=1, H2=18, H3=60),
            setter("村指标", D2=0, G2=0),
        ),
        ledger=_ledger(
            (D, V1, "支部", V1, "ZB01", 2),
            (dt.date(2026, 11, 30), V1, "支部", "", "ZB02", 2),
            ("2026/11/4", V1, "党员", "DY0001", "DY01", 1),
            ("2026年11月5日", V1, "党员", "DY0001", "DY01", 1),
            (dt.date(2026, 11, 1), V1, "党员", "DY0002", "DY01", 1),
            (D, V1, "户", H1, "HH02", 3),
            (D, V1, "户", H1, "DH01", -3),  # exactly the balance
            (D, C1, "支部", "", "GJ01", 2),
            (D, V2, "支部", "", "ZB03", -5),
        ),
        vetoes=veto((V1, D, "V04", "环境污染"), (C1, "2026-11-30", "V01", "安全事故")),
        explanations=[],
    )
    c["clean_period_text"] = Case(edit=setter("封面", B3="2026年11月"))
    c["clean_period_slash"] = Case(edit=setter("封面", B3="2026/11"))
    c["veto_sheet_empty"] = Case(edit=delete_row("否决事项", 1))
    c["ledger_no_rows"] = Case(ledger=[])
    # ---- cover ----
    c["cover_code_missing"] = Case(edit=setter("封面", B1=None))
    c["cover_code_not6"] = Case(edit=setter("封面", B1="41052"))
    c["cover_code_unregistered"] = Case(edit=setter("封面", B1="419999"))
    c["cover_code_other_file"] = Case(edit=setter("封面", B1="410523"))
    c["cover_name"] = Case(edit=setter("封面", B2="林县"))
    c["cover_period_missing"] = Case(edit=setter("封面", B3=None))
    c["cover_period_unreadable"] = Case(edit=setter("封面", B3="十一月"))
    c["cover_period_number"] = Case(edit=setter("封面", B3=2026.11))
    c["cover_period_other"] = Case(edit=setter("封面", B3="2026-10"))
    c["cover_submitter_blank"] = Case(edit=setter("封面", B4="  "))
    c["cover_phone_blank"] = Case(edit=setter("封面", B5=None))
    c["cover_email_invalid"] = Case(edit=setter("封面", B6="county-at-example.org"))
    c["cover_email_blank"] = Case(edit=setter("封面", B6=None))
    c["cover_submitter_id"] = Case(edit=setter("封面", B4=ID))
    c["cover_rows_reordered"] = Case(edit=lambda wb: wb["封面"].move_range("A1:B6", rows=2))
    # ---- roster ----
    c["roster_code_not12"] = Case(edit=recode(V3, "41052210120"))
    c["roster_code_prefix"] = Case(edit=recode(V3, "410523101203"))
    c["roster_code_duplicate"] = Case(edit=copy_row("支部名册", 2))
    c["roster_code_unregistered"] = Case(
        edit=chain(copy_row("支部名册", 4, A=NEW, B="新建村"), copy_row("村指标", 4, A=NEW, B="新建村"))
    )
    c["roster_registry_missing"] = Case(edit=chain(delete_row("支部名册", 4), delete_row("村指标", 4)))
    c["roster_name_blank"] = Case(edit=setter("支部名册", B3=None))
    c["roster_type_bad"] = Case(edit=setter("支部名册", C3="乡"))
    c["roster_township_blank"] = Case(edit=setter("支部名册", D3=" "))
    c["roster_members_lt3"] = Case(edit=setter("支部名册", E3=2))
    c["roster_members_fraction"] = Case(edit=setter("支部名册", E3=30.5))
    c["roster_members_text"] = Case(edit=setter("支部名册", E3="三十"))
    c["roster_members_text_number"] = Case(edit=setter("支部名册", E3="３０"))
    c["roster_members_gt500"] = Case(edit=setter("支部名册", E3=501))
    c["roster_households_lt1"] = Case(edit=setter("支部名册", F3=0))
    c["roster_households_fraction"] = Case(edit=setter("支部名册", F3=300.5))
    c["roster_secretary_blank"] = Case(edit=setter("支部名册", G3=None))
    c["roster_age_lt18"] = Case(edit=setter("支部名册", H3=17))
    c["roster_age_gt80"] = Case(edit=setter("支部名册", H3=81))
    c["roster_age_gt60"] = Case(edit=setter("支部名册", H3=61))
    c["roster_households_id_number"] = Case(edit=setter("支部名册", F3=410522199001011234))
    c["roster_secretary_id"] = Case(edit=setter("支部名册", G3=ID))
    # ---- indicators ----
    c["ind_blank"] = Case(edit=setter("村指标", C2=None))
    c["ind_text"] = Case(edit=setter("村指标", C2="一百"))
    c["ind_error_value"] = Case(edit=setter("村指标", C2="#DIV/0!"))
    c["ind_formula"] = Case(edit=setter("村指标", C2="=90+6"))
    c["ind_range"] = Case(edit=setter("村指标", C2=120))
    c["ind_negative"] = Case(edit=setter("村指标", D2=-1))
    c["ind_negative_num"] = Case(edit=setter("村指标", G2=-0.5))
    c["ind_fraction"] = Case(edit=setter("村指标", D2=1.5))
    c["ind_yesno"] = Case(edit=setter("村指标", F2="有"))
    c["ind_text_number"] = Case(edit=setter("村指标", D2="９５"))
    c["ind_pct_decimal"] = Case(edit=setter("村指标", C2=0.95))
    c["ind_community"] = Case(edit=setter("社区指标", P2=-10))
    c["ind_missing_row"] = Case(edit=delete_row("村指标", 4))
    c["ind_duplicate"] = Case(edit=copy_row("村指标", 2))
    c["ind_not_in_roster"] = Case(edit=copy_row("村指标", 2, A=NEW))
    c["ind_wrong_sheet"] = Case(
        edit=chain(copy_row("村指标", 2, A=C1, B="幸福1社区"), delete_row("社区指标", 2))
    )
    # ---- previous month and county-wide patterns ----
    c["prev_same_year"] = Case(county=PREV_SAME_YEAR)
    c["prev_other_year"] = Case(county=PREV_OTHER_YEAR)
    c["sat_few"] = Case(values={(b, "satisfaction_rate"): 100 for b in (V1, V2, V3, C1)})
    for county, n100 in ((SAT_ALL_100, 10), (SAT_90_PCT, 9), (SAT_11, 10)):
        vs = {(b["code"], "satisfaction_rate"): 100 for b in BRANCHES[county][:n100]}
        c[f"sat_{county}"] = Case(county=county, values=vs)
    # ---- ledger ----
    c["led_date_outside"] = Case(ledger=_ledger((dt.date(2026, 12, 1), V1, "支部", "", "ZB01", 2)))
    c["led_date_unreadable"] = Case(ledger=_ledger(("11月3日", V1, "支部", "", "ZB01", 2)))
    c["led_branch_unknown"] = Case(ledger=_ledger((D, NEW, "支部", "", "ZB01", 2)))
    c["led_subject_type_bad"] = Case(ledger=_ledger((D, V1, "集体", "", "ZB01", 2)))
    c["led_subject_type_item"] = Case(ledger=_ledger((D, V1, "党员", "DY0001", "ZB01", 2)))
    c["led_subject_other_branch"] = Case(ledger=_ledger((D, V1, "支部", V2, "ZB01", 2)))
    c["led_subject_required"] = Case(ledger=_ledger((D, V1, "户", None, "HH01", 2)))
    c["led_member_required"] = Case(ledger=_ledger((D, V1, "党员", " ", "DY01", 1)))
    c["led_resident_id"] = Case(
        ledger=_ledger((D, V1, "户", ID, "HH01", 2), (D, V1, "户", ID.lower(), "DH01", -3))
    )
    c["led_item_unknown"] = Case(ledger=_ledger((D, V1, "支部", "", "ZZ99", 2)))
    c["led_item_type"] = Case(ledger=_ledger((D, V1, "支部", "", "GJ01", 2)))
    c["led_points_catalogue"] = Case(ledger=_ledger((D, V1, "支部", "", "ZB01", 3)))
    c["led_points_blank"] = Case(ledger=_ledger((D, V1, "支部", "", "ZB01", None)))
    c["led_redeem_positive"] = Case(
        ledger=_ledger((D, V1, "户", H1, "HH02", 3), (D, V1, "户", H1, "DH01", 2))
    )
    c["led_redeem_zero"] = Case(ledger=_ledger((D, V1, "户", H1, "HH02", 3), (D, V1, "户", H1, "DH01", 0)))
    c["led_cap"] = Case(
        ledger=_ledger(
            (D, V1, "支部", "", "ZB01", 2),
            (D, V1, "支部", "", "ZB01", 2),  # over cap 1
            (D, V1, "支部", V1, "ZB01", 2),  # over cap 1 (same subject: the branch)
            (D, V1, "党员", "DY0001", "DY01", 1),
            (D, V1, "党员", "DY0002", "DY01", 1),
            (D, V1, "党员", "DY0001", "DY01", 1),
            (D, V1, "党员", "DY0001", "DY01", 1),  # third for DY0001: over cap 2
            (D, V2, "支部", "", "ZB01", 2),  # another branch: its own cap
        )
    )
    c["led_cap_by_date"] = Case(
        ledger=_ledger(
            (dt.date(2026, 11, 20), V1, "支部", "", "ZB01", 2),
            (dt.date(2026, 11, 5), V1, "支部", "", "ZB01", 2),
        )
    )
    c["led_overdraw"] = Case(
        ledger=_ledger(
            (D, V1, "户", H1, "HH01", 2),
            (D, V1, "户", H1, "DH01", -3),  # balance 2
            (D, V1, "户", "H0002", "HH02", 3),
            (D, V1, "户", "H0002", "DH01", -3),  # balance 3: fine
        )
    )
    c["led_overdraw_by_date"] = Case(
        ledger=_ledger(
            (dt.date(2026, 11, 2), V1, "户", H1, "DH01", -2), (dt.date(2026, 11, 10), V1, "户", H1, "HH01", 2)
        )
    )
    bv = BRANCHES[BALANCE][0]["code"]
    c["led_prior_balance_ok"] = Case(county=BALANCE, ledger=_ledger((D, bv, "户", H1, "DH01", -6)))
    c["led_prior_balance_over"] = Case(county=BALANCE, ledger=_ledger((D, bv, "户", H1, "DH01", -7)))
    # ---- vetoes ----
    c["veto_branch_unknown"] = Case(vetoes=veto((NEW, D, "V01", "安全事故")))
    c["veto_date_outside"] = Case(vetoes=veto((V1, dt.date(2026, 10, 31), "V01", "安全事故")))
    c["veto_date_unreadable"] = Case(vetoes=veto((V1, "上个月", "V01", "安全事故")))
    c["veto_code_unknown"] = Case(vetoes=veto((V1, D, "V99", "安全事故")))
    c["veto_code_type"] = Case(vetoes=veto((C1, D, "V04", "环境污染")))
    c["veto_note_blank"] = Case(vetoes=veto((V1, D, "V01", None)))
    # ---- 情况说明 ----
    warn_two = chain(setter("村指标", D2="９５", D3="２"), setter("支部名册", H3=65))
    c["expl_cell"] = Case(edit=warn_two, explanations=[["村指标!D2", "已核实，系文本格式"]])
    c["expl_cell_fullwidth"] = Case(edit=warn_two, explanations=[["村指标！$d$2", "已核实"]])
    c["expl_branch"] = Case(edit=warn_two, explanations=[[int(V2), "第二村情况已核实"]])
    c["expl_error"] = Case(
        edit=chain(setter("村指标", C2="一百"), setter("支部名册", E2=2)),
        explanations=[["村指标!C2", "说明"], [V1, "说明"]],
    )
    # ---- many problems at once, and files that cannot be read ----
    c["five_errors"] = Case(
        edit=chain(setter("封面", B4=None), setter("支部名册", E3=2), setter("村指标", C2="一百")),
        ledger=_ledger((D, V1, "支部", "", "ZZ99", 2)),
        vetoes=veto((V1, D, "V99", "安全事故")),
    )
    c["missing_column"] = Case(
        edit=lambda wb: wb["支部名册"].delete_cols(6), ledger=_ledger((D, V1, "支部", "", "ZZ99", 2))
    )
    c["not_xlsx"] = Case(raw=b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(2000))
    return c


CASES = _make_cases()


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory, rulebook: Rulebook) -> dict[str, pd.DataFrame]:
    d = tmp_path_factory.mktemp("validate")
    subs = []
    for name, case in CASES.items():
        path = d / name / f"{case.county}_{NAMES[case.county]}.xlsx"
        if case.raw is not None:
            path.parent.mkdir(parents=True)
            path.write_bytes(case.raw)
        else:
            W.write_workbook(
                path,
                rulebook,
                case.county,
                NAMES[case.county],
                PERIOD,
                BRANCHES[case.county],
                ledger=case.ledger,
                vetoes=case.vetoes,
                explanations=case.explanations,
                values=case.values,
                edit=case.edit,
            )
        pw = read_workbook(path, rulebook, Limits(), file_key=name, id_key=ID_KEY)
        subs.append(Submission(pw, case.county, PERIOD))
    out = validate_period(subs, rulebook, REGISTRY, PRIORS)
    assert set(out) == set(CASES)
    return out


@pytest.fixture(scope="module")
def submissions(
    results: dict[str, pd.DataFrame], tmp_path_factory: pytest.TempPathFactory, rulebook: Rulebook
):
    """The same submissions again (read from the files `results` wrote)."""
    del results
    subs = []
    root = tmp_path_factory.getbasetemp()
    for name, case in CASES.items():
        path = next(root.glob(f"validate*/{name}/{case.county}_*.xlsx"))
        pw = read_workbook(path, rulebook, Limits(), file_key=name, id_key=ID_KEY)
        subs.append(Submission(pw, case.county, PERIOD))
    return subs


def test_gx_on_suspect_rows_equals_gx_on_every_row(
    results: dict[str, pd.DataFrame], submissions, rulebook: Rulebook, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GX is handed only the rows pandas cannot prove to pass; without that pruning (GX
    on every row of every expectation) the findings must be the same, row for row."""
    from fivestar.validate import gx_runner

    seen: list[int] = []
    real = gx_runner.needed_expectations
    monkeypatch.setattr(gx_runner, "suspect_rows", lambda e, df, p: None)
    monkeypatch.setattr(
        gx_runner,
        "needed_expectations",
        lambda suite, df, params=None: seen.append(len(df)) or real(suite, df, params),
    )
    full = validate_period(submissions, rulebook, REGISTRY, PRIORS)
    assert seen, "GX ran"
    for name in CASES:
        a = results[name].drop(columns=["finding_id"], errors="ignore").reset_index(drop=True)
        b = full[name].drop(columns=["finding_id"], errors="ignore").reset_index(drop=True)
        pd.testing.assert_frame_equal(a, b, obj=name)


def show(df: pd.DataFrame) -> str:
    return df[["severity", "sheet", "cell", "column_name", "value", "rule", "message"]].to_string()


def findings(results: dict[str, pd.DataFrame], case: str, **where: Any) -> pd.DataFrame:
    df = results[case]
    for k, v in where.items():
        df = df[df[k] == v]
    return df


def one(results: dict[str, pd.DataFrame], case: str, **where: Any) -> dict[str, Any]:
    df = findings(results, case, **where)
    assert len(df) == 1, f"{case}: expected one finding with {where}, got\n{show(results[case])}"
    return df.iloc[0].to_dict()


def test_the_cells_used_here_match_the_layout(rulebook: Rulebook) -> None:
    v = {k: col(rulebook, "village_indicators", k) for k in ("meeting_rate", "theme_days", "is_weak")}
    assert v == {"meeting_rate": "C", "theme_days": "D", "is_weak": "F"}
    assert col(rulebook, "village_indicators", "collective_income") == "G"
    assert col(rulebook, "village_indicators", "toilet_rate") == "K"
    assert col(rulebook, "community_indicators", "volunteer_hours") == "P"
    assert col(rulebook, "roster", "secretary_age") == "H"
    assert col(rulebook, "ledger", "points") == "F"
    assert col(rulebook, "vetoes", "note") == "D"
    assert [f["key"] for f in rulebook.cover_fields] == [
        "county_code",
        "county_name",
        "period",
        "submitter",
        "phone",
        "email",
    ]


# ---- the findings frame ------------------------------------------------------------
def test_findings_frame_shape(results: dict[str, pd.DataFrame]) -> None:
    from fivestar.findings import FINDING_COLUMNS

    for name, df in results.items():
        assert tuple(df.columns) == FINDING_COLUMNS, name
        assert (df["file_key"] == name).all()
        assert set(df["severity"]) <= {"error", "warning"}
        assert df["message"].map(lambda m: bool(CHINESE.search(m))).all(), name
        # A cell reference always goes with its row number and sheet.
        has_cell = df["cell"] != ""
        assert df.loc[has_cell, "row"].notna().all(), name
        assert (df.loc[has_cell, "sheet"] != "").all(), name
        for cell, row in zip(df.loc[has_cell, "cell"], df.loc[has_cell, "row"], strict=True):
            assert re.fullmatch(r"[A-Z]{1,3}\d+", cell) and cell.endswith(str(row)), (name, cell, row)


@pytest.mark.parametrize(
    "case",
    [
        "clean",
        "clean_again",
        "clean_variants",
        "clean_period_text",
        "clean_period_slash",
        "veto_sheet_empty",
        "ledger_no_rows",
        "cover_rows_reordered",
    ],
)
def test_clean_workbooks_have_no_findings(results: dict[str, pd.DataFrame], case: str) -> None:
    assert results[case].empty, show(results[case])


# ---- single findings: (case, severity, sheet, cell, column, value, rule, words in message) ----
# fmt: off
SINGLE = [
    # cover
    ("cover_code_missing", "error", "封面", "B1", "县（市、区）代码", "", "cover.county_code.required", "不能为空"),
    ("cover_code_not6", "error", "封面", "B1", "县（市、区）代码", "41052", "cover.county_code.format", "6位"),
    ("cover_code_unregistered", "error", "封面", "B1", "县（市、区）代码", "419999", "cover.county_code.registry", "登记"),
    ("cover_code_other_file", "error", "封面", "B1", "县（市、区）代码", "410523", "cover.county_code.file_name", "文件名"),
    ("cover_name", "warning", "封面", "B2", "县（市、区）名称", "林县", "cover.county_name.registry", "林州市"),
    ("cover_period_missing", "error", "封面", "B3", "填报期间", "", "cover.period.required", "填报期间"),
    ("cover_period_unreadable", "error", "封面", "B3", "填报期间", "十一月", "cover.period.required", "无法识别"),
    ("cover_period_number", "error", "封面", "B3", "填报期间", "2026.11", "cover.period.required", "无法识别"),
    ("cover_period_other", "error", "封面", "B3", "填报期间", "2026-10", "cover.period.folder", "2026-11"),
    ("cover_submitter_blank", "error", "封面", "B4", "填报人", "", "cover.submitter.required", "填报人"),
    ("cover_phone_blank", "warning", "封面", "B5", "联系电话", "", "cover.phone.required", "联系电话"),
    ("cover_email_invalid", "warning", "封面", "B6", "电子邮箱", "county-at-example.org", "cover.email.format", "邮箱"),
    ("cover_email_blank", "warning", "封面", "B6", "电子邮箱", "", "cover.email.format", "邮箱"),
    ("cover_submitter_id", "warning", "封面", "B4", "填报人", "410522********123X", "cover.submitter.resident_id.id_masked", "身份证"),
    # roster
    ("roster_code_unregistered", "warning", "支部名册", "A6", "支部代码", NEW, "roster.branch_code.registry", "登记"),
    ("roster_name_blank", "error", "支部名册", "B3", "支部名称", "", "roster.branch_name.required", "不能为空"),
    ("roster_township_blank", "error", "支部名册", "D3", "乡镇（街道）", "", "roster.township.required", "不能为空"),
    ("roster_members_lt3", "error", "支部名册", "E3", "党员人数", "2", "roster.members.range", "3"),
    ("roster_members_fraction", "error", "支部名册", "E3", "党员人数", "30.5", "roster.members.type.not_integer", "整数"),
    ("roster_members_text", "error", "支部名册", "E3", "党员人数", "三十", "roster.members.type.not_number", "数值"),
    ("roster_members_text_number", "warning", "支部名册", "E3", "党员人数", "３０", "roster.members.format.text_number", "文本型数字"),
    ("roster_members_gt500", "warning", "支部名册", "E3", "党员人数", "501", "roster.members.plausible", "500"),
    ("roster_households_lt1", "error", "支部名册", "F3", "户数", "0", "roster.households.range", "1"),
    ("roster_households_fraction", "error", "支部名册", "F3", "户数", "300.5", "roster.households.type.not_integer", "整数"),
    ("roster_secretary_blank", "error", "支部名册", "G3", "书记姓名", "", "roster.secretary_name.required", "不能为空"),
    ("roster_age_lt18", "error", "支部名册", "H3", "书记年龄", "17", "roster.secretary_age.range", "18"),
    ("roster_age_gt80", "error", "支部名册", "H3", "书记年龄", "81", "roster.secretary_age.range", "80"),
    ("roster_age_gt60", "warning", "支部名册", "H3", "书记年龄", "61", "roster.secretary_age.plausible", "60"),
    ("roster_households_id_number", "error", "支部名册", "F3", "户数", "410522********1328", "roster.households.type.too_long", "身份证号"),
    ("roster_secretary_id", "warning", "支部名册", "G3", "书记姓名", "410522********123X", "roster.secretary_name.resident_id.id_masked", "身份证"),
    # indicators
    ("ind_blank", "error", "村指标", "C2", "三会一课完成率（%）", "", "village_indicators.meeting_rate.type.blank", "不能为空"),
    ("ind_text", "error", "村指标", "C2", "三会一课完成率（%）", "一百", "village_indicators.meeting_rate.type.not_number", "数值"),
    ("ind_error_value", "error", "村指标", "C2", "三会一课完成率（%）", "#DIV/0!", "village_indicators.meeting_rate.type.error_value", "#DIV/0!"),
    ("ind_formula", "error", "村指标", "C2", "三会一课完成率（%）", "", "village_indicators.meeting_rate.type.formula_no_value", "请在Excel中重新计算后保存"),
    ("ind_range", "error", "村指标", "C2", "三会一课完成率（%）", "120", "village_indicators.meeting_rate.range", "0–100"),
    ("ind_negative", "error", "村指标", "D2", "主题党日开展次数", "-1", "village_indicators.theme_days.range", "不小于0"),
    ("ind_negative_num", "error", "村指标", "G2", "村集体经济收入（万元）", "-0.5", "village_indicators.collective_income.range", "不小于0"),
    ("ind_fraction", "error", "村指标", "D2", "主题党日开展次数", "1.5", "village_indicators.theme_days.type.not_integer", "整数"),
    ("ind_yesno", "error", "村指标", "F2", "是否软弱涣散", "有", "village_indicators.is_weak.type.not_yesno", "是"),
    ("ind_text_number", "warning", "村指标", "D2", "主题党日开展次数", "９５", "village_indicators.theme_days.format.text_number", "文本型数字"),
    ("ind_pct_decimal", "warning", "村指标", "C2", "三会一课完成率（%）", "0.95", "village_indicators.meeting_rate.format.pct_decimal", "百分比"),
    ("ind_community", "error", "社区指标", "P2", "志愿服务时长（小时）", "-10", "community_indicators.volunteer_hours.range", "不小于0"),
    # ledger
    ("led_date_outside", "error", "积分台账", "A2", "日期", "2026-12-01", "ledger.event_date.in_month", "本填报月份"),
    ("led_date_unreadable", "error", "积分台账", "A2", "日期", "11月3日", "ledger.event_date.type.bad_date", "日期"),
    ("led_branch_unknown", "error", "积分台账", "B2", "支部代码", NEW, "ledger.branch_code.roster", "名册"),
    ("led_subject_type_bad", "error", "积分台账", "C2", "对象类型", "集体", "ledger.subject_type.choice", "支部、党员、户"),
    ("led_subject_type_item", "error", "积分台账", "C2", "对象类型", "党员", "ledger.subject_type.item", "支部"),
    ("led_subject_other_branch", "error", "积分台账", "D2", "对象编号", V2, "ledger.subject_id.branch", "留空"),
    ("led_subject_required", "error", "积分台账", "D2", "对象编号", "", "ledger.subject_id.required", "对象编号"),
    ("led_item_unknown", "error", "积分台账", "E2", "积分项目代码", "ZZ99", "ledger.item_code.catalogue", "目录"),
    ("led_item_type", "error", "积分台账", "E2", "积分项目代码", "GJ01", "ledger.item_code.type", "村"),
    ("led_points_catalogue", "error", "积分台账", "F2", "分值", "3", "ledger.points.catalogue", "2分"),
    ("led_points_blank", "error", "积分台账", "F2", "分值", "", "ledger.points.type.blank", "不能为空"),
    ("led_redeem_positive", "error", "积分台账", "F3", "分值", "2", "ledger.points.redeem_sign", "负数"),
    ("led_redeem_zero", "error", "积分台账", "F3", "分值", "0", "ledger.points.redeem_sign", "负数"),
    ("led_member_required", "error", "积分台账", "D2", "对象编号", "", "ledger.subject_id.required", "党员"),
    ("led_cap_by_date", "warning", "积分台账", "F2", "分值", "2", "ledger.points.over_cap", "上限"),
    ("led_overdraw_by_date", "error", "积分台账", "F2", "分值", "-2", "ledger.points.overdraw", "余额"),
    ("led_prior_balance_over", "error", "积分台账", "F2", "分值", "-7", "ledger.points.overdraw", "余额"),
    # vetoes
    ("veto_branch_unknown", "error", "否决事项", "A2", "支部代码", NEW, "vetoes.branch_code.roster", "名册"),
    ("veto_date_outside", "error", "否决事项", "B2", "发生日期", "2026-10-31", "vetoes.event_date.in_month", "本填报月份"),
    ("veto_date_unreadable", "error", "否决事项", "B2", "发生日期", "上个月", "vetoes.event_date.type.bad_date", "日期"),
    ("veto_code_unknown", "error", "否决事项", "C2", "事项代码", "V99", "vetoes.veto_code.catalogue", "目录"),
    ("veto_code_type", "error", "否决事项", "C2", "事项代码", "V04", "vetoes.veto_code.type", "社区"),
    ("veto_note_blank", "error", "否决事项", "D2", "说明", "", "vetoes.note.required", "不能为空"),
]
# fmt: on


@pytest.mark.parametrize(
    ("case", "severity", "sheet", "cell", "column", "value", "rule", "words"),
    SINGLE,
    ids=[s[0] for s in SINGLE],
)
def test_single_problem_gives_exactly_its_finding(
    results: dict[str, pd.DataFrame],
    case: str,
    severity: str,
    sheet: str,
    cell: str,
    column: str,
    value: str,
    rule: str,
    words: str,
) -> None:
    df = results[case]
    assert len(df) == 1, f"{case}: expected exactly one finding, got\n{show(df)}"
    f = df.iloc[0].to_dict()
    assert (f["severity"], f["sheet"], f["cell"], f["column_name"], f["value"], f["rule"]) == (
        severity,
        sheet,
        cell,
        column,
        value,
        rule,
    ), show(df)
    assert f["row"] == int(cell[1:])
    assert words in f["message"], f["message"]
    assert CHINESE.search(f["message"])
    assert not f["explained"]


# ---- roster: findings with consequences elsewhere ----------------------------------------
def test_roster_code_not_12_digits(results: dict[str, pd.DataFrame]) -> None:
    f = one(results, "roster_code_not12", sheet="支部名册", cell="A4")
    assert (f["severity"], f["rule"], f["value"], f["column_name"]) == (
        "error",
        "roster.branch_code.format",
        "41052210120",
        "支部代码",
    )
    assert "12位" in f["message"]


def test_roster_code_of_another_county(results: dict[str, pd.DataFrame]) -> None:
    f = one(results, "roster_code_prefix", sheet="支部名册", cell="A4")
    assert (f["severity"], f["rule"], f["value"]) == ("error", "roster.branch_code.county", "410523101203")
    assert COUNTY in f["message"]
    # V3 (registered) is now missing from the roster: a warning, no other error.
    errors = findings(results, "roster_code_prefix", severity="error")
    assert len(errors) == 1, show(results["roster_code_prefix"])


def test_roster_duplicate_flags_every_copy(results: dict[str, pd.DataFrame]) -> None:
    df = results["roster_code_duplicate"]
    assert set(df["rule"]) == {"roster.branch_code.unique"}, show(df)
    assert sorted(df["cell"]) == ["A2", "A6"]
    assert set(df["severity"]) == {"error"} and set(df["value"]) == {V1}
    assert all("重复" in m for m in df["message"])


def test_registry_branch_missing_from_roster(results: dict[str, pd.DataFrame]) -> None:
    f = one(results, "roster_registry_missing")
    assert (f["severity"], f["sheet"], f["cell"], f["column_name"], f["value"], f["branch_code"]) == (
        "warning",
        "支部名册",
        "",
        "支部代码",
        V3,
        V3,
    )
    assert f["rule"] == "roster.branch_code.missing"
    assert pd.isna(f["row"])
    assert V3 in f["message"] and "测试3村" in f["message"]


def test_roster_bad_type(results: dict[str, pd.DataFrame]) -> None:
    f = one(results, "roster_type_bad", sheet="支部名册")
    assert (f["severity"], f["cell"], f["column_name"], f["value"], f["rule"]) == (
        "error",
        "C3",
        "类型",
        "乡",
        "roster.branch_type.choice",
    )
    assert "村" in f["message"] and "社区" in f["message"]


def test_roster_age_over_80_is_not_also_a_plausibility_warning(results: dict[str, pd.DataFrame]) -> None:
    assert findings(results, "roster_age_gt80", severity="warning").empty


# ---- indicators: rows --------------------------------------------------------------
def test_indicator_row_missing(results: dict[str, pd.DataFrame]) -> None:
    f = one(results, "ind_missing_row")
    assert (f["severity"], f["sheet"], f["cell"], f["column_name"], f["value"]) == (
        "error",
        "村指标",
        "",
        "支部代码",
        V3,
    )
    assert f["rule"] == "village_indicators.branch_code.missing"
    assert V3 in f["message"] and "补充" in f["message"]


def test_indicator_row_duplicated(results: dict[str, pd.DataFrame]) -> None:
    df = results["ind_duplicate"]
    assert set(df["rule"]) == {"village_indicators.branch_code.unique"}, show(df)
    assert "A5" in set(df["cell"])
    assert (df["severity"] == "error").all()


def test_indicator_row_not_in_roster(results: dict[str, pd.DataFrame]) -> None:
    f = one(results, "ind_not_in_roster")
    assert (f["severity"], f["sheet"], f["cell"], f["value"], f["rule"]) == (
        "error",
        "村指标",
        "A5",
        NEW,
        "village_indicators.branch_code.roster",
    )


def test_indicator_row_on_the_wrong_sheet(results: dict[str, pd.DataFrame]) -> None:
    df = results["ind_wrong_sheet"]
    f = one(results, "ind_wrong_sheet", rule="village_indicators.branch_code.type")
    assert (f["severity"], f["sheet"], f["cell"], f["value"]) == ("error", "村指标", "A5", C1)
    assert "社区指标" in f["message"]
    g = one(results, "ind_wrong_sheet", rule="community_indicators.branch_code.missing")
    assert (g["sheet"], g["cell"], g["value"]) == ("社区指标", "", C1)
    assert len(df) == 2, show(df)


# ---- indicators: previous month and patterns ---------------------------------------------
def test_previous_month_same_year(results: dict[str, pd.DataFrame]) -> None:
    df = results["prev_same_year"]
    v1 = BRANCHES[PREV_SAME_YEAR][0]["code"]
    cum = one(results, "prev_same_year", rule="village_indicators.collective_income.cumulative_down")
    assert (cum["severity"], cum["sheet"], cum["cell"], cum["column_name"], cum["value"]) == (
        "warning",
        "村指标",
        "G2",
        "村集体经济收入（万元）",
        "30000",
    )
    assert "40000" in cum["message"] and "2026-10" in cum["message"]
    assert cum["branch_code"] == v1
    jump = one(results, "prev_same_year", rule="village_indicators.meeting_rate.jump")
    assert (jump["severity"], jump["cell"], jump["value"]) == ("warning", "C2", "96")
    assert "60" in jump["message"] and "30" in jump["message"]
    # 66 → 96 is exactly 30 points: no warning; 95 → 96 neither.
    assert len(df) == 2, show(df)


def test_previous_month_of_another_year(results: dict[str, pd.DataFrame]) -> None:
    df = results["prev_other_year"]
    # 累计 restarts in January: no cumulative warning; the rate jump still counts.
    assert set(df["rule"]) == {"village_indicators.meeting_rate.jump"}, show(df)


def test_satisfaction_all_100(results: dict[str, pd.DataFrame]) -> None:
    f = one(results, f"sat_{SAT_ALL_100}")
    assert (f["severity"], f["sheet"], f["cell"], f["column_name"]) == (
        "warning",
        "村指标",
        "",
        "群众满意度（%）",
    )
    assert f["rule"] == "village_indicators.satisfaction_rate.all_100"
    assert pd.isna(f["row"]) and f["branch_code"] == ""
    assert "100" in f["message"]
    f = one(results, f"sat_{SAT_11}")  # 10 of 11: more than 90%
    assert f["rule"] == "village_indicators.satisfaction_rate.all_100"


def test_satisfaction_exactly_90_percent_is_fine(results: dict[str, pd.DataFrame]) -> None:
    assert results[f"sat_{SAT_90_PCT}"].empty, show(results[f"sat_{SAT_90_PCT}"])


def test_satisfaction_needs_10_branches(results: dict[str, pd.DataFrame]) -> None:
    # 3 villages and 1 community, every one at 100: too few to be a pattern.
    assert results["sat_few"].empty, show(results["sat_few"])


# ---- ledger ---------------------------------------------------------------------
def test_resident_id_subject_is_hashed(results: dict[str, pd.DataFrame]) -> None:
    df = results["led_resident_id"]
    hashed = df[df["rule"] == "ledger.subject_id.resident_id.id_hashed"]
    assert set(hashed["cell"]) == {"D2", "D3"}
    assert (hashed["severity"] == "warning").all()
    assert set(hashed["value"]) == {"410522********123X"}
    assert all("身份证" in m for m in hashed["message"])
    # The hash is the subject: x and X are one person, whose balance (+2) is too small
    # for the redemption of 3.
    over = one(results, "led_resident_id", rule="ledger.points.overdraw")
    assert (over["severity"], over["cell"]) == ("error", "F3")
    assert len(df) == 3, show(df)


def test_resident_id_never_appears_in_any_finding(results: dict[str, pd.DataFrame]) -> None:
    for name, df in results.items():
        text = df.astype(str).to_string()
        for needle in (ID, ID.lower(), "19900101"):
            assert needle not in text, name


def test_cap_overflow_one_warning_per_uncounted_event(results: dict[str, pd.DataFrame]) -> None:
    df = results["led_cap"]
    assert set(df["rule"]) == {"ledger.points.over_cap"}, show(df)
    assert sorted(df["cell"]) == ["F3", "F4", "F8"]
    assert (df["severity"] == "warning").all()
    assert all("上限" in m for m in df["message"])
    assert set(df["branch_code"]) == {V1}


def test_redemption_larger_than_balance(results: dict[str, pd.DataFrame]) -> None:
    f = one(results, "led_overdraw")
    assert (f["severity"], f["sheet"], f["cell"], f["column_name"], f["value"], f["rule"]) == (
        "error",
        "积分台账",
        "F3",
        "分值",
        "-3",
        "ledger.points.overdraw",
    )


def test_redemption_within_balance_of_earlier_months(results: dict[str, pd.DataFrame]) -> None:
    # Earlier months: +1 (2025) +2 +3 (+2 over cap, not counted) = 6.
    assert results["led_prior_balance_ok"].empty, show(results["led_prior_balance_ok"])


# ---- 情况说明 ----------------------------------------------------------------------
def test_explained_by_cell(results: dict[str, pd.DataFrame]) -> None:
    for case in ("expl_cell", "expl_cell_fullwidth"):
        df = results[case]
        assert len(df) == 3 and (df["severity"] == "warning").all(), show(df)
        explained = dict(zip(df["sheet"] + "!" + df["cell"], df["explained"], strict=True))
        assert explained == {"村指标!D2": True, "村指标!D3": False, "支部名册!H3": False}, case


def test_explained_by_branch(results: dict[str, pd.DataFrame]) -> None:
    df = results["expl_branch"]
    explained = dict(zip(df["sheet"] + "!" + df["cell"], df["explained"], strict=True))
    assert explained == {"村指标!D2": False, "村指标!D3": True, "支部名册!H3": True}, show(df)


def test_errors_are_never_explained(results: dict[str, pd.DataFrame]) -> None:
    df = results["expl_error"]
    assert len(df) == 2 and (df["severity"] == "error").all(), show(df)
    assert not df["explained"].any()


# ---- everything at once ----------------------------------------------------------------
def test_all_errors_reported_at_once(results: dict[str, pd.DataFrame]) -> None:
    df = results["five_errors"]
    got = set(zip(df["sheet"], df["cell"], df["rule"], strict=True))
    assert got == {
        ("封面", "B4", "cover.submitter.required"),
        ("支部名册", "E3", "roster.members.range"),
        ("村指标", "C2", "village_indicators.meeting_rate.type.not_number"),
        ("积分台账", "E2", "ledger.item_code.catalogue"),
        ("否决事项", "C2", "vetoes.veto_code.catalogue"),
    }, show(df)
    assert (df["severity"] == "error").all()


def test_missing_column_and_cell_errors_together(results: dict[str, pd.DataFrame]) -> None:
    df = results["missing_column"]
    f = one(results, "missing_column", rule="file.missing_column")
    assert (f["severity"], f["sheet"], f["column_name"], f["cell"], f["value"]) == (
        "error",
        "支部名册",
        "户数",
        "",
        "",
    )
    assert "户数" in f["message"]
    # The other sheets are still checked: the submitter sees every error at once.
    g = one(results, "missing_column", rule="ledger.item_code.catalogue")
    assert (g["sheet"], g["cell"]) == ("积分台账", "E2")
    assert (df["severity"] == "error").all(), show(df)


def test_unreadable_file_has_one_whole_file_error(results: dict[str, pd.DataFrame]) -> None:
    f = one(results, "not_xlsx")
    assert (f["severity"], f["sheet"], f["cell"], f["rule"]) == ("error", "", "", "file.xls")
    assert ".xlsx" in f["message"]


def test_same_county_twice_in_one_run_is_not_a_duplicate(results: dict[str, pd.DataFrame]) -> None:
    # Uniqueness is per file: many files of the same county are validated together here.
    for name, df in results.items():
        if name not in ("roster_code_duplicate", "ind_duplicate"):
            assert not df["rule"].str.endswith(".unique").any(), name


# ---- the rule catalogue: every row has a case, every emitted id is a row ----------------
# Rows whose case lives in another test module: whole-file faults need files (encrypted,
# zip bombs, timeouts, over-long sheets) that this table does not build.
ELSEWHERE = {
    "roster.branch_type.unconfigured": "system/test_branch_types.py",
    "file.empty": "ingest/test_ingest.py",
    "file.encrypted": "ingest/test_ingest.py",
    "file.not_xlsx": "ingest/test_ingest.py",
    "file.truncated": "ingest/test_ingest.py",
    "file.too_large": "ingest/test_ingest.py",
    "file.ratio": "ingest/test_ingest.py",
    "file.timeout": "pipeline/test_faults.py",
    "file.unreadable": "ingest/test_ingest.py",
    "file.too_many_rows": "ingest/test_ingest.py",
    "file.missing_sheet": "ingest/test_ingest.py",
    "file.duplicate_column": "ingest/test_ingest.py",
    "{sheet}.extra_column": "ingest/test_ingest.py",
    # Structural mistakes of a clerk, one workbook each (issue 15: root causes first).
    **{r.id: "validate/test_root_causes.py" for r in catalogue.RULES if r.id.startswith("layout.")},
    "file.name_without_code": "validate/test_root_causes.py",
}


def test_every_catalogue_rule_has_a_case(results: dict[str, pd.DataFrame]) -> None:
    found = {catalogue.find(r) for df in results.values() for r in df["rule"]}
    hit = {row.id for row in found if row is not None}
    for row in catalogue.RULES:
        if row.id not in hit:
            assert row.id in ELSEWHERE, f"catalogue rule {row.id} has no case"
            text = (Path(__file__).parents[1] / ELSEWHERE[row.id]).read_text(encoding="utf-8")
            assert row.id.rsplit(".", 1)[-1] in text, row.id


def test_every_emitted_rule_is_in_the_catalogue(results: dict[str, pd.DataFrame]) -> None:
    for name, df in results.items():
        for rid, severity in zip(df["rule"], df["severity"], strict=True):
            row = catalogue.find(rid)
            assert row is not None, f"{name}: {rid} is not in the catalogue"
            assert row.severity == severity, f"{name}: {rid}"


# ---- suites and imports --------------------------------------------------------------
def test_expectation_files_match_the_config(rulebook: Rulebook) -> None:
    from fivestar.validate.suites import build_suites, load_suite_dicts

    assert load_suite_dicts() == json.loads(json.dumps(build_suites(rulebook))), (
        "expectations/*.json are stale: run python -m fivestar.validate.suites"
    )


def test_great_expectations_is_imported_lazily() -> None:
    code = (
        "import sys, fivestar.validate.batch, fivestar.ingest.read, fivestar.validate.suites; "
        "sys.exit('great_expectations' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_suspect_rows_masks() -> None:
    from fivestar.validate.gx_runner import suspect_rows

    df = pd.DataFrame(
        {
            "code": ["410522101201", "41052210120", None, "410522101201"],
            "n": [1.0, 5.0, None, -1.0],
        }
    )

    def mask(t: str, **kw: Any) -> list[bool] | None:
        m = suspect_rows({"type": t, "kwargs": kw}, df, {"lo": 0})
        return None if m is None else m.tolist()

    assert mask("expect_column_values_to_match_regex", column="code", regex=r"^\d{12}$") == [
        False,
        True,
        False,
        False,
    ]
    assert mask("expect_column_values_to_be_unique", column="code") == [True, False, False, True]
    assert mask("expect_column_values_to_not_be_null", column="code") == [False, False, True, False]
    assert mask("expect_column_values_to_be_null", column="n") == [True, True, False, True]
    assert mask(
        "expect_column_values_to_be_between", column="n", min_value={"$PARAMETER": "lo"}, max_value=4
    ) == [
        False,
        True,
        False,
        True,
    ]
    assert mask("expect_column_values_to_be_in_set", column="code", value_set=["41052210120"]) == [
        True,
        False,
        False,
        True,
    ]
    # anything it does not understand: GX sees every row
    assert mask("expect_column_values_to_be_between", column="n", min_value=0, mostly=0.9) is None
    assert mask("expect_column_pair_values_a_to_be_greater_than_b", column_A="n", column_B="n") is None


def test_rules_run_in_the_reader_processes_give_the_same_findings(
    results: dict[str, pd.DataFrame], rulebook: Rulebook, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The flow runs the per-file rules in the reader worker processes, right after each
    read (`read_many(then=rules_after_read)`); validate_period then takes them from
    `ParsedWorkbook.checked`. The findings must equal those of the in-process rules."""
    from fivestar.ingest.files import read_file, reader_state, unread_file
    from fivestar.runtime.local import LocalExecutor
    from fivestar.validate.batch import rules_after_read

    root = tmp_path_factory.getbasetemp()
    names = list(CASES)
    paths = [next(root.glob(f"validate*/{n}/{CASES[n].county}_*.xlsx")) for n in names]
    args = [(CASES[n].county, PERIOD, 1, PRIORS.get(CASES[n].county, Prior())) for n in names]
    with LocalExecutor() as executor:
        parsed = executor.map_files(
            read_file,
            [(p, n, a) for p, n, a in zip(paths, names, args, strict=True)],
            setup=(rulebook, Limits(), ID_KEY, rules_after_read, (REGISTRY,)),
            reader_setup=reader_state,
            timeout_s=None,
            on_failure=unread_file,
        )
    assert sum(pw.checked is not None for pw in parsed) >= len(names) - 3  # all but the unreadable files
    checked = validate_period(
        [Submission(pw, CASES[n].county, PERIOD) for n, pw in zip(names, parsed, strict=True)],
        rulebook,
        REGISTRY,
        PRIORS,
    )
    for name in names:
        a = results[name].drop(columns=["finding_id"], errors="ignore").reset_index(drop=True)
        b = checked[name].drop(columns=["finding_id"], errors="ignore").reset_index(drop=True)
        pd.testing.assert_frame_equal(a, b, obj=name)
