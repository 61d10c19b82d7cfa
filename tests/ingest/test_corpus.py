"""Hostile and broken input through the real pipeline: nothing crashes, nothing is lost, nothing leaks.

In: the bad-input corpus (tests/corpus: one county per hostile case — truncated zip,
.xls and CSV renamed .xlsx, an encrypted workbook, a zip bomb, a 1,048,576-row sheet,
missing/duplicated/merged headers, formulas without cached values, Excel error values,
text numbers and dates, resident IDs, formula and HTML injection, path tricks in file
names, lock and hidden files — plus one good county), generated at test time.
Out: ONE `fivestar run -v` process over the whole corpus (SQLite warehouse, its own
temporary Prefect server), then checks of its effects:
- each case's exact outcome: status in rpt_submission and the findings (rule, Chinese
  message, sheet / cell) in rpt_dq_issue; the good county is accepted in the same run;
- every received file archived as received (processed/archive/<sha[:2]>/<sha>… byte-identical);
- lock files, hidden files and hidden folders never recorded; symlinks and foreign
  names listed as unrecognised; nothing written outside the processed folder;
- resident IDs in no warehouse table, feedback workbook (every XML part), HTML page or
  log line (the CLI's stdout/stderr); formula injection stays text in every workbook we
  write (and in the leaders' report), HTML in text is escaped in every page;
- memory stays low when refusing the zip bomb and the far-cell sheet, and bounded for
  the million-row sheet (measured in a separate process).
"""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from corpus import ALL_IDS, PERIOD, Case, Corpus, build_corpus
from corpus.cases import GOOD_COUNTY, HTML_INJECTION, HTML_NAME, INJECTIONS, make_cases
from testenv import clean_env, drop_fivestar_settings

ROOT = Path(__file__).resolve().parents[2]
RUN_TIMEOUT_S = 900
CASES = make_cases()
SUBMISSIONS = [c for c in CASES if c.status not in ("ignored", "unrecognised")]
FORMULA_LEAD = ("=", "+", "-", "@")


@dataclass
class Run:
    corpus: Corpus
    processed: Path
    db: Path
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    before: set[str]  # files under the corpus root before the run

    @property
    def log(self) -> str:
        return self.stdout + "\n" + self.stderr

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.db) as conn:
            return conn.execute(sql, params).fetchall()

    def status(self, case: Case) -> str | None:
        rows = self.query(
            "SELECT status FROM rpt_submission WHERE county_code = ? AND period = ? ORDER BY version",
            case.county,
            PERIOD,
        )
        return rows[-1][0] if rows else None

    def issues(self, case: Case) -> list[dict[str, Any]]:
        with sqlite3.connect(self.db) as conn:
            conn.row_factory = sqlite3.Row
            rows = conn.execute(
                "SELECT * FROM rpt_dq_issue WHERE county_code = ? AND period = ? ORDER BY seq",
                (case.county, PERIOD),
            ).fetchall()
        return [dict(r) for r in rows]

    def feedback(self, case: Case, ext: str) -> Path:
        return self.processed / "feedback" / PERIOD / f"{case.county}_{PERIOD}_v1_审核结果.{ext}"


def _files(root: Path) -> set[str]:
    out = set()
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            out.add(os.path.relpath(os.path.join(dirpath, name), root))
    return out


def cli_env(**settings: str) -> dict[str, str]:
    """The environment of a `fivestar` process: ours without PREFECT_/FIVESTAR_ settings."""
    env = clean_env()
    env.update({"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1", "COLUMNS": "200"})
    env["FIVESTAR_SETTLE_SECONDS"] = "0"  # the corpus was written just now
    env.update(settings)
    return env


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    return build_corpus(tmp_path_factory.mktemp("corpus"), ROOT / "config")


