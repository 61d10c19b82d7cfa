"""Tests of the synthetic-province generator (fivestar.sample).

In: small generated provinces in temporary folders (a few counties of 12–30 branches,
a handful of ledger events each, so the module runs in seconds) and the repository's
default rulebook. Out: assertions that the output is deterministic, follows the
workbook contract of submission.md (sheet names and headers from config, 12-digit
codes under the county, consecutive months), agrees with the registry, that clean
files really are clean (ranges, caps, redemption balances, month-to-month rules) and
that every injected cell of the manifest holds the injected value.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import unicodedata
from collections import defaultdict
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from fivestar.config import Rulebook, load_rulebook
from fivestar.sample import Manifest, generate, periods_ending
from fivestar.sample.__main__ import main as sample_main
from fivestar.sample.build import header_variant
from fivestar.sample.divisions import county_order
from fivestar.sample.inject import resident_id

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config"
SIZE = {"branches_per_county": (12, 30), "events_per_branch": 4}


@pytest.fixture(scope="module")
def rb() -> Rulebook:
    return load_rulebook(CONFIG)


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Manifest:
    out = tmp_path_factory.mktemp("province")
    return generate(out, "2026-11", counties=5, seed=11, months=2, rulebook_dir=CONFIG, **SIZE)


@pytest.fixture(scope="module")
def province_again(tmp_path_factory: pytest.TempPathFactory) -> Manifest:
    out = tmp_path_factory.mktemp("province_again")
    return generate(out, "2026-11", counties=5, seed=11, months=2, rulebook_dir=CONFIG, **SIZE)


def _load(m: Manifest, f: Any) -> openpyxl.Workbook:
    return openpyxl.load_workbook(m.path_of(f))


def _values(path: Path) -> dict[str, list[tuple]]:
    wb = openpyxl.load_workbook(path)
    return {ws.title: [tuple(c.value for c in r) for r in ws.iter_rows()] for ws in wb.worksheets}


def _readable(m: Manifest) -> list[Any]:
    return [f for f in m.files if not any(i.rule == "corrupt_file" for i in f.issues)]


def _rules(f: Any) -> set[str]:
    return {i.rule for i in f.issues}


def _registry(m: Manifest) -> list[dict[str, str]]:
    with (m.root / "config" / "registry.csv").open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _code(v: Any) -> str:
    return str(v).strip() if not isinstance(v, int) else str(v)


# ---------------------------------------------------------------------------------------------
# determinism


def test_same_seed_same_manifest_and_cells(province: Manifest, province_again: Manifest) -> None:
    a = (province.root / "manifest.json").read_text(encoding="utf-8")
    b = (province_again.root / "manifest.json").read_text(encoding="utf-8")
    assert a == b
    for fa, fb in zip(province.files, province_again.files, strict=True):
        assert fa.path == fb.path
        if fa in _readable(province):
            assert _values(province.path_of(fa)) == _values(province_again.path_of(fb))
        # fixed document times and zip timestamps: byte-identical files
        assert province.path_of(fa).read_bytes() == province_again.path_of(fb).read_bytes()
    for name in ("registry.csv", "submitters.csv"):
        assert (province.root / "config" / name).read_bytes() == (
            province_again.root / "config" / name
        ).read_bytes()


def test_other_seed_other_data(province: Manifest, tmp_path: Path) -> None:
    other = generate(tmp_path, "2026-11", counties=2, seed=12, months=1, rulebook_dir=CONFIG, **SIZE)
    assert (tmp_path / "config" / "registry.csv").read_bytes() != (
        province.root / "config" / "registry.csv"
    ).read_bytes()
    assert [c["code"] for c in other.counties] == [c["code"] for c in province.counties[:2]]


def test_manifest_round_trip(province: Manifest) -> None:
    again = Manifest.load(province.root / "manifest.json")
    assert again.files == province.files
    assert again.periods == province.periods
    assert again.summary() == province.summary()


# ---------------------------------------------------------------------------------------------
# layout: files, months, sheets, headers


def test_months_follow_each_other(province: Manifest) -> None:
    assert province.periods == ["2026-10", "2026-11"]
    assert periods_ending("2027-02", 4) == ["2026-11", "2026-12", "2027-01", "2027-02"]
    per_county: dict[str, list[str]] = defaultdict(list)
    for f in province.files:
        per_county[f.county_code].append(f.period)
        assert f.path == f"raw/{f.period}/{f.county_code}_{f.county_name}_{f.period}.xlsx"
        assert province.path_of(f).exists()
    for periods in per_county.values():
        assert sorted(periods) == province.periods


def test_cover_and_period(province: Manifest, rb: Rulebook) -> None:
    labels = {f["key"]: f["label"] for f in rb.cover_fields}
    for f in _readable(province):
        ws = _load(province, f)[rb.cover_sheet]
        cover = {r[0]: r[1] for r in ws.iter_rows(values_only=True)}
        assert set(cover) == set(labels.values())
        assert _code(cover[labels["county_code"]]) == f.county_code
        if "period_mismatch" not in _rules(f):
            v = cover[labels["period"]]
            if isinstance(v, dt.datetime):
                assert f"{v:%Y-%m}" == f.period
            else:
                y, m = (int(x) for x in re.findall(r"\d+", v))
                assert f"{y:04d}-{m:02d}" == f.period


def test_headers_exactly_as_config(province: Manifest, rb: Rulebook) -> None:
    for f in _readable(province):
        wb = _load(province, f)
        variant = any("header variants" in v for v in f.variations)
        expected_titles = [rb.cover_sheet] + [
            rb.sheets[k].sheet
            for k in ("roster", "village_indicators", "community_indicators", "ledger", "vetoes")
        ]
        if "missing_sheet" in _rules(f):
            expected_titles.remove(rb.sheets["vetoes"].sheet)
        assert wb.sheetnames[: len(expected_titles)] == expected_titles
        assert set(wb.sheetnames) - set(expected_titles) <= {rb.sheets["explanations"].sheet}
        for spec in rb.sheets.values():
            if spec.sheet not in wb.sheetnames:
                continue
            ws = wb[spec.sheet]
            header = [c.value for c in next(ws.iter_rows(min_row=1, max_row=1))] if ws.max_row >= 1 else []
            header = [h for h in header if h is not None]
            if not header:
                assert spec.may_be_empty  # an entirely empty 否决事项 sheet
                continue
            want = [c.header for c in spec.columns]
            if variant:
                want = [header_variant(h) for h in want]
            missing = [i.column for i in f.issues if i.rule == "missing_column" and i.sheet == spec.sheet]
            want = [h for h in want if h not in {header_variant(x) if variant else x for x in missing}]
            if any(i.rule == "extra_column" and i.sheet == spec.sheet for i in f.issues):
                want = want + ["备注"]
            assert header == want, (f.path, spec.sheet)


# ---------------------------------------------------------------------------------------------
# codes and registry


def test_registry_shape(province: Manifest) -> None:
    rows = _registry(province)
    by_code = {r["code"]: r for r in rows}
    assert by_code["410000"]["level"] == "province" and by_code["410000"]["name"] == "河南省"
    counties = [r for r in rows if r["level"] == "county"]
    assert [c["code"] for c in counties] == sorted(c["code"] for c in province.counties)
    for r in rows:
        if r["level"] in ("province", "city", "county"):
            assert re.fullmatch(r"\d{6}", r["code"])
            assert r["branch_type"] == r["township"] == ""
        if r["level"] == "city":
            assert r["parent_code"] == "410000"
        if r["level"] == "county":
            assert by_code[r["parent_code"]]["level"] == "city"
        if r["level"] == "branch":
            assert re.fullmatch(r"\d{12}", r["code"]) and r["code"].startswith(r["parent_code"])
            assert by_code[r["parent_code"]]["level"] == "county"
            assert r["branch_type"] in ("村", "社区") and r["township"]
            assert r["name"].endswith(r["branch_type"])
    assert len(by_code) == len(rows)
    branches = [r for r in rows if r["level"] == "branch"]
    share = sum(r["branch_type"] == "村" for r in branches) / len(branches)
    assert 0.7 < share < 0.97  # mostly villages


def test_submitters(province: Manifest) -> None:
    with (province.root / "config" / "submitters.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["county_code", "name", "email", "webhook_url"]
    codes = {c["code"] for c in province.counties}
    per = defaultdict(int)
    for r in rows:
        per[r["county_code"]] += 1
        assert r["email"] in ("", f"{r['county_code']}@example.org", f"zzb.{r['county_code']}@example.org")
        assert r["webhook_url"] in ("", "http://127.0.0.1:9/hook")
        assert r["email"] or r["webhook_url"]
    assert set(per) == codes and all(1 <= n <= 2 for n in per.values())


def test_codes_twelve_digits_under_county(province: Manifest, rb: Rulebook) -> None:
    for f in _readable(province):
        wb = _load(province, f)
        for key in ("roster", "village_indicators", "community_indicators", "ledger", "vetoes"):
            title = rb.sheets[key].sheet
            if title not in wb.sheetnames:
                continue
            ws = wb[title]
            header = [c.value for c in ws[1]] if ws.max_row else []
            if not any(header):
                continue
            col = next(i for i, h in enumerate(header) if h == rb.sheets[key].column("branch_code").header)
            for row in ws.iter_rows(min_row=2, values_only=True):
                if all(v is None for v in row):
                    continue
                code = _code(row[col])
                assert re.fullmatch(r"\d{12}", code), (f.path, title, code)
                assert code.startswith(f.county_code)


def test_roster_matches_registry(province: Manifest, rb: Rulebook) -> None:
    reg = defaultdict(set)
    for r in _registry(province):
        if r["level"] == "branch":
            reg[r["parent_code"]].add(r["code"])
    for f in _readable(province):
        ws = _load(province, f)[rb.sheets["roster"].sheet]
        roster = {_code(r[0]) for r in ws.iter_rows(min_row=2, values_only=True) if r[0] is not None}
        added = {i.branch_code for i in f.issues if i.rule == "not_in_registry"}
        dropped = {i.value for i in f.issues if i.rule == "missing_from_roster"}
        assert roster - reg[f.county_code] == added, f.path
        assert reg[f.county_code] - roster == dropped, f.path


# ---------------------------------------------------------------------------------------------
# manifest ↔ cells


def test_injected_cells_hold_injected_values(province: Manifest, rb: Rulebook) -> None:
    assert _check_injected_cells(province, rb) >= 3


def _check_injected_cells(province: Manifest, rb: Rulebook) -> int:
    checked = 0
    for f in _readable(province):
        wb = _load(province, f)
        for i in f.issues:
            if not i.cell:
                continue
            cell = wb[i.sheet][i.cell]
            v = cell.value
            shown = "" if v is None else v.date().isoformat() if isinstance(v, dt.datetime) else str(v)
            assert shown == i.value, (f.path, i)
            assert cell.row == i.row
            header = wb[i.sheet].cell(1, cell.column).value
            if i.sheet != rb.cover_sheet:
                assert header == i.column or header == header_variant(i.column)
            else:
                assert wb[i.sheet].cell(cell.row, 1).value == i.column
            checked += 1
    return checked


def test_statuses_and_shares(province: Manifest) -> None:
    s = province.summary()
    assert s["rejected"] >= 1 and s["accepted_with_warnings"] >= 1 and s["accepted"] >= 3
    for f in province.files:
        sev = {i.severity for i in f.issues}
        want = "rejected" if "error" in sev else "accepted_with_warnings" if sev else "accepted"
        assert f.expected_status == want
    # errors go to the last month first, so the month a later one is compared with stays accepted
    first = [f for f in province.files if f.period == province.periods[0]]
    assert all(f.expected_status != "rejected" for f in first)
    explained = [i for f in province.files for i in f.issues if i.explained]
    assert all(i.severity == "warning" and i.cell for i in explained)


def test_no_inject_means_clean(tmp_path: Path) -> None:
    m = generate(tmp_path, "2026-01", counties=2, seed=5, months=2, rulebook_dir=CONFIG, inject=False, **SIZE)
    assert m.periods == ["2025-12", "2026-01"]
    assert all(f.expected_status == "accepted" and not f.issues for f in m.files)
    assert not any("header variants" in v for f in m.files for v in f.variations)


def test_resident_id_shape() -> None:
    import random

    rid = resident_id(random.Random(1), "410522")
    assert re.fullmatch(r"410522\d{11}[\dX]", rid)
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    assert rid[-1] == "10X98765432"[sum(int(c) * w for c, w in zip(rid[:17], weights, strict=True)) % 11]


def test_county_order_starts_in_anyang_and_spans_cities() -> None:
    order = county_order()
    assert [c for _, c, _ in order[:3]] == ["410522", "410523", "410621"]
    assert len({c for _, c, _ in order}) == len(order) >= 150
    assert not order[0][2].endswith("区")


def test_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--out", str(tmp_path), "--period", "2026-03", "--counties", "1", "--seed", "2", "--months", "1"]
    args += ["--branches", "8", "12", "--events", "2", "--config", str(CONFIG)]
    assert sample_main(args) == 0
    assert "1 workbooks" in capsys.readouterr().out
    assert json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))["periods"] == ["2026-03"]
    copied = {p.name for p in (tmp_path / "config").iterdir()}
    shipped = {p.name for p in CONFIG.iterdir() if p.suffix in (".csv", ".yaml")}
    assert copied == shipped | {"registry.csv", "submitters.csv"}
    for name in (
        "rulebook.yaml",
        "stars.csv",
        "indicators.csv",
        "points_items.csv",
        "vetoes.csv",
        "workbook.yaml",
    ):
        assert (tmp_path / "config" / name).read_bytes() == (CONFIG / name).read_bytes()


# ---------------------------------------------------------------------------------------------
# clean data really follow the contract (a small independent reading of submission.md)

NUM = re.compile(r"^[+-]?\d+(\.\d+)?$")
RID = re.compile(r"^\d{17}[\dX]$")


def _read_number(cell: Any) -> tuple[float | None, str | None]:
    """The number a cell means, and a warning rule it raises (text_number / rate handled by caller)."""
    v = cell.value
    if isinstance(v, bool) or v is None:
        return None, "blank"
    if isinstance(v, int | float):
        return float(v), None
    s = unicodedata.normalize("NFKC", str(v)).strip().replace(",", "")
    if NUM.match(s):
        return float(s), "text_number"
    return None, "non_numeric"


def _read_date(v: Any) -> dt.date | None:
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, str):
        for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日"):
            try:
                return dt.datetime.strptime(v.strip(), fmt).date()
            except ValueError:
                pass
    return None


def _sheet_rows(ws: Any) -> tuple[list[str], list[tuple[int, dict[str, Any]]]]:
    rows = list(ws.iter_rows())
    if not rows:
        return [], []
    header = [unicodedata.normalize("NFKC", str(c.value or "")).replace("\n", "") for c in rows[0]]
    out = []
    for r in rows[1:]:
        if all(c.value is None for c in r):
            continue
        out.append((r[0].row, {h: c for h, c in zip(header, r, strict=False)}))
    return header, out


def _norm(h: str) -> str:
    return unicodedata.normalize("NFKC", h).replace("\n", "")


def _contract_findings(
    f: Any, wb: openpyxl.Workbook, rb: Rulebook, registry: dict[str, dict[str, str]], prior: dict[str, Any]
) -> set[tuple[str, str, str]]:
    """(rule, sheet, cell-or-code) warnings and errors found by a plain reading of the contract."""
    found: set[tuple[str, str, str]] = set()
    y, m = (int(x) for x in f.period.split("-"))
    items = {r.code: r for r in rb.items.itertuples()}
    county_branches = {c for c, r in registry.items() if r["parent_code"] == f.county_code}

    _, roster_rows = _sheet_rows(wb[rb.sheets["roster"].sheet])
    h = {c.key: _norm(c.header) for c in rb.sheets["roster"].columns}
    types: dict[str, str] = {}
    for _row_no, r in roster_rows:
        code = _code(r[h["branch_code"]].value)
        types[code] = r[h["branch_type"]].value
        if code not in registry:
            found.add(("not_in_registry", "roster", r[h["branch_code"]].coordinate))
        for key, lo, hi, warn in (
            ("members", 3, None, 500),
            ("households", 1, None, None),
            ("secretary_age", 18, 80, 60),
        ):
            v, issue = _read_number(r[h[key]])
            if issue:
                found.add((issue, "roster", r[h[key]].coordinate))
            if v is not None and ((lo is not None and v < lo) or (hi is not None and v > hi) or v != int(v)):
                found.add(("error", "roster", r[h[key]].coordinate))
            elif v is not None and warn is not None and v > warn:
                found.add(("over", "roster", r[h[key]].coordinate))
    for code in county_branches - set(types):
        found.add(("missing_from_roster", "roster", code))

    meaning: dict[tuple[str, str], float] = {}
    for sk in ("village_indicators", "community_indicators"):
        spec = rb.sheets[sk]
        _, rows = _sheet_rows(wb[spec.sheet])
        seen = set()
        for _row_no, r in rows:
            code = _code(r[_norm(spec.columns[0].header)].value)
            seen.add(code)
            for col in spec.columns[2:]:
                cell = r[_norm(col.header)]
                if col.type == "yesno":
                    if cell.value not in ("是", "否"):
                        found.add(("error", sk, cell.coordinate))
                    continue
                v, issue = _read_number(cell)
                if issue:
                    found.add((issue, sk, cell.coordinate))
                if v is None:
                    continue
                if col.type == "rate":
                    if "%" in cell.number_format:
                        v *= 100
                    elif v <= 1:
                        found.add(("rate_fraction", sk, cell.coordinate))
                    if not 0 <= v <= 100:
                        found.add(("error", sk, cell.coordinate))
                elif v < 0 or (col.type == "int" and v != int(v)):
                    found.add(("error", sk, cell.coordinate))
                meaning[(code, col.key)] = v
                prev = prior.get("meaning", {}).get((code, col.key))
                if prev is not None and col.basis == "累计" and prior["year"] == y and v < prev:
                    found.add(("cumulative_decrease", sk, cell.coordinate))
                if prev is not None and col.basis == "期末" and col.type == "rate" and abs(v - prev) > 30:
                    found.add(("rate_jump", sk, cell.coordinate))
        want = {c for c, t in types.items() if t == spec.branch_type}
        for code in want - seen:
            found.add(("error", sk, code))
        sat = [k for (c, k) in meaning if c in want and "satisfaction" in k]
        if len(want) >= 10 and sat:
            vals = [meaning[(c, sat[0])] for c in want if (c, sat[0]) in meaning]
            if sum(v == 100 for v in vals) > 0.9 * len(vals):
                found.add(("satisfaction_all_100", sk, ""))

    _, ledger = _sheet_rows(wb[rb.sheets["ledger"].sheet])
    h = {c.key: _norm(c.header) for c in rb.sheets["ledger"].columns}
    events = []
    for row_no, r in ledger:
        d = _read_date(r[h["event_date"]].value)
        code = _code(r[h["branch_code"]].value)
        item = items.get(r[h["item_code"]].value)
        points, _ = _read_number(r[h["points"]])
        stype = r[h["subject_type"]].value
        sid = r[h["subject_id"]].value or code
        if d is None or (d.year, d.month) != (y, m) or code not in types or item is None:
            found.add(("error", "ledger", r[h["points"]].coordinate))
            continue
        if stype not in item.subject_type.split("|"):
            found.add(("error", "ledger", r[h["points"]].coordinate))
        applies = rb.item_applies(item.code, types[code])
        if not applies:
            found.add(("error", "ledger", r[h["points"]].coordinate))
        if item.kind == "redeem" and not (points or 0) < 0:
            found.add(("error", "ledger", r[h["points"]].coordinate))
        if item.kind != "redeem" and points != float(item.points):
            found.add(("error", "ledger", r[h["points"]].coordinate))
        if isinstance(sid, str) and RID.match(sid):
            found.add(("resident_id", "ledger", r[h["subject_id"]].coordinate))
        events.append((d, row_no, code, stype, str(sid), item, points or 0.0, r[h["points"]].coordinate))
    events.sort(key=lambda e: (e[0], e[1]))
    count: dict[tuple, int] = defaultdict(int)
    balance: dict[tuple, float] = defaultdict(float, prior.get("balance", {}))
    for _d, _row, code, stype, sid, item, points, coord in events:
        subject = (code, stype, sid)
        if item.kind == "redeem":
            if -points > balance[subject]:
                found.add(("overdraw", "ledger", coord))
            balance[subject] += points
            continue
        count[(subject, item.code)] += 1
        if item.cap and count[(subject, item.code)] > int(item.cap):
            found.add(("cap_overflow", "ledger", coord))
            continue
        balance[subject] += points

    if rb.sheets["vetoes"].sheet in wb.sheetnames:
        _, vetoes = _sheet_rows(wb[rb.sheets["vetoes"].sheet])
        h = {c.key: _norm(c.header) for c in rb.sheets["vetoes"].columns}
        for _row_no, r in vetoes:
            code = _code(r[h["branch_code"]].value)
            d = _read_date(r[h["event_date"]].value)
            if code not in types or d is None or (d.year, d.month) != (y, m) or not r[h["note"]].value:
                found.add(("error", "vetoes", r[h["note"]].coordinate))
            elif rb.vetoed_stars(r[h["veto_code"]].value, types[code]) is None:
                found.add(("error", "vetoes", r[h["veto_code"]].coordinate))
    prior.update(meaning=meaning, balance=dict(balance), year=y)
    return found


def test_clean_files_follow_the_contract(province: Manifest, rb: Rulebook) -> None:
    _check_contract(province, rb)


def test_every_kind_of_problem(tmp_path: Path, rb: Rulebook) -> None:
    """A wider run: every injected kind lands where the manifest says, warnings files warn exactly."""
    m = generate(
        tmp_path,
        "2026-02",
        counties=16,
        seed=4,
        months=2,
        rulebook_dir=CONFIG,
        branches_per_county=(10, 16),
        events_per_branch=3,
    )
    kinds = {i.rule for f in m.files for i in f.issues}
    from fivestar.sample.inject import WARNING_KINDS

    assert set(WARNING_KINDS) <= kinds | {"cumulative_decrease"}  # 2026-01 has no earlier month of 2026
    assert _check_injected_cells(m, rb) > 20
    _check_contract(m, rb)
    rejected = m.by_status("rejected")
    assert len(rejected) == 5 and all(f.errors for f in rejected)
    assert "missing_column" in kinds  # every fifth rejected file is broken as a whole


def _check_contract(province: Manifest, rb: Rulebook) -> None:
    registry = {r["code"]: r for r in _registry(province) if r["level"] == "branch"}
    cover_rules = {"county_name_mismatch", "phone_blank", "email_invalid", "extra_column"}
    priors: dict[str, dict[str, Any]] = defaultdict(dict)
    for f in sorted(_readable(province), key=lambda f: (f.county_code, f.period)):
        if f.expected_status == "rejected":
            continue  # never loaded: later months compare with the last accepted one
        found = _contract_findings(f, _load(province, f), rb, registry, priors[f.county_code])
        found = {(rule, sheet, where) for rule, sheet, where in found}
        expected = set()
        for i in f.issues:
            if i.rule in cover_rules:
                continue
            rule = {"age_over_60": "over", "members_over_500": "over"}.get(i.rule, i.rule)
            key = next(k for k, s in rb.sheets.items() if s.sheet == i.sheet)
            where = i.cell or (i.value if i.rule in ("missing_from_roster",) else "")
            expected.add((rule, key, where))
        assert found == expected, f.path


def test_committed_quickstart_sample_is_reproducible(tmp_path: Path) -> None:
    """config/registry.csv, config/submitters.csv and data/raw/2026-1x are `generate_small(seed=0)`.

    Regenerate with: .venv/bin/python -m fivestar.sample --quickstart .
    """
    from fivestar.sample import generate_small

    if not (CONFIG / "registry.csv").exists() or not (ROOT / "data" / "raw" / "2026-11").exists():
        pytest.skip("no committed quickstart sample")
    m = generate_small(tmp_path, seed=0, rulebook_dir=CONFIG)
    hint = "stale quickstart sample: run `.venv/bin/python -m fivestar.sample --quickstart .`"
    for name in ("registry.csv", "submitters.csv"):
        assert (tmp_path / "config" / name).read_bytes() == (CONFIG / name).read_bytes(), hint
    for f in m.files:
        committed = ROOT / "data" / f.path
        assert committed.exists(), hint
        assert _values(committed) == _values(m.path_of(f)), hint
    assert m.summary() == {"accepted": 3, "accepted_with_warnings": 2, "rejected": 1}


def test_a_branch_type_not_in_the_configuration_is_refused(tmp_path: Path) -> None:
    from fivestar.sample import generate

    with pytest.raises(
        ValueError, match=r"学校 not configured in .*branch_types\.csv \(configured: 村, 社区\)"
    ):
        generate(tmp_path / "p", "2026-11", counties=1, months=1, branch_types=("村", "学校"))
    assert not (tmp_path / "p" / "raw").exists()


def test_only_the_requested_branch_types_are_invented(tmp_path: Path) -> None:
    from fivestar.sample import generate

    generate(
        tmp_path / "p", "2026-11", counties=2, months=1, branches_per_county=(8, 12), branch_types=("社区",)
    )
    rows = (tmp_path / "p" / "config" / "registry.csv").read_text(encoding="utf-8").splitlines()
    assert {r.split(",")[4] for r in rows[1:] if r.split(",")[2] == "branch"} == {"社区"}
