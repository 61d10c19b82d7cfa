"""Derived rows: ratings, stars, indicator scores, changes, tallies, branch points.

In: the `derive_queue` (county_code, year) filled by load_version (or by a rulebook
change: meta.rulebook_hash differs from rb.hash, then every (county, year) with data is
queued), the current facts of each queued county and the Rulebook.
Out: for each queued county, in ONE transaction: its branch_rating / branch_star /
branch_indicator_score / branch_change rows of every queued year and of the following
year when that has data (its changes compare against the corrected year), all its
points_tally / branch_points rows, and the removal of its queue entries. A crash leaves
the queue in place, so the next call finishes the work; deriving twice changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import pandas as pd
from sqlalchemy import bindparam, text
from sqlalchemy.engine import Connection, Engine

from fivestar.config import Rulebook
from fivestar.warehouse import tables
from fivestar.warehouse.bulk import insert_frame
from fivestar.warehouse.load import _CURRENT_SQL, current_facts, enqueue, year_of
from fivestar.warehouse.retry import with_retry
from fivestar.warehouse.schema import get_meta, set_meta

log = logging.getLogger(__name__)


def _enqueue_if_rulebook_changed(engine: Engine, rb: Rulebook) -> bool:
    """Queue every (county, year) with data when the rulebook hash changed; True if so."""
    with engine.begin() as conn:
        if get_meta(conn, "rulebook_hash") == rb.hash:
            return False
        periods = conn.execute(
            text(f"SELECT DISTINCT county_code, period FROM submission WHERE status IN {_CURRENT_SQL}")
        ).all()
        # Also years that only have stale derived rows (their data may be gone).
        derived = conn.execute(text("SELECT DISTINCT county_code, year FROM branch_rating")).all()
        pairs = {(c, year_of(p)) for c, p in periods} | {(c, int(y)) for c, y in derived}
        enqueue(conn, pairs)
        # Same transaction as the queue entries: if we crash later, the queue remembers.
        set_meta(conn, "rulebook_hash", rb.hash)
        log.info("rulebook changed: %d (county, year) pairs queued for derivation", len(pairs))
        return True


def _read_queue(engine: Engine) -> dict[str, list[int]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT county_code, year FROM derive_queue ORDER BY county_code, year")
        ).all()
    out: dict[str, list[int]] = {}
    for county, year in rows:
        out.setdefault(str(county), []).append(int(year))
    return out


def _pick(df: pd.DataFrame, table: str, **extra: Any) -> pd.DataFrame:
    """The table's columns of a derived frame, with constant columns added."""
    df = df.reset_index(drop=True).copy()
    for k, v in extra.items():
        df[k] = v
    return df[[c for c in tables.DERIVED[table] if c in df.columns]]


def _versions_by_period(roster: pd.DataFrame) -> dict[str, int]:
    if roster.empty:
        return {}
    pv = roster[["period", "version"]].drop_duplicates("period", keep="last")
    return {str(p): int(v) for p, v in zip(pv["period"], pv["version"], strict=True)}


def _source_versions(ratings: pd.DataFrame, versions: dict[str, int]) -> pd.Series:
    """'YYYY-MM:v,...' of every month of the year up to each rating's as-of month."""
    cache: dict[str, str] = {}

    def text_for(as_of: str) -> str:
        if as_of not in cache:
            year = as_of[:4]
            cache[as_of] = ",".join(
                f"{p}:{v}" for p, v in sorted(versions.items()) if p[:4] == year and p <= as_of
            )
        return cache[as_of]

    return ratings["as_of_period"].astype(str).map(text_for)