@pytest.fixture(scope="module")
def run(corpus: Corpus) -> Run:
    """One `fivestar run -v` over the whole corpus, stdout and stderr captured."""
    processed = corpus.root / "processed"
    db = corpus.root / "warehouse" / "warehouse.db"
    before = _files(corpus.root)
    env = cli_env(
        FIVESTAR_RAW_DIR=str(corpus.raw),
        FIVESTAR_CONFIG_DIR=str(corpus.config),
        FIVESTAR_PROCESSED_DIR=str(processed),
        FIVESTAR_WAREHOUSE_URL=f"sqlite:///{db}",
        FIVESTAR_ID_HASH_KEY="corpus-test-key",
        PREFECT_HOME=str(corpus.root / ".prefect"),
    )
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "fivestar.cli", "run", "-v"],
        env=env,
        cwd=corpus.root,
        capture_output=True,
        timeout=RUN_TIMEOUT_S,
    )
    return Run(
        corpus,
        processed,
        db,
        proc.returncode,
        proc.stdout.decode("utf-8", "replace"),
        proc.stderr.decode("utf-8", "replace"),
        time.monotonic() - t0,
        before,
    )


# ----------------------------------------------------------------------------- the run itself
def test_the_run_completes_without_a_crash(run: Run) -> None:
    assert run.returncode == 0, run.log[-4000:]
    # Prefect's temporary server may print a harmless CancelledError traceback at exit
    # (PrefectHQ/prefect #15033); no traceback may pass through our own code.
    assert not re.search(r'File "[^"]*/(fivestar|flows|tasks)/', run.log), run.log[-4000:]
    recorded = run.query("SELECT count(*) FROM submission")[0][0]
    assert recorded == len(SUBMISSIONS), run.query("SELECT county_code, file_name, status FROM submission")
    outcome = run.query("SELECT outcome FROM run")
    assert outcome == [("completed",)]


def test_the_good_county_is_accepted_and_rated_in_the_same_run(run: Run) -> None:
    good = next(c for c in CASES if c.name == "good")
    assert run.status(good) == "accepted"
    rated = run.query("SELECT count(*) FROM rpt_branch_rating WHERE county_code = ?", GOOD_COUNTY)[0][0]
    assert rated == 2


# ----------------------------------------------------------------------------- each case
@pytest.mark.parametrize("case", SUBMISSIONS, ids=lambda c: c.name)
def test_case_outcome(run: Run, case: Case) -> None:
    case = run.corpus.case(case.name)
    issues = run.issues(case)
    shown = [(i["severity"], i["sheet"], i["cell"], i["rule"], i["message"]) for i in issues]
    assert run.status(case) == case.status, shown
    if case.status == "accepted":
        assert issues == []
    if case.status == "rejected":
        assert any(i["severity"] == "error" for i in issues)
    for e in case.expect:
        hits = [
            i
            for i in issues
            if i["severity"] == e.severity
            and i["rule"] == e.rule
            and e.message in i["message"]
            and (e.sheet is None or i["sheet"] == e.sheet)
            and (e.cell is None or i["cell"] == e.cell)
            and (e.column is None or i["column_name"] == e.column)
        ]
        if e.count is None:
            assert hits, (e, shown)
        else:
            assert len(hits) == e.count, (e, shown)
    for i in issues:  # every finding speaks Chinese to the submitter
        assert re.search(r"[\u4e00-\u9fff]", i["message"]), i


@pytest.mark.parametrize("case", [c for c in SUBMISSIONS if c.values], ids=lambda c: c.name)
def test_values_are_stored_as_numbers(run: Run, case: Case) -> None:
    case = run.corpus.case(case.name)
    for (branch, key), value in case.values.items():
        stored = run.query(
            "SELECT value FROM indicator_value WHERE branch_code = ? AND indicator_key = ?", branch, key
        )
        assert stored == [(value,)], (branch, key)


