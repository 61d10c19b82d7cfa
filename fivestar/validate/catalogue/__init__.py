"""The catalogue of validation rules: one row per rule a submitter can be told about.

Each rule has its id (as stored in `dq_issue.rule`), severity, sheet and column, the
Chinese message template, a fix hint in plain words, a minimal bad value, and where it
is checked:

- `gx:<expectation>`: a declarative check in the GX suites (`validate/suites.py`
  generates `expectations/*.json` from these rows plus the column types and ranges of
  config/workbook.yaml and indicators.csv);
- `relay`: the reader parses each raw Excel cell once and relays its problem code in a
  `<column>__issue` / `__warn` column; GX checks that column is null (`why` says why GX
  cannot look at the cell itself);
- `rules`: a pandas rule in `validate/` (`why`: it needs the registry, the roster, the
  previous month, the ledger balance or a county-wide share);
- `read`: found while reading the file (`why`: the file or sheet cannot be turned into
  a table at all).

Ids may hold `{sheet}` (a sheet key) and `{column}` (a column key): such a row is a
family that applies to every matching column (`applies` says which). `injector` names
the faults of `fivestar.sample.inject` (manifest ids) that produce the rule, or `no_injector` says why
the sample never injects it.

A Python table rather than a YAML file in config/: rule ids are a contract of the code
(stored in `dq_issue.rule`, emitted by the reader and the pandas rules), the rows carry
`str.format` templates whose fields the code fills and `applies` selectors the suite
builder interprets, and a config file would have to be present in every province's
config folder (`--config` may point anywhere; `fivestar sample` copies its own). The rows are split by
concern: `file_cover.py`, `columns.py` (the per-column families), `sheets.py` (the
pandas rules); `rule.py` holds the row type and the shared reasons.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from fivestar.validate.catalogue.columns import COLUMN_RULES
from fivestar.validate.catalogue.file_cover import FILE_COVER_RULES
from fivestar.validate.catalogue.layout import LAYOUT_RULES
from fivestar.validate.catalogue.rule import ERROR, WARNING, Rule
from fivestar.validate.catalogue.sheets import SHEET_RULES

RULES: list[Rule] = [*FILE_COVER_RULES, *COLUMN_RULES, *SHEET_RULES, *LAYOUT_RULES]


def pattern(rule_id: str) -> re.Pattern[str]:
    """A family id (`{sheet}.{column}.range`) as a regular expression over concrete ids."""
    parts = re.split(r"(\{sheet\}|\{column\})", rule_id)
    out = "".join(
        "[a-z_]+" if p == "{sheet}" else "[a-z0-9_]+" if p == "{column}" else re.escape(p) for p in parts
    )
    return re.compile(out + r"\Z")


@cache
def _index() -> tuple[dict[str, Rule], list[tuple[re.Pattern[str], Rule]]]:
    exact = {r.id: r for r in RULES}  # concrete ids, and families by their own id
    # Fewer placeholders first: `cover.{column}...` before `{sheet}.{column}...`.
    fams = sorted((r for r in RULES if "{" in r.id), key=lambda r: r.id.count("{"))
    return exact, [(pattern(r.id), r) for r in fams]


@cache  # a run looks up the same few ids for every finding
def find(rule_id: str) -> Rule | None:
    """The catalogue row of a concrete rule id (as stored in dq_issue.rule), or None."""
    exact, fams = _index()
    if rule_id in exact:
        return exact[rule_id]
    return next((r for p, r in fams if p.match(rule_id)), None)


def rule(rule_id: str) -> Rule:
    r = find(rule_id)
    if r is None:
        raise KeyError(f"rule {rule_id!r} is not in the catalogue")
    return r


def text(rule_id: str, **fields: Any) -> str:
    """The Chinese message of a concrete rule id, its template filled with `fields`."""
    return rule(rule_id).message.format(**fields)


def by_check(prefix: str) -> list[Rule]:
    """Rows whose `check` starts with prefix ("gx:", "relay", "rules", "read"), in table order."""
    return [r for r in RULES if r.check.startswith(prefix)]


__all__ = ["ERROR", "RULES", "WARNING", "Rule", "by_check", "find", "pattern", "rule", "text"]
