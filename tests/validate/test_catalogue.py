"""The validation rule catalogue (fivestar/validate/catalogue/) is the one list of rules.

In: the catalogue, the generated GX suites, the sample's fault injectors and the source
of the rule modules. Out: assertions that every row is complete, that every suite
expectation and every rule id written in the code is a catalogue row, and that every
row has an injector in the sample or says why not. (That every row has a case in the
validation table, and every emitted id is catalogued, is checked in test_validate.py.)
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fivestar.config import Limits, Rulebook, load_registry, load_rulebook
from fivestar.ingest.read import read_workbook
from fivestar.sample import generate, inject
from fivestar.validate import catalogue
from fivestar.validate.batch import validate_period
from fivestar.validate.inputs import Submission
from fivestar.validate.suites import build_suites

CHINESE = re.compile(r"[\u4e00-\u9fff]")
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("rule", catalogue.RULES, ids=[r.id for r in catalogue.RULES])
def test_every_row_is_complete(rule: catalogue.Rule) -> None:
    assert rule.severity in ("error", "warning")
    assert rule.sheet and rule.example
    assert CHINESE.search(rule.message), "the message a submitter reads is Chinese"
    assert CHINESE.search(rule.hint)
    assert not re.search(r"[a-z]+_[a-z]+", re.sub(r"\{[^}]*\}", "", rule.hint + rule.message)), (
        "no internal names for clerks"
    )
    assert rule.check in ("relay", "rules", "read") or rule.check.startswith("gx:expect_")
    if not rule.check.startswith("gx:"):
        assert rule.why, "a check outside GX says why GX cannot express it"
    assert bool(rule.injector) != bool(rule.no_injector), "an injector, or why the sample has none"


def test_ids_are_unique_and_found() -> None:
    ids = [r.id for r in catalogue.RULES]
    assert len(ids) == len(set(ids))
    assert catalogue.find("roster.members.type.not_integer").id == "{sheet}.{column}.type.not_integer"
    assert (
        catalogue.find("cover.submitter.resident_id.id_masked").id == "cover.{column}.resident_id.id_masked"
    )
    assert catalogue.find("roster.branch_code.format").id == "{sheet}.branch_code.format"
    assert catalogue.find("roster.nothing.like_this") is None


def test_every_injector_is_a_sample_fault_and_every_fault_a_rule() -> None:
    kinds = {*inject.WARNING_KINDS, *inject.ERROR_KINDS, *inject.STRUCTURAL_KINDS}
    # veto_invalid records one of two manifest rules, by what it broke.
    kinds = (kinds - {"veto_invalid"}) | {"veto_not_applicable", "veto_blank_note"}
    named = {k for r in catalogue.RULES for k in r.injector.split()}
    assert named <= set(kinds), named - set(kinds)
    assert set(kinds) <= named, f"sample faults without a catalogue rule: {set(kinds) - named}"


def test_every_expectation_is_a_catalogue_row(rulebook: Rulebook) -> None:
    relays = 0
    for suite in build_suites(rulebook).values():
        for e in suite["expectations"]:
            rid = e["meta"]["rule"]
            if e["meta"]["kind"] in ("issue", "warn"):  # a relay: one row per problem code
                rows = [
                    r
                    for r in catalogue.RULES
                    if r.check == "relay" and re.fullmatch(catalogue.pattern(r.id.rsplit(".", 1)[0]), rid)
                ]
                assert rows, rid
                relays += 1
                continue
            row = catalogue.rule(rid)
            assert row.check == "gx:" + e["type"], rid
            assert {"error": "critical", "warning": "warning"}[row.severity] == e["severity"], rid
    # Relay null checks stay only for what the reader sees in raw cells (catalogue `why`).
    assert relays == 104


def test_rule_ids_written_in_the_code_are_catalogued() -> None:
    """Every literal rule id in the modules that emit findings is a catalogue row (ids
    built from a column key at run time are checked on real findings in test_validate)."""
    sheets = "file|cover|roster|village_indicators|community_indicators|ledger|vetoes"
    literal = re.compile(rf"\"((?:{sheets})\.[a-z_.]+)\"")
    sources = [*sorted((ROOT / "fivestar/validate/rules").glob("*.py")), ROOT / "fivestar/ingest/read.py"]
    seen = set()
    for path in sources:
        for m in literal.finditer(path.read_text(encoding="utf-8")):
            seen.add(m.group(1))
            assert catalogue.find(m.group(1)) is not None, f"{path.name}: {m.group(1)}"
    assert len(seen) > 20


def test_every_cell_problem_code_of_the_reader_has_a_row() -> None:
    """The reader's issue and warn codes (fivestar.cells) each have their message row."""
    from fivestar import cells

    issues = [cells.BLANK, cells.NOT_NUMBER, cells.NOT_INTEGER, cells.ERROR_VALUE]
    issues += [cells.FORMULA_NO_VALUE, cells.NOT_YESNO, cells.BAD_DATE, cells.TOO_LONG]
    for code in issues:
        assert catalogue.find(f"roster.members.type.{code}") is not None, code
    for code in (cells.TEXT_NUMBER, cells.PCT_DECIMAL):
        assert catalogue.find(f"roster.members.format.{code}") is not None, code
    for code in (cells.ID_MASKED, cells.ID_HASHED):
        assert catalogue.find(f"ledger.subject_id.resident_id.{code}") is not None, code


def test_every_injected_fault_is_found_as_its_catalogue_rule(tmp_path: Path) -> None:
    """A generated province validated file by file: every finding is a catalogue rule,
    and each fault the manifest records is reported at its cell under a rule whose
    catalogue row names that fault. Faults
    against the previous month need the warehouse's priors and are left to test_e2e."""
    m = generate(
        tmp_path,
        "2026-11",
        counties=6,
        seed=11,
        months=2,
        rulebook_dir=ROOT / "config",
        branches_per_county=(12, 30),
        events_per_branch=4,
    )
    rb, registry = load_rulebook(tmp_path / "config"), load_registry(tmp_path / "config")
    checked = 0
    for period in m.periods:
        files = [f for f in m.files if f.period == period]
        subs = [
            Submission(
                read_workbook(m.path_of(f), rb, Limits(), file_key=f.path, id_key="k"), f.county_code, period
            )
            for f in files
        ]
        found = validate_period(subs, rb, registry, {})
        for f in files:
            df = found[f.path]
            for rid, severity in zip(df["rule"], df["severity"], strict=True):
                row = catalogue.find(rid)
                assert row is not None and row.severity == severity, f"{f.path}: {rid} not in the catalogue"
            for issue in f.issues:
                rows = [r for r in catalogue.RULES if issue.rule in r.injector.split()]
                assert rows, issue.rule
                if all("previous accepted month" in r.why for r in rows):
                    continue
                hits = [
                    rid
                    for rid, cell in zip(df["rule"], df["cell"], strict=True)
                    if catalogue.find(rid) in rows and (not issue.cell or cell == issue.cell)
                ]
                assert hits, f"{f.path}: {issue.rule} at {issue.sheet}!{issue.cell}"
                checked += 1
    assert checked >= 10
