"""Derivation: ratings, stars, indicator scores, changes, tallies and branch points,
recomputed from the current facts for every (county, year) the derive queue names.

In: the warehouse Engine (its `derive_queue`, filled by loads or by a rulebook change,
and the current facts) and the Rulebook. Out: for each batch of counties that share one
`DerivePlan`, their derived rows of every queued year (and of the following year when
that has data: its changes compare with the corrected year), written in ONE transaction
with the removal of their queue entries. A crash leaves the queue in place, so the next
call finishes the work; deriving twice changes nothing. Where the batches run (this
process or beside it) is the pipeline's choice (fivestar.pipeline.derive_stage).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy.engine import Engine

from fivestar import score, tally
from fivestar.config import Rulebook
from fivestar.star_changes import compute_changes
from fivestar.warehouse import tables
from fivestar.warehouse.derived import (
    DerivePlan,
    derive_plans,
    queue_all_if_rulebook_changed,
    read_queue,
    replace_derived,
    stored_ratings,
    table_frame,
)
from fivestar.warehouse.engine import make_engine
from fivestar.warehouse.facts import current_facts
from fivestar.warehouse.load import year_of
from fivestar.warehouse.retry import with_retry

# Counties derived in one pass: bounds memory (a county's facts are ~10k ledger rows a
# month), and small enough that two processes sharing the batches end close together
# (a batch of 10 counties takes ~1 s at province scale).
BATCH_COUNTIES = 10


@dataclass(frozen=True)
class DeriveBatch:
    """Counties computed together: they share one plan (same accepted months and years)."""

    plan: DerivePlan
    counties: tuple[str, ...]

    def pairs(self) -> list[tuple[str, int]]:
        return [(c, y) for c in self.counties for y in self.plan.years]


def versions_by_period(roster: pd.DataFrame) -> dict[tuple[str, str], int]:
    """(county, period) → the version of the current roster."""
    if roster.empty:
        return {}
    pv = roster[["county_code", "period", "version"]].drop_duplicates(["county_code", "period"], keep="last")
    return {
        (str(c), str(p)): int(v)
        for c, p, v in zip(pv["county_code"], pv["period"], pv["version"], strict=True)
    }


def source_versions(ratings: pd.DataFrame, versions: dict[tuple[str, str], int]) -> pd.Series:
    """'YYYY-MM:v,...' of every month of the year up to each rating's as-of month."""
    cache: dict[tuple[str, str], str] = {}
    ordered = sorted(versions.items())

    def text_for(county: str, as_of: str) -> str:
        key = (county, as_of)
        if key not in cache:
            year = as_of[:4]
            cache[key] = ",".join(
                f"{p}:{v}" for (c, p), v in ordered if c == county and p[:4] == year and p <= as_of
            )
        return cache[key]

    return pd.Series(
        [
            text_for(c, a)
            for c, a in zip(
                ratings["county_code"].astype(str), ratings["as_of_period"].astype(str), strict=True
            )
        ],
        index=ratings.index,
        dtype=object,
    )


def compute_counties(
    rb: Rulebook,
    county: str | list[str],
    facts: dict[str, pd.DataFrame],
    years: Iterable[int],
    run_id: str | None,
    stored: dict[int, tuple[pd.DataFrame, pd.DataFrame]] | None = None,
) -> dict[str, list[pd.DataFrame]]:
    """Pure part: derived frames of one county (or of several at once) for `years`.

    Several counties are computed in one pass (every step works per branch, and branch
    codes belong to one county); they must share their accepted months, so that each
    year's as-of months are the same for all of them.
    `stored`: (ratings, stars) of years before `years` as the warehouse holds them, used
    as the comparison basis of compute_changes instead of recomputing a whole year.
    """
    counties = [county] if isinstance(county, str) else list(county)
    roster, indicators = facts["roster"], facts["indicators"]
    ledger, vetoes = facts["ledger"], facts["vetoes"]
    years_with_data = {year_of(p) for p in roster["period"].unique()}
    ledger_counted = tally.mark_counted(rb, ledger)
    versions = versions_by_period(roster)
    owner = branch_owner(facts)

    def with_county(df: pd.DataFrame) -> pd.DataFrame:
        if len(counties) == 1:
            return df.assign(county_code=counties[0])
        return df.assign(county_code=df["branch_code"].map(owner))

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
        changes = compute_changes(
            rb,
            pd.concat([*prev_stars, r.stars], ignore_index=True),
            pd.concat([*prev_ratings, r.ratings], ignore_index=True),
            year,
        )
        ratings = with_county(r.ratings)
        keys = zip(ratings["county_code"].astype(str), ratings["as_of_period"].astype(str), strict=True)
        ratings["as_of_version"] = [versions.get(k) for k in keys]
        ratings["source_versions"] = source_versions(ratings, versions)
        out["branch_rating"].append(
            table_frame(ratings, "branch_rating", rulebook_hash=rb.hash, run_id=run_id)
        )
        out["branch_star"].append(table_frame(with_county(r.stars), "branch_star"))
        out["branch_indicator_score"].append(
            table_frame(with_county(r.indicator_scores), "branch_indicator_score")
        )
        out["branch_change"].append(table_frame(with_county(changes), "branch_change"))

    # Tallies carry over across years: recompute all months of the county.
    tally_df = tally.tally(rb, ledger_counted)
    out["points_tally"].append(table_frame(with_county(tally_df), "points_tally"))
    if not roster.empty or not tally_df.empty:
        bp = tally.branch_points(tally_df, roster)
        out["branch_points"].append(table_frame(with_county(bp), "branch_points"))
    return out


