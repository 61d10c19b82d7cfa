"""The warehouse's copy of the registry (config/registry.csv → registry_region).

In: an Engine and the Registry (or its regions frame). Out: registry_region replaced in
one transaction (blank parent, branch type and township stored as NULL); the row count.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import text
from sqlalchemy.engine import Engine

from fivestar.warehouse import tables
from fivestar.warehouse.bulk import insert_frame
from fivestar.warehouse.retry import retrying


@retrying
def sync_registry(engine: Engine, registry: Any) -> int:
    """Replace registry_region with registry.regions (config/registry.csv); returns rows."""
    regions = registry.regions if hasattr(registry, "regions") else registry
    df = pd.DataFrame({c: regions.get(c) for c in tables.REGISTRY_REGION})
    for c in ("parent_code", "branch_type", "township"):
        df[c] = df[c].astype(object).where(df[c].notna() & (df[c].astype(str).str.strip() != ""), None)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM registry_region"))
        return insert_frame(conn, "registry_region", df)
