"""Derived rows: ratings, stars, indicator scores, changes, tallies, branch points.

In: the `derive_queue` (county_code, year) filled by load_version (or by a rulebook
change: meta.rulebook_hash differs from rb.hash, then every (county, year) with data is
queued), the current facts of each queued county and the Rulebook.
Out: for each queued county, in ONE transaction (shared with the other counties of its
batch: counties with the same accepted months and years to redo are computed together,
up to BATCH_COUNTIES at a time, since every step works per branch): its branch_rating / branch_star /
branch_indicator_score / branch_change rows of every queued year and of the following
year when that has data (its changes compare against the corrected year), all its
points_tally / branch_points rows, and the removal of its queue entries. A crash leaves
the queue in place, so the next call finishes the work; deriving twice changes nothing.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import bindparam, text
from sqlalchemy.engine import Connection, Engine

from fivestar.config import Rulebook
from fivestar.status import ACCEPTED_STATUSES_SQL
from fivestar.warehouse import tables
from fivestar.warehouse.bulk import insert_frame
from fivestar.warehouse.facts import current_facts
from fivestar.warehouse.load import enqueue, year_of
from fivestar.warehouse.retry import with_retry
from fivestar.warehouse.schema import get_meta, set_meta

log = logging.getLogger(__name__)


def _enqueue_if_rulebook_changed(engine: Engine, rb: Rulebook) -> bool:
    """Queue every (county, year) with data when the rulebook hash changed; True if so."""
    with engine.begin() as conn:
        if get_meta(conn, "rulebook_hash") == rb.hash:
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


def _versions_by_period(roster: pd.DataFrame) -> dict[tuple[str, str], int]:
    """(county, period) → the version of the current roster."""
    if roster.empty:
        return {}
    pv = roster[["county_code", "period", "version"]].drop_duplicates(["county_code", "period"], keep="last")
    return {
        (str(c), str(p)): int(v)
        for c, p, v in zip(pv["county_code"], pv["period"], pv["version"], strict=True)
    }


def _source_versions(ratings: pd.DataFrame, versions: dict[tuple[str, str], int]) -> pd.Series:
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


def _compute_county(
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
    # Imported here so that `fivestar.warehouse` loads without the scoring stack.
    from fivestar import score, tally

    counties = [county] if isinstance(county, str) else list(county)
    roster, indicators = facts["roster"], facts["indicators"]
    ledger, vetoes = facts["ledger"], facts["vetoes"]
    years_with_data = {year_of(p) for p in roster["period"].unique()}
    ledger_counted = tally.mark_counted(rb, ledger)
    versions = _versions_by_period(roster)
    owner = _branch_owner(facts)

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
        changes = score.compute_changes(
            rb,
            pd.concat([*prev_stars, r.stars], ignore_index=True),
            pd.concat([*prev_ratings, r.ratings], ignore_index=True),
            year,
        )
        ratings = with_county(r.ratings)
        keys = zip(ratings["county_code"].astype(str), ratings["as_of_period"].astype(str), strict=True)
        ratings["as_of_version"] = [versions.get(k) for k in keys]
        ratings["source_versions"] = _source_versions(ratings, versions)
        out["branch_rating"].append(_pick(ratings, "branch_rating", rulebook_hash=rb.hash, run_id=run_id))
        out["branch_star"].append(_pick(with_county(r.stars), "branch_star"))
        out["branch_indicator_score"].append(_pick(with_county(r.indicator_scores), "branch_indicator_score"))
        out["branch_change"].append(_pick(with_county(changes), "branch_change"))

    # Tallies carry over across years: recompute all months of the county.
    tally_df = tally.tally(rb, ledger_counted)
    out["points_tally"].append(_pick(with_county(tally_df), "points_tally"))
    if not roster.empty or not tally_df.empty:
        bp = tally.branch_points(tally_df, roster)
        out["branch_points"].append(_pick(with_county(bp), "branch_points"))
    return out


def _branch_owner(facts: dict[str, pd.DataFrame], *more: pd.DataFrame) -> pd.Series | None:
    """branch_code → county_code over the frames; None when a branch has two counties."""
    parts = [f[["branch_code", "county_code"]] for f in (*facts.values(), *more) if f is not None and len(f)]
    parts = [p for p in parts if "county_code" in p.columns]
    if not parts:
        return pd.Series(dtype=object)
    pairs = pd.concat(parts, ignore_index=True).drop_duplicates()
    if pairs["branch_code"].duplicated().any():
        return None
    return pairs.set_index("branch_code")["county_code"]


def _replace_county(
    conn: Connection,
    county: str | list[str],
    years: list[int],
    queued: list[int],
    frames: dict[str, list[pd.DataFrame]],
) -> None:
    counties = [county] if isinstance(county, str) else list(county)
    cs = bindparam("cs", expanding=True)
    ys = bindparam("years", expanding=True)
    by_year = {"cs": counties, "years": years}
    for table in tables.DERIVED_BY_YEAR:
        conn.execute(
            text(f"DELETE FROM {table} WHERE county_code IN :cs AND year IN :years").bindparams(cs, ys),
            by_year,
        )
    for table in tables.DERIVED_BY_COUNTY:
        conn.execute(text(f"DELETE FROM {table} WHERE county_code IN :cs").bindparams(cs), {"cs": counties})
    for table, parts in frames.items():
        parts = [df for df in parts if len(df)]
        if parts:
            insert_frame(conn, table, pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0])
    conn.execute(
        text("DELETE FROM derive_queue WHERE county_code IN :cs AND year IN :years").bindparams(cs, ys),
        {"cs": counties, "years": queued},
    )


def _stored_ratings(
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
class _Plan:
    """What to recompute for one county: the years, and the stored years compared with."""

    periods: tuple[str, ...]  # months with a current roster (any year)
    years: tuple[int, ...]
    queued: tuple[int, ...]
    before: tuple[int, ...]  # years read as stored (only those that have stored ratings)


def _plans(engine: Engine, queue: dict[str, list[int]]) -> dict[str, _Plan]:
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
        out[county] = _Plan(
            tuple(sorted(periods[county])),
            tuple(years),
            tuple(sorted(set(queued))),
            tuple(y for y in before if (county, y) in stored),
        )
    return out


def _derive_counties(
    engine: Engine, rb: Rulebook, counties: list[str], plan: _Plan, run_id: str | None
) -> None:
    """Recompute counties that share one plan, in one pass and ONE transaction."""
    facts = current_facts(engine, county_codes=counties, lean=True)
    stored = with_retry(lambda: _stored_ratings(engine, counties, list(plan.before)))
    if len(counties) > 1:
        more = [f for pair in stored.values() for f in pair if "county_code" in f.columns]
        if _branch_owner(facts, *more) is None:  # a branch code under two counties: one at a time
            for c in counties:
                _derive_counties(engine, rb, [c], plan, run_id)
            return
    frames = _compute_county(rb, counties, facts, plan.years, run_id, stored)

    def tx() -> None:
        with engine.begin() as conn:
            _replace_county(conn, counties, list(plan.years), list(plan.queued), frames)

    with_retry(tx)


def derive_county(
    engine: Engine, rb: Rulebook, county: str, queued: list[int], run_id: str | None = None
) -> list[int]:
    """Recompute one county's derived rows for `queued` years (+ following years with data)."""
    plan = with_retry(lambda: _plans(engine, {county: queued}))[county]
    _derive_counties(engine, rb, [county], plan, run_id)
    return list(plan.years)


