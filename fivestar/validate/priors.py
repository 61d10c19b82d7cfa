"""What the warehouse already holds for the counties of a period, for validation.

In: the warehouse engine, county codes and the period being validated. Out: one
`Prior` per county: its previous accepted month and that month's indicator values
(for the previous-month warnings) and its earlier ledger events (for balances).
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from fivestar.validate.inputs import Prior
from fivestar.warehouse.facts import current_facts, previous_accepted_period


def load_priors(engine: Engine, county_codes: list[str], period: str) -> dict[str, Prior]:
    out: dict[str, Prior] = {}
    for county in sorted(set(county_codes)):
        prev = previous_accepted_period(engine, county, period)
        if prev is None:
            out[county] = Prior()
            continue
        facts = current_facts(engine, county_code=county)
        ind = facts["indicators"]
        ledger = facts["ledger"]
        out[county] = Prior(
            prev_period=prev,
            prev_indicators=ind[ind["period"] == prev].reset_index(drop=True),
            earlier_ledger=ledger[ledger["period"] < period].reset_index(drop=True),
        )
    return out