def _compute_county(
    rb: Rulebook,
    county: str,
    facts: dict[str, pd.DataFrame],
    years: Iterable[int],
    run_id: str | None,
    stored: dict[int, tuple[pd.DataFrame, pd.DataFrame]] | None = None,
) -> dict[str, list[pd.DataFrame]]:
    """Pure part: derived frames of one county for `years` (those with data).

    `stored`: (ratings, stars) of years before `years` as the warehouse holds them, used
    as the comparison basis of compute_changes instead of recomputing a whole year.
    """
    # Imported here so that `fivestar.warehouse` loads without the scoring stack.
    from fivestar import score, tally

    roster, indicators = facts["roster"], facts["indicators"]
    ledger, vetoes = facts["ledger"], facts["vetoes"]
    years_with_data = {year_of(p) for p in roster["period"].unique()}
    ledger_counted = tally.mark_counted(rb, ledger)
    versions = _versions_by_period(roster)

    rated: dict[int, Any] = {}

    def rate(year: int) -> Any:
        if year not in rated:
            rated[year] = (
                score.rate_county_year(rb, roster, indicators, ledger_counted, vetoes, year)
                if year in years_with_data
                else None
            )
        return rated[year]

    years = sorted(years)
    out: dict[str, list[pd.DataFrame]] = {t: [] for t in tables.DERIVED}
    for year in years:
        r = rate(year)
        if r is None or r.ratings.empty:
            continue
        # Changes compare with the year before: freshly rated when it is part of this
        # batch, else as stored (the queue keeps stored years consistent with the facts
        # and the rulebook, and reading them is far cheaper than rating 12 months again).
        if year - 1 in years or not stored or year - 1 not in stored:
            prev = rate(year - 1)
            prev_ratings = [] if prev is None else [prev.ratings]
            prev_stars = [] if prev is None else [prev.stars]
        else:
            prev_ratings, prev_stars = [stored[year - 1][0]], [stored[year - 1][1]]
        prev_ratings = [f for f in prev_ratings if not f.empty]
        prev_stars = [f for f in prev_stars if not f.empty]
        changes = score.compute_changes(
            rb,
            pd.concat([*prev_stars, r.stars], ignore_index=True),
            pd.concat([*prev_ratings, r.ratings], ignore_index=True),
            year,
        )
        ratings = r.ratings.copy()
        ratings["county_code"] = county
        ratings["as_of_version"] = ratings["as_of_period"].astype(str).map(versions)
        ratings["source_versions"] = _source_versions(ratings, versions)
        out["branch_rating"].append(_pick(ratings, "branch_rating", rulebook_hash=rb.hash, run_id=run_id))
        out["branch_star"].append(_pick(r.stars, "branch_star", county_code=county))
        out["branch_indicator_score"].append(
            _pick(r.indicator_scores, "branch_indicator_score", county_code=county)
        )
        out["branch_change"].append(_pick(changes, "branch_change", county_code=county))

    # Tallies carry over across years: recompute all months of the county.
    tally_df = tally.tally(rb, ledger_counted)
    out["points_tally"].append(_pick(tally_df, "points_tally", county_code=county))
    if not roster.empty or not tally_df.empty:
        bp = tally.branch_points(tally_df, roster)
        out["branch_points"].append(_pick(bp, "branch_points", county_code=county))
    return out


def _replace_county(
    conn: Connection,
    county: str,
    years: list[int],
    queued: list[int],
    frames: dict[str, list[pd.DataFrame]],
) -> None:
    by_year = {"c": county, "years": years}
    for table in tables.DERIVED_BY_YEAR:
        conn.execute(
            text(f"DELETE FROM {table} WHERE county_code = :c AND year IN :years").bindparams(
                bindparam("years", expanding=True)
            ),
            by_year,
        )
    for table in tables.DERIVED_BY_COUNTY:
        conn.execute(text(f"DELETE FROM {table} WHERE county_code = :c"), {"c": county})
    for table, parts in frames.items():
        for df in parts:
            insert_frame(conn, table, df)
    conn.execute(
        text("DELETE FROM derive_queue WHERE county_code = :c AND year IN :years").bindparams(
            bindparam("years", expanding=True)
        ),
        {"c": county, "years": queued},
    )


def _stored_ratings(
    engine: Engine, county: str, years: list[int]
) -> dict[int, tuple[pd.DataFrame, pd.DataFrame]]:
    """(ratings, stars) of `years` as stored, in the shapes compute_changes reads."""
    out: dict[int, tuple[pd.DataFrame, pd.DataFrame]] = {}
    if not years:
        return out
    with engine.connect() as conn:
        for year in years:
            params = {"c": county, "y": int(year)}
            ratings = pd.read_sql(
                text(
                    "SELECT year, as_of_period, county_code, branch_code, branch_type, months_accepted, "
                    "is_final, is_latest, star_level FROM branch_rating WHERE county_code = :c AND year = :y"
                ),
                conn,
                params=params,
            )
            stars = pd.read_sql(
                text(
                    "SELECT year, as_of_period, branch_code, star_code, star_name, indicator_score, "
                    "points_score, total_score, awarded, vetoed, gate_failed, reason "
                    "FROM branch_star WHERE county_code = :c AND year = :y"
                ),
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


def derive_county(
    engine: Engine, rb: Rulebook, county: str, queued: list[int], run_id: str | None = None
) -> list[int]:
    """Recompute one county's derived rows for `queued` years (+ following years with data)."""
    facts = current_facts(engine, county)
    years_with_data = {year_of(p) for p in facts["roster"]["period"].unique()}
    years = sorted(set(queued) | {y + 1 for y in queued if y + 1 in years_with_data})
    before = [y - 1 for y in years if y - 1 not in years and y - 1 in years_with_data]
    stored = with_retry(lambda: _stored_ratings(engine, county, before))
    frames = _compute_county(rb, county, facts, years, run_id, stored)

    def tx() -> None:
        with engine.begin() as conn:
            _replace_county(conn, county, years, sorted(set(queued)), frames)

    with_retry(tx)
    return years


def derive_pending(engine: Engine, rb: Rulebook, run_id: str | None = None) -> list[tuple[str, int]]:
    """Work off derive_queue; returns the (county_code, year) pairs recomputed."""
    with_retry(lambda: _enqueue_if_rulebook_changed(engine, rb))
    queue = with_retry(lambda: _read_queue(engine))
    done: list[tuple[str, int]] = []
    for county, queued in queue.items():
        years = derive_county(engine, rb, county, queued, run_id)
        done.extend((county, y) for y in years)
    return done