# Counties derived in one pass: bounds memory (a county's facts are ~10k ledger rows a
# month), and small enough that the two processes sharing the batches end close together
# (a batch of 10 counties takes ~1 s at province scale).
BATCH_COUNTIES = 10


@contextmanager
def _own_engine(url: str) -> Iterator[Engine]:
    """The helper process's own engine on the same warehouse, disposed after its job."""
    from fivestar.warehouse.engine import make_engine

    engine = make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


def derive_batch(url: str, rb: Rulebook, counties: list[str], plan: _Plan, run_id: str | None) -> None:
    """One batch of the final pass, in the helper process."""
    with _own_engine(url) as engine:
        _derive_counties(engine, rb, counties, plan, run_id)


def derive_loaded(url: str, rb: Rulebook, counties: list[str], run_id: str | None) -> list[tuple[str, int]]:
    """In the helper process, while the flow still loads others: derive these counties now."""
    with _own_engine(url) as engine:
        return derive_pending(engine, rb, run_id, only=counties, share=False)


def _shared(engine: Engine, rb: Rulebook, run_id: str | None, batches: list[tuple[_Plan, list[str]]]) -> None:
    """This process and the helper take batches from one queue until it is empty.

    Two cores: the work is pandas, bound by the GIL, so threads would not help. A thread
    here only feeds the helper one batch at a time, so whichever side is faster takes
    more and both finish within about one batch of each other. Each batch is its own
    transaction over its own counties: the outcome does not depend on who computes which.
    """
    from fivestar import helper

    url = engine.url.render_as_string(hide_password=False)
    todo = deque(batches)
    failed: list[BaseException] = []

    def take() -> tuple[_Plan, list[str]] | None:
        try:
            return todo.popleft()  # atomic: the two sides never take the same batch
        except IndexError:
            return None

    def feed() -> None:
        try:
            while (b := take()) is not None:
                helper.submit(derive_batch, url, rb, b[1], b[0], run_id).result()
        except BaseException as exc:  # re-raised below, in the caller's thread
            failed.append(exc)

    feeder = threading.Thread(target=feed, name="derive-helper-feed", daemon=True)
    feeder.start()
    try:
        while (b := take()) is not None:
            _derive_counties(engine, rb, b[1], b[0], run_id)
    finally:
        todo.clear()  # after an error here, the helper stops after its current batch
        feeder.join()
    if failed:
        raise failed[0]