def test_text_and_serial_dates_are_read_as_dates(run: Run) -> None:
    county = run.corpus.case("dates_as_text_and_serials").county
    dates = run.query("SELECT event_date FROM ledger WHERE county_code = ? ORDER BY sheet_row", county)
    assert [d for (d,) in dates] == ["2026-11-03", "2026-11-04", "2026-11-05", "2026-11-10", "2026-11-12"]


def test_bom_and_spaces_are_stripped_from_codes(run: Run) -> None:
    case = run.corpus.case("bom_and_spaces_in_codes")
    codes = [c for (c,) in run.query("SELECT branch_code FROM roster WHERE county_code = ?", case.county)]
    assert sorted(codes) == sorted(b["code"] for b in run.corpus.branches[case.county])
    ind = run.query("SELECT DISTINCT branch_code FROM indicator_value WHERE county_code = ?", case.county)
    assert all(re.fullmatch(r"\d{12}", c) for (c,) in ind)


# ----------------------------------------------------------------------------- nothing is lost
@pytest.mark.parametrize("case", SUBMISSIONS, ids=lambda c: c.name)
def test_file_is_archived_as_received(run: Run, case: Case) -> None:
    case = run.corpus.case(case.name)
    original = run.corpus.path_of(case).read_bytes()
    sha = hashlib.sha256(original).hexdigest()
    archived = list((run.processed / "archive" / sha[:2]).glob(f"{sha}*"))
    assert len(archived) == 1, archived
    assert archived[0].read_bytes() == original
    recorded = run.query(
        "SELECT file_sha256, archive_path FROM submission WHERE county_code = ?", case.county
    )
    assert recorded == [(sha, str(archived[0]))]


def test_lock_and_hidden_files_are_never_recorded(run: Run) -> None:
    ignored = [c for c in CASES if c.status == "ignored"]
    shas = {hashlib.sha256(run.corpus.path_of(c).read_bytes()).hexdigest() for c in ignored}
    hidden_dir = run.corpus.raw / f".{PERIOD}"
    shas |= {hashlib.sha256(p.read_bytes()).hexdigest() for p in hidden_dir.iterdir()}
    recorded = {s for (s,) in run.query("SELECT file_sha256 FROM submission")}
    assert not shas & recorded
    archived = {p.name.split(".")[0] for p in (run.processed / "archive").rglob("*") if p.is_file()}
    assert not shas & archived
    assert run.query("SELECT count(*) FROM submission WHERE county_code = ?", GOOD_COUNTY) == [(1,)]
    for c in ignored:  # silently: not even listed as unrecognised
        assert c.display_name not in run.stdout
    assert f".{PERIOD}" not in run.stdout


def test_symlinks_and_foreign_names_are_unrecognised(run: Run) -> None:
    summary = run.query("SELECT summary FROM run")[0][0]
    link = run.corpus.case("symlink_outside")
    assert f"{PERIOD}/{link.display_name}" in run.stdout
    assert link.display_name in summary
    assert run.query("SELECT count(*) FROM submission WHERE county_code = ?", link.county) == [(0,)]
    outside = (run.corpus.outside / "410569_outside.xlsx").read_bytes()
    sha = hashlib.sha256(outside).hexdigest()
    assert not (run.processed / "archive" / sha[:2]).exists() or not list(
        (run.processed / "archive" / sha[:2]).glob(f"{sha}*")
    )
    assert "220102********0033.txt" in run.stdout  # listed, with the ID in its name masked


def test_nothing_escapes_the_processed_folder(run: Run) -> None:
    created = _files(run.corpus.root) - run.before
    allowed = ("processed", "warehouse", ".prefect")
    assert {p for p in created if not p.startswith(allowed)} == set()
    real = run.processed.resolve()
    for dirpath, dirnames, filenames in os.walk(run.processed):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            assert not p.is_symlink(), p
            assert p.resolve().is_relative_to(real), p
    names = {p.name for p in (run.processed / "feedback" / PERIOD).iterdir()}
    assert all(re.fullmatch(r"\d{6}_\d{4}-\d{2}_v\d+_审核结果\.(xlsx|html)", n) for n in names), names


