"""The derived tables and the derive queue: what to recompute, and replacing the rows.

In: the warehouse Engine (or a Connection inside a transaction), county codes, years
and derived frames computed elsewhere (fivestar.derive). Out: the queue as
{county: [years]}, a `DerivePlan` per county (years to redo, stored years to compare
with), stored ratings/stars of earlier years, and derived rows replaced in one
transaction together with the removal of their queue entries. Nothing here computes a
rating: storage only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import bindparam, text
from sqlalchemy.engine import Connection, Engine

from fivestar.status import ACCEPTED_STATUSES_SQL
from fivestar.warehouse import tables
from fivestar.warehouse.bulk import insert_frame
from fivestar.warehouse.load import enqueue, year_of
from fivestar.warehouse.periods import closed_county_months
from fivestar.warehouse.schema import get_meta, set_meta

log = logging.getLogger(__name__)


def queue_all_if_rulebook_changed(engine: Engine, rulebook_hash: str) -> bool:
    """Queue every (county, year) with data when the rulebook hash changed; True if so."""
    with engine.begin() as conn:
        before = get_meta(conn, "rulebook_hash")
        if before == rulebook_hash:
            return False
        periods = conn.execute(
            text(
                f"SELECT DISTINCT county_code, period FROM submission WHERE status IN {ACCEPTED_STATUSES_SQL}"
            )
        ).all()
        # Also years that only have stale derived rows (their data may be gone).
        derived = conn.execute(text("SELECT DISTINCT county_code, year FROM branch_rating")).all()
        pairs = {(c, year_of(p)) for c, p in periods} | {(c, int(y)) for c, y in derived}
        enqueue(conn, pairs)
        # Same transaction as the queue entries: if we crash later, the queue remembers.
        set_meta(conn, "rulebook_hash", rulebook_hash)
        if before is not None and pairs:  # a first run or an empty warehouse has nothing to redo
            log.info("rulebook changed: %d (county, year) pairs queued for derivation", len(pairs))
        return True


def read_queue(engine: Engine) -> dict[str, list[int]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT county_code, year FROM derive_queue ORDER BY county_code, year")
        ).all()
    out: dict[str, list[int]] = {}
    for county, year in rows:
        out.setdefault(str(county), []).append(int(year))
    return out


def table_frame(df: pd.DataFrame, table: str, **extra: Any) -> pd.DataFrame:
    """The table's columns of a derived frame, with constant columns added."""
    df = df.reset_index(drop=True).copy()
    for k, v in extra.items():
        df[k] = v
    return df[[c for c in tables.DERIVED[table] if c in df.columns]]


def replace_derived(
    conn: Connection,
    county: str | list[str],
    years: list[int],
    queued: list[int],
    frames: dict[str, list[pd.DataFrame]],
) -> None:
    """Replace the counties' derived rows of `years` (tallies: of every period) with `frames`,
    and drop their queue entries of `queued`. Rows of a closed county-month are kept as
    they are and its recomputed rows dropped: closed ratings never change (issue 16)."""
    counties = [county] if isinstance(county, str) else list(county)
    cs = bindparam("cs", expanding=True)
    ys = bindparam("years", expanding=True)
    ks = bindparam("keep", expanding=True)
    frozen = sorted(f"{c}:{p}" for p, c in closed_county_months(conn) if c in set(counties))
    keep = frozen or ["-"]  # an empty IN list is not portable
    by_year = {"cs": counties, "years": years, "keep": keep}
    for table in tables.DERIVED_BY_YEAR:
        conn.execute(
            text(
                f"DELETE FROM {table} WHERE county_code IN :cs AND year IN :years "
                "AND (county_code || ':' || as_of_period) NOT IN :keep"
            ).bindparams(cs, ys, ks),
            by_year,
        )
    for table in tables.DERIVED_BY_COUNTY:
        conn.execute(
            text(
                f"DELETE FROM {table} WHERE county_code IN :cs AND (county_code || ':' || period) NOT IN :keep"
            ).bindparams(cs, ks),
            {"cs": counties, "keep": keep},
        )
    for table, parts in frames.items():
        parts = [df for df in parts if len(df)]
        if parts and frozen:
            col = "as_of_period" if table in tables.DERIVED_BY_YEAR else "period"
            parts = [
                df[~(df["county_code"].astype(str) + ":" + df[col].astype(str)).isin(frozen)] for df in parts
            ]
            parts = [df for df in parts if len(df)]
        if parts:
            insert_frame(conn, table, pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0])
    conn.execute(
        text("DELETE FROM derive_queue WHERE county_code IN :cs AND year IN :years").bindparams(cs, ys),
        {"cs": counties, "years": queued},
    )