def derive_pending(
    engine: Engine,
    rb: Rulebook,
    run_id: str | None = None,
    *,
    only: Collection[str] | None = None,
    skip: Collection[str] = (),
    share: bool = True,
) -> list[tuple[str, int]]:
    """Work off derive_queue; returns the (county_code, year) pairs recomputed.

    Counties with the same plan (accepted months, years to redo, stored years to compare
    with; in a nightly run, all of them) are computed together in batches: every step
    is per branch, and one pass over many counties costs far less than one per county.
    `only`: just these counties' entries; `skip`: leave these counties' entries queued
    (the helper is deriving them). `share`: on PostgreSQL, let the helper process take
    batches too (SQLite has one writer, so there everything runs here).
    """
    with_retry(lambda: _enqueue_if_rulebook_changed(engine, rb))
    queue = with_retry(lambda: _read_queue(engine))
    wanted = None if only is None else set(only)
    queue = {c: ys for c, ys in queue.items() if c not in skip and (wanted is None or c in wanted)}
    if not queue:
        return []
    plans = with_retry(lambda: _plans(engine, queue))
    groups: dict[_Plan, list[str]] = {}
    for county in queue:
        groups.setdefault(plans[county], []).append(county)
    batches = [
        (plan, counties[i : i + BATCH_COUNTIES])
        for plan, counties in groups.items()
        for i in range(0, len(counties), BATCH_COUNTIES)
    ]
    if share and len(batches) > 1 and engine.dialect.name == "postgresql":
        _shared(engine, rb, run_id, batches)
    else:
        for plan, c in batches:
            _derive_counties(engine, rb, c, plan, run_id)
    return [(county, y) for county in queue for y in plans[county].years]
