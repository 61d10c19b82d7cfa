"""The run summary: per county-month processed, its status, counts and star levels.

In: the warehouse engine and the versions a run processed. Out: a DataFrame for
the CLI table and the run record (levels are the county's year-to-date rating
as of that month, from the derived branch_rating table).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import text
from sqlalchemy.engine import Engine

LEVEL_COLUMNS = ["5★", "4★", "3★", "2★", "1★", "0★"]


def level_counts(engine: Engine) -> pd.DataFrame:
    # Every as-of month is kept in branch_rating, so an earlier month shows its own provisional levels.
    sql = text(
        "SELECT county_code, as_of_period, star_level, COUNT(*) AS n FROM branch_rating "
        "GROUP BY county_code, as_of_period, star_level"
    )
    with engine.connect() as conn:
        return pd.read_sql(sql, conn)


def build_summary(engine: Engine, processed: list[dict[str, Any]]) -> pd.DataFrame:
    cols = [
        "county_code",
        "period",
        "version",
        "status",
        "errors",
        "warnings",
        "error",
        *LEVEL_COLUMNS,
        "feedback",
    ]
    if not processed:
        return pd.DataFrame(columns=cols)
    df = pd.DataFrame(processed)
    # A file and its correction loaded in one run: show what the warehouse says now (superseded).
    with engine.connect() as conn:
        final = pd.read_sql(text("SELECT county_code, period, version, status FROM submission"), conn)
    now = {(c, p, int(v)): s for c, p, v, s in final.itertuples(index=False)}
    df["status"] = [
        now.get((c, p, int(v)), s)
        for c, p, v, s in zip(df["county_code"], df["period"], df["version"], df["status"], strict=True)
    ]
    levels = level_counts(engine)
    for i, lv in enumerate(range(5, -1, -1)):
        hit = levels[levels["star_level"] == lv].set_index(["county_code", "as_of_period"])["n"]
        df[LEVEL_COLUMNS[i]] = [
            int(hit.get((c, p), 0)) if s in ("accepted", "accepted_with_warnings") else None
            for c, p, s in zip(df["county_code"], df["period"], df["status"], strict=True)
        ]
    return df.reindex(columns=cols)
