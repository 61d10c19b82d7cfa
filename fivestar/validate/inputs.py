"""What validation takes in: one file version to validate and what the warehouse already
holds for its county.

In: a parsed workbook and its county / period / version; the county's current facts of
earlier periods. Out: the `Submission` and `Prior` records that the validation engine and
its rules read (kept apart from both so neither imports the other).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from fivestar.ingest.read import ParsedWorkbook


@dataclass
class Submission:
    """One file version to validate."""

    parsed: ParsedWorkbook
    county_code: str
    period: str
    version: int = 1


@dataclass
class Prior:
    """What the warehouse holds for a county before this period (current versions)."""

    prev_period: str | None = None
    prev_indicators: pd.DataFrame | None = None  # long: branch_code, indicator_key, value
    earlier_ledger: pd.DataFrame | None = None  # ledger facts of earlier periods
    extra: dict[str, Any] = field(default_factory=dict)