def branch_owner(facts: dict[str, pd.DataFrame], *more: pd.DataFrame) -> pd.Series | None:
    """branch_code → county_code over the frames; None when a branch has two counties."""
    parts = [f[["branch_code", "county_code"]] for f in (*facts.values(), *more) if f is not None and len(f)]
    parts = [p for p in parts if "county_code" in p.columns]
    if not parts:
        return pd.Series(dtype=object)
    pairs = pd.concat(parts, ignore_index=True).drop_duplicates()
    if pairs["branch_code"].duplicated().any():
        return None
    return pairs.set_index("branch_code")["county_code"]


def derive_counties(
    engine: Engine, rb: Rulebook, counties: list[str], plan: DerivePlan, run_id: str | None
) -> None:
    """Recompute counties that share one plan, in one pass and ONE transaction."""
    facts = current_facts(engine, county_codes=counties, lean=True)
    stored = with_retry(lambda: stored_ratings(engine, counties, list(plan.before)))
    if len(counties) > 1:
        more = [f for pair in stored.values() for f in pair if "county_code" in f.columns]
        if branch_owner(facts, *more) is None:  # a branch code under two counties: one at a time
            for c in counties:
                derive_counties(engine, rb, [c], plan, run_id)
            return
    frames = compute_counties(rb, counties, facts, plan.years, run_id, stored)

    def tx() -> None:
        with engine.begin() as conn:
            replace_derived(conn, counties, list(plan.years), list(plan.queued), frames)

    with_retry(tx)


def derive_county(
    engine: Engine, rb: Rulebook, county: str, queued: list[int], run_id: str | None = None
) -> list[int]:
    """Recompute one county's derived rows for `queued` years (+ following years with data)."""
    plan = with_retry(lambda: derive_plans(engine, {county: queued}))[county]
    derive_counties(engine, rb, [county], plan, run_id)
    return list(plan.years)


def plan_batches(
    engine: Engine, rb: Rulebook, *, only: Collection[str] | None = None, skip: Collection[str] = ()
) -> list[DeriveBatch]:
    """The queued work in batches (a rulebook change queues everything first).

    Counties with the same plan (accepted months, years to redo, stored years to compare
    with; in a nightly run, all of them) are computed together: every step is per
    branch, and one pass over many counties costs far less than one per county.
    `only`: just these counties' entries; `skip`: leave these counties' entries queued
    (they are being derived elsewhere).
    """
    with_retry(lambda: queue_all_if_rulebook_changed(engine, rb.hash))
    queue = with_retry(lambda: read_queue(engine))
    wanted = None if only is None else set(only)
    queue = {c: ys for c, ys in queue.items() if c not in skip and (wanted is None or c in wanted)}
    if not queue:
        return []
    plans = with_retry(lambda: derive_plans(engine, queue))
    groups: dict[DerivePlan, list[str]] = {}
    for county in queue:
        groups.setdefault(plans[county], []).append(county)
    return [
        DeriveBatch(plan, tuple(counties[i : i + BATCH_COUNTIES]))
        for plan, counties in groups.items()
        for i in range(0, len(counties), BATCH_COUNTIES)
    ]


def derive_batch(
    engine: Engine, rb: Rulebook, batch: DeriveBatch, run_id: str | None
) -> list[tuple[str, int]]:
    derive_counties(engine, rb, list(batch.counties), batch.plan, run_id)
    return batch.pairs()


def derive_pending(
    engine: Engine,
    rb: Rulebook,
    run_id: str | None = None,
    *,
    only: Collection[str] | None = None,
    skip: Collection[str] = (),
) -> list[tuple[str, int]]:
    """Work off derive_queue here, batch after batch; the (county_code, year) pairs recomputed."""
    return [
        pair
        for b in plan_batches(engine, rb, only=only, skip=skip)
        for pair in derive_batch(engine, rb, b, run_id)
    ]


@contextmanager
def _own_engine(url: str) -> Iterator[Engine]:
    engine = make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


# For another process (picklable arguments: the warehouse URL, not an Engine).
def derive_batch_at(url: str, rb: Rulebook, batch: DeriveBatch, run_id: str | None) -> list[tuple[str, int]]:
    """One batch, on its own engine."""
    with _own_engine(url) as engine:
        return derive_batch(engine, rb, batch, run_id)


def derive_counties_at(
    url: str, rb: Rulebook, counties: list[str], run_id: str | None
) -> list[tuple[str, int]]:
    """These counties' queued work, on its own engine (derivation ahead of the final pass)."""
    with _own_engine(url) as engine:
        return derive_pending(engine, rb, run_id, only=counties)