def stored_ratings(
    engine: Engine, county: str | list[str], years: list[int]
) -> dict[int, tuple[pd.DataFrame, pd.DataFrame]]:
    """(ratings, stars) of `years` as stored, in the shapes compute_changes reads."""
    counties = [county] if isinstance(county, str) else list(county)
    out: dict[int, tuple[pd.DataFrame, pd.DataFrame]] = {}
    if not years or not counties:
        return out
    cs = bindparam("cs", expanding=True)
    with engine.connect() as conn:
        for year in years:
            params = {"cs": counties, "y": int(year)}
            ratings = pd.read_sql(
                text(
                    "SELECT year, as_of_period, county_code, branch_code, branch_type, months_accepted, "
                    "is_final, is_latest, star_level FROM branch_rating WHERE county_code IN :cs AND year = :y"
                ).bindparams(cs),
                conn,
                params=params,
            )
            stars = pd.read_sql(
                text(
                    "SELECT year, as_of_period, branch_code, star_code, star_name, indicator_score, "
                    "points_score, total_score, awarded, vetoed, gate_failed, reason "
                    "FROM branch_star WHERE county_code IN :cs AND year = :y"
                ).bindparams(cs),
                conn,
                params=params,
            )
            for c in ("is_final", "is_latest"):
                ratings[c] = ratings[c].astype(bool)
            ratings["star_level"] = ratings["star_level"].astype(int)
            for c in ("awarded", "vetoed", "gate_failed"):
                stars[c] = stars[c].astype(bool)
            if not ratings.empty:
                out[int(year)] = (ratings, stars)
    return out


@dataclass(frozen=True)
class DerivePlan:
    """What to recompute for one county: the years, and the stored years compared with."""

    periods: tuple[str, ...]  # months with a current roster (any year)
    years: tuple[int, ...]
    queued: tuple[int, ...]
    before: tuple[int, ...]  # years read as stored (only those that have stored ratings)


def derive_plans(engine: Engine, queue: dict[str, list[int]]) -> dict[str, DerivePlan]:
    counties = sorted(queue)
    cs = bindparam("cs", expanding=True)
    periods: dict[str, set[str]] = {c: set() for c in counties}
    stored: set[tuple[str, int]] = set()
    with engine.connect() as conn:
        for c, p in conn.execute(
            text(
                "SELECT DISTINCT f.county_code, f.period FROM roster f JOIN submission s "
                "ON s.county_code = f.county_code AND s.period = f.period AND s.version = f.version "
                f"WHERE s.status IN {ACCEPTED_STATUSES_SQL} AND f.county_code IN :cs"
            ).bindparams(cs),
            {"cs": counties},
        ):
            periods[str(c)].add(str(p))
        for c, y in conn.execute(
            text("SELECT DISTINCT county_code, year FROM branch_rating WHERE county_code IN :cs").bindparams(
                cs
            ),
            {"cs": counties},
        ):
            stored.add((str(c), int(y)))
    out = {}
    for county, queued in queue.items():
        with_data = {year_of(p) for p in periods[county]}
        years = sorted(set(queued) | {y + 1 for y in queued if y + 1 in with_data})
        before = [y - 1 for y in years if y - 1 not in years and y - 1 in with_data]
        out[county] = DerivePlan(
            tuple(sorted(periods[county])),
            tuple(years),
            tuple(sorted(set(queued))),
            tuple(y for y in before if (county, y) in stored),
        )
    return out
