"""Rules GX cannot express: file name vs cover, registry, cross-sheet, previous month, ledger.

In: one submission (parsed workbook, county from the file name, folder period),
the Rulebook, the Registry, the county's prior facts and validation settings.
Out: finding dicts (same shape as GX findings). Also `apply_explanations`, which
marks warnings that the 情况说明 sheet explains.

Row checks are vectorised (masks, dict lookups); Python loops visit only the rows that
get a finding, in row order, so the findings come out as a per-row loop would give them.
"""

from __future__ import annotations

from typing import Any

from fivestar.config import Registry, Rulebook
from fivestar.validate.inputs import Prior, Submission
from fivestar.validate.rules.context import RuleContext
from fivestar.validate.rules.cover_roster import cover_rules, roster_rules
from fivestar.validate.rules.explanations import apply_explanations, parse_locations
from fivestar.validate.rules.indicators import indicator_rules
from fivestar.validate.rules.ledger import ledger_rules
from fivestar.validate.rules.vetoes import veto_rules


def file_rules(
    sub: Submission, rb: Rulebook, registry: Registry, prior: Prior, settings: dict[str, Any]
) -> list[dict[str, Any]]:
    ctx = RuleContext(sub, rb)
    cover_rules(ctx, sub, registry)
    roster_types = roster_rules(ctx, sub, registry)
    if roster_types is not None:
        indicator_rules(ctx, sub, roster_types, prior, settings)
    # Without a readable roster (a missing column) the checks that do not need it still
    # run, so the submitter is told every error at once.
    ledger_rules(ctx, sub, roster_types, prior)
    veto_rules(ctx, sub, roster_types)
    return ctx.out


__all__ = ["apply_explanations", "file_rules", "parse_locations"]