def test_control_characters_in_file_names_cannot_forge_log_lines(run: Run) -> None:
    assert not any(line.startswith("ERROR forged") for line in run.log.splitlines())
    case = run.corpus.case("newline_in_name")
    (stored,) = run.query("SELECT file_name FROM submission WHERE county_code = ?", case.county)[0]
    assert "\n" not in stored and "forged" in stored


# ----------------------------------------------------------------------------- nothing leaks
def _id_pattern() -> re.Pattern[str]:
    import unicodedata

    forms = set()
    for i in ALL_IDS:
        ascii_form = unicodedata.normalize("NFKC", i)
        forms |= {i, ascii_form, ascii_form.lower(), ascii_form[:17]}
    return re.compile("|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True)), re.IGNORECASE)


ID_RE = _id_pattern()


def _leaks(text: str) -> list[str]:
    import html

    # XML writers may spell characters as references (&#65297;): look at the text they mean.
    return sorted({m.group(0) for m in ID_RE.finditer(html.unescape(text))})


def test_resident_ids_never_reach_the_warehouse(run: Run) -> None:
    with sqlite3.connect(run.db) as conn:
        dump = "\n".join(conn.iterdump())
    assert _leaks(dump) == []
    assert "110101********1234" in dump  # the masked form is there: the IDs did pass through
    assert re.search(r"IDH-[0-9a-f]{20}", dump)  # 对象编号 became a keyed hash


def test_resident_ids_never_reach_feedback_files(run: Run) -> None:
    pages = list((run.processed / "feedback").rglob("*"))
    assert any(p.suffix == ".xlsx" for p in pages) and any(p.suffix == ".html" for p in pages)
    for p in pages:
        if p.suffix == ".xlsx":
            with zipfile.ZipFile(p) as zf:
                for member in zf.namelist():
                    text = zf.read(member).decode("utf-8", "replace")
                    assert _leaks(text) == [], (p.name, member)
        elif p.is_file():
            assert _leaks(p.read_text(encoding="utf-8", errors="replace")) == [], p.name
    for p in run.processed.rglob("*"):  # file names too (the archive is named by hash)
        assert _leaks(p.name) == [], p


def test_resident_ids_never_reach_the_logs(run: Run) -> None:
    assert _leaks(run.log) == []
    assert "410523" in run.stdout  # the county with IDs was processed and shown
    # Nor Prefect's own records of the run (its database: parameters, states, artifacts).
    for p in (run.corpus.root / ".prefect").rglob("*"):
        if p.is_file():
            assert _leaks(p.read_bytes().decode("utf-8", "replace")) == [], p


# ----------------------------------------------------------------------------- injection
def _assert_text_cells(path: Path) -> None:
    wb = openpyxl.load_workbook(path)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value.startswith(FORMULA_LEAD):
                    assert cell.data_type == "s", (path.name, ws.title, cell.coordinate, cell.value)
    with zipfile.ZipFile(path) as zf:
        for member in zf.namelist():
            if member.startswith("xl/worksheets/"):
                assert not re.search(rb"<(\w+:)?f[ >]", zf.read(member)), (path.name, member)


def test_formula_injection_is_written_as_text_in_feedback(run: Run) -> None:
    case = run.corpus.case("formula_injection")
    xlsx = run.feedback(case, "xlsx")
    _assert_text_cells(xlsx)
    wb = openpyxl.load_workbook(xlsx)
    values = {
        c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row if isinstance(c.value, str)
    }
    assert INJECTIONS[0] in values or any(INJECTIONS[0] in v for v in values)
    assert "=130102********1111" in values  # masked, and still text
    html = run.feedback(case, "html").read_text(encoding="utf-8")
    assert (
        "HYPERLINK(&#34;http://evil.example/&#34;" in html
        or "HYPERLINK(&quot;http://evil.example/&quot;" in html
    )


def test_every_feedback_workbook_keeps_formula_like_text_as_text(run: Run) -> None:
    for p in sorted((run.processed / "feedback").rglob("*.xlsx")):
        if "formula_cached" in p.name:
            continue
        case_county = p.name[:6]
        if case_county in {
            run.corpus.case(n).county for n in ("formula_cached", "formula_uncached", "excel_errors")
        }:
            continue  # the submitter's own formulas are kept in the copy
        _assert_text_cells(p)


def test_html_in_text_is_escaped_in_pages(run: Run) -> None:
    case = run.corpus.case("html_injection")
    html = run.feedback(case, "html").read_text(encoding="utf-8")
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(" in html
    for page in (run.processed / "feedback").rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert "<script>alert" not in text and "<img src=x" not in text, page.name


def test_the_leaders_report_escapes_html_and_keeps_formulas_as_text(
    run: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from fivestar.report import run_report_command

    drop_fivestar_settings(monkeypatch)
    monkeypatch.setenv("FIVESTAR_WAREHOUSE_URL", f"sqlite:///{run.db}")
    monkeypatch.setenv("FIVESTAR_CONFIG_DIR", str(run.corpus.config))
    paths = run_report_command(year=2026, out=tmp_path / "report")
    html = [p for p in paths if p.suffix == ".html"]
    xlsx = [p for p in paths if p.suffix == ".xlsx"]
    assert html and xlsx
    text = "\n".join(p.read_text(encoding="utf-8") for p in html)
    assert "<img src=x" not in text and "<script>alert" not in text
    assert "&lt;img src=x" in text  # the branch name is there, as text
    for p in xlsx:
        _assert_text_cells(p)
        wb = openpyxl.load_workbook(p)
        names = {c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row}
        assert HTML_NAME in names


def test_html_injection_constants_are_what_the_pages_escape() -> None:
    assert HTML_INJECTION.startswith("<script>") and HTML_NAME.startswith("<img")


# ----------------------------------------------------------------------------- resources
MEASURE = r"""
import resource, sys, time
from pathlib import Path
from fivestar.config import load_limits, load_rulebook
from fivestar.ingest.read import read_workbook
cfg = Path(sys.argv[1]); rb = load_rulebook(cfg); limits = load_limits(cfg)
def peak(): return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
for arg in sys.argv[2:]:
    t = time.monotonic()
    pw = read_workbook(Path(arg), rb, limits, file_key="k", id_key="k")
    rules = ",".join(sorted(set(pw.findings["rule"])))
    print(f"{Path(arg).name}\t{peak()}\t{time.monotonic() - t:.2f}\t{rules}", flush=True)
"""


def test_memory_stays_low_when_refusing_bombs_and_bounded_for_huge_sheets(corpus: Corpus) -> None:
    """Peak RSS of a reader process: the bombs add almost nothing; the 1,048,576-row sheet
    is refused at the row limit with a bounded peak (its XML is 53 MB uncompressed)."""
    names = ("good", "zip_bomb", "zip_ratio", "far_cell", "million_rows")  # increasing expected peak
    paths = [str(corpus.path_of(corpus.case(n))) for n in names]
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, str(corpus.config), *paths],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    rows = [line.split("\t") for line in out.stdout.strip().splitlines()]
    peaks = {n: int(r[1]) for n, r in zip(names, rows, strict=True)}
    rules = {n: r[3] for n, r in zip(names, rows, strict=True)}
    assert rules == {
        "good": "",
        "zip_bomb": "file.too_large",
        "zip_ratio": "file.ratio",
        "far_cell": "file.too_large",
        "million_rows": "file.too_many_rows",
    }
    base = peaks["good"]
    for n in ("zip_bomb", "zip_ratio", "far_cell"):
        assert peaks[n] - base < 20, peaks  # MB: nothing was inflated
    assert peaks["million_rows"] - base < 600, peaks
