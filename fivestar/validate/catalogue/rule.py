"""One row of the rule catalogue, and the reasons rows share for being checked outside GX."""

from __future__ import annotations

from dataclasses import dataclass

ERROR, WARNING = "error", "warning"


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    sheet: str  # sheet key, "cover", "file", or "*" (any data sheet the family applies to)
    column: str  # column key, "*" (family) or "" (whole sheet / file)
    message: str  # Chinese template; fields in braces are filled by the check
    hint: str  # Chinese, plain words: what the submitter should do
    example: str  # a minimal bad value
    check: str  # "gx:<expectation type>", "relay", "rules" or "read"
    why: str = ""  # for relay / rules / read: why GX cannot express it
    regex: str = ""  # for gx:expect_column_values_to_match_regex
    # The words without the current value, for the template's input checks (Excel shows
    # them while the value is typed); "" when the template has no such check.
    prompt: str = ""
    applies: str = ""  # families: which columns ("numeric", "text", "ranged", ...)
    injector: str = ""  # the sample faults producing it (manifest `Issue.rule`s, space-separated)
    no_injector: str = ""  # or why the sample never injects it


RELAY = (
    "GX sees the parsed column; the problem is in the raw Excel cell (its type, an error "
    "value, a formula without a cached value, a percent format, a full-width digit), which "
    "only the reader sees: it relays the cell's problem code and GX checks the relay is null"
)
RELAY_ID = (
    "the resident-ID masking happens in the reader before any value is kept (an ID must "
    "never reach a frame, GX or the warehouse); the reader relays that it masked one"
)
REGISTRY = "needs the registry of counties and branches (config/registry.csv)"
ROSTER = "compares two sheets of the same file (a branch code against the roster)"
PRIOR = "compares with the county's previous accepted month in the warehouse"
LEDGER = "needs the points catalogue joined per row, or the running balance of a subject"
READ = "the file or sheet cannot be turned into a table at all, so no suite can run on it"
NO_SAMPLE_FILE = "whole-file faults of this kind are built by tests/ingest/test_ingest.py, not the sample"

NO_CELL_FAULT = "the sample writes clean cells of this kind; tests/validate/test_validate.py builds the case"
