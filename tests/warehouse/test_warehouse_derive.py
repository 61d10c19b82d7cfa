"""Deriving ratings and tallies into the warehouse, and the rpt_* views, on both engines.

In: hand-made facts (conftest.TinyProvince: 东村 'best' = five stars, 西村 'worst' =
none, 南社区 'best' but vetoed V01 = four stars), the default rulebook, and for the
area summary hand-written branch_rating rows. Out: checks that derive_pending fills
every rpt_* view, is idempotent and crash-safe, follows corrections into the next year
and a rulebook change, and that rpt_area_summary's numbers are right.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from fivestar.completeness import refresh_completeness
from fivestar.config import Rulebook
from fivestar.deadlines import Deadlines
from fivestar.derive import derive_pending
from fivestar.warehouse import insert_frame, load_version, sync_registry
from fivestar.warehouse.periods import record_period_event
from fivestar.warehouse.views import view_contracts


def _view(engine: Engine, name: str, where: str = "") -> pd.DataFrame:
    with engine.connect() as conn:
        df = pd.read_sql(sa.text(f"SELECT * FROM {name} {where}"), conn)
    return df.sort_values(list(df.columns)).reset_index(drop=True)


def _dump(engine: Engine) -> dict[str, pd.DataFrame]:
    # astype(str): compare values, not the engines' driver types.
    return {v: _view(engine, v).astype(str) for v in view_contracts()}


def _queue(engine: Engine) -> list[tuple[str, int]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT county_code, year FROM derive_queue ORDER BY 1, 2")).all()
    return [(str(c), int(y)) for c, y in rows]


def _load(engine: Engine, tiny, periods, version: int = 1, warnings: int = 0, **facts_kw) -> None:
    for p in periods:
        load_version(
            engine, tiny.sub(p, version), tiny.facts(p, version, **facts_kw), tiny.findings(warnings=warnings)
        )


@pytest.fixture
def loaded(warehouse_engine: Engine, tiny) -> Engine:
    sync_registry(warehouse_engine, tiny.registry())
    _load(warehouse_engine, tiny, ["2026-10", "2026-11"], warnings=1)
    return warehouse_engine


def test_derive_fills_every_view(loaded: Engine, tiny, rulebook) -> None:
    done = derive_pending(loaded, rulebook, run_id="run-1")
    assert done == [(tiny.COUNTY, 2026)]
    assert _queue(loaded) == []
    # Filled by the run's completeness stage and by `fivestar close`, not by derivation.
    now = dt.datetime(2026, 12, 10, tzinfo=dt.UTC)
    refresh_completeness(loaded, Deadlines(), now)
    record_period_event(loaded, period="2026-10", action="close", actor="it", now=now)
    for view in view_contracts():
        assert len(_view(loaded, view)) > 0, view

    rating = _view(loaded, "rpt_branch_rating").set_index("branch_code")
    assert rating["star_level"].to_dict() == {tiny.EAST: 5, tiny.WEST: 0, tiny.SOUTH: 4}
    assert set(rating["as_of_period"]) == {"2026-11"} and set(rating["year"]) == {2026}
    assert not rating["is_final"].astype(bool).any()
    east = rating.loc[tiny.EAST]
    assert (east["branch_name"], east["branch_type"], east["township"]) == ("东村党支部", "村", "城关镇")
    assert (east["county_name"], east["city_code"], east["city_name"]) == ("林州市", tiny.CITY, "安阳市")

    stars = _view(loaded, "rpt_branch_star")
    assert len(stars) == 15  # 3 branches x 5 applicable stars
    pafz = stars[(stars["branch_code"] == tiny.SOUTH) & (stars["star_code"] == "PAFZ")].iloc[0]
    assert bool(pafz["vetoed"]) and not bool(pafz["awarded"]) and "V01" in pafz["reason"]

    summary = _view(loaded, "rpt_area_summary")
    county_all = summary[(summary["area_level"] == "county") & (summary["branch_type"] == "全部")].iloc[0]
    assert (county_all["branches"], county_all["registry_branches"]) == (3, 4)
    assert county_all["three_plus_share"] == pytest.approx(2 / 3)

    tally = _view(loaded, "rpt_points_tally")
    hh = tally[(tally["subject_id"] == "H0001") & (tally["period"] == "2026-11")].iloc[0]
    assert (hh["earned"], hh["redeemed"], hh["cumulative_earned"], hh["balance"]) == (2.0, 1.0, 4.0, 2.0)
    member = tally[(tally["subject_id"] == "DY0001") & (tally["period"] == "2026-10")].iloc[0]
    assert member["earned"] == 2.0  # third DY01 event is beyond the cap of 2

    with loaded.connect() as conn:
        br = pd.read_sql(sa.text("SELECT * FROM branch_rating WHERE as_of_period = '2026-11'"), conn)
        changes = conn.execute(sa.text("SELECT COUNT(*) FROM branch_change")).scalar()
        points = conn.execute(sa.text("SELECT COUNT(*) FROM branch_points")).scalar()
    assert set(br["run_id"]) == {"run-1"} and set(br["rulebook_hash"]) == {rulebook.hash}
    assert set(br["source_versions"]) == {"2026-10:1,2026-11:1"}
    assert changes == 3 and points == 6


def test_deriving_twice_gives_identical_views(loaded: Engine, rulebook) -> None:
    derive_pending(loaded, rulebook, run_id="run-1")
    first = _dump(loaded)
    assert derive_pending(loaded, rulebook, run_id="run-2") == []  # nothing queued
    # Force a full recomputation (as a rulebook edit would) and compare again.
    with loaded.begin() as conn:
        conn.execute(sa.text("UPDATE meta SET value = 'stale' WHERE key = 'rulebook_hash'"))
    assert derive_pending(loaded, rulebook, run_id="run-3")
    second = _dump(loaded)
    for view, df in first.items():
        pd.testing.assert_frame_equal(second[view], df, obj=view)


def test_derive_is_crash_safe(loaded: Engine, tiny, rulebook, monkeypatch) -> None:
    derive_pending(loaded, rulebook)
    before = _dump(loaded)
    # A correction of November: 西村 now 'best'.
    _load(loaded, tiny, ["2026-11"], version=2, quality={tiny.WEST: "best"})
    assert _queue(loaded) == [(tiny.COUNTY, 2026)]

    import fivestar.warehouse.derived as derive_mod

    real = derive_mod.insert_frame

    def crash(conn, table, df):
        if table == "branch_change":
            raise KeyboardInterrupt  # the process is killed mid-transaction
        return real(conn, table, df)

    monkeypatch.setattr(derive_mod, "insert_frame", crash)
    with pytest.raises(KeyboardInterrupt):
        derive_pending(loaded, rulebook)
    # Nothing half-written, and the work is still queued.
    assert _queue(loaded) == [(tiny.COUNTY, 2026)]
    rating = _view(loaded, "rpt_branch_rating").set_index("branch_code")["star_level"]
    assert rating[tiny.WEST] == 0
    pd.testing.assert_frame_equal(_dump(loaded)["rpt_area_summary"], before["rpt_area_summary"])

    monkeypatch.setattr(derive_mod, "insert_frame", real)
    assert derive_pending(loaded, rulebook) == [(tiny.COUNTY, 2026)]
    assert _queue(loaded) == []
    rating = _view(loaded, "rpt_branch_rating").set_index("branch_code")
    assert rating.loc[tiny.WEST, "star_level"] > 0  # October still counts toward the year to date
    assert rating.loc[tiny.WEST, "as_of_version"] == 2


def test_correction_of_december_rederives_next_year(warehouse_engine: Engine, tiny, rulebook) -> None:
    sync_registry(warehouse_engine, tiny.registry())
    _load(warehouse_engine, tiny, ["2025-12", "2026-01"])
    assert derive_pending(warehouse_engine, rulebook) == [(tiny.COUNTY, 2025), (tiny.COUNTY, 2026)]
    final = _view(warehouse_engine, "rpt_branch_rating", "WHERE year = 2025").set_index("branch_code")
    assert final["is_final"].astype(bool).all()

    _load(warehouse_engine, tiny, ["2025-12"], version=2, quality={tiny.WEST: "best"})
    assert _queue(warehouse_engine) == [(tiny.COUNTY, 2025)]
    # 2026 follows: its changes compare with the corrected 2025 rating.
    assert derive_pending(warehouse_engine, rulebook) == [(tiny.COUNTY, 2025), (tiny.COUNTY, 2026)]
    with warehouse_engine.connect() as conn:
        change = conn.execute(
            sa.text(
                "SELECT level_before, level_after FROM branch_change "
                "WHERE year = 2026 AND branch_code = :b AND basis = 'prev_year'"
            ),
            {"b": tiny.WEST},
        ).one()
    assert tuple(change) == (5, 0)

    # A correction of 2026 only: 2025 is read as stored, and gives the same result as a
    # full recomputation.
    _load(warehouse_engine, tiny, ["2026-01"], version=2, quality={tiny.WEST: "best"})
    assert derive_pending(warehouse_engine, rulebook) == [(tiny.COUNTY, 2026)]
    with warehouse_engine.connect() as conn:
        changes = pd.read_sql(sa.text("SELECT * FROM branch_change"), conn)
    west = changes[(changes["branch_code"] == tiny.WEST) & (changes["basis"] == "prev_year")].iloc[0]
    assert (west["level_before"], west["level_after"]) == (5, 5)
    incremental = _dump(warehouse_engine)
    with warehouse_engine.begin() as conn:
        conn.execute(sa.text("UPDATE meta SET value = 'stale' WHERE key = 'rulebook_hash'"))
    assert derive_pending(warehouse_engine, rulebook) == [(tiny.COUNTY, 2025), (tiny.COUNTY, 2026)]
    with warehouse_engine.connect() as conn:
        pd.testing.assert_frame_equal(
            pd.read_sql(sa.text("SELECT * FROM branch_change"), conn)
            .sort_values(list(changes.columns))
            .reset_index(drop=True),
            changes.sort_values(list(changes.columns)).reset_index(drop=True),
        )
    for view, df in incremental.items():
        pd.testing.assert_frame_equal(_dump(warehouse_engine)[view], df, obj=view)


def test_rulebook_change_requeues_everything(loaded: Engine, tiny, rulebook) -> None:
    derive_pending(loaded, rulebook)
    edited = dataclasses.replace(rulebook, hash="edited-rulebook")
    assert derive_pending(loaded, edited) == [(tiny.COUNTY, 2026)]
    with loaded.connect() as conn:
        hashes = conn.execute(sa.text("SELECT DISTINCT rulebook_hash FROM branch_rating")).scalars().all()
        meta = conn.execute(sa.text("SELECT value FROM meta WHERE key = 'rulebook_hash'")).scalar()
    assert hashes == ["edited-rulebook"] and meta == "edited-rulebook"
    assert derive_pending(loaded, edited) == []


def test_rejected_data_removes_derived_rows(loaded: Engine, tiny, rulebook) -> None:
    derive_pending(loaded, rulebook)
    # --force reprocessing turns both months into rejections: no current data is left.
    for p in ("2026-10", "2026-11"):
        load_version(loaded, tiny.sub(p, 1), tiny.facts(p, 1), tiny.findings(errors=1))
    assert derive_pending(loaded, rulebook) == [(tiny.COUNTY, 2026)]
    for view in ("rpt_branch_rating", "rpt_branch_star", "rpt_area_summary", "rpt_points_tally"):
        assert _view(loaded, view).empty, view


def _rating_rows(tiny, year: int, period: str, levels: dict[str, int]) -> pd.DataFrame:
    types = {c: t for c, _n, t, _tw in tiny.ROSTER}
    return pd.DataFrame(
        [
            {"year": year, "as_of_period": period, "county_code": tiny.COUNTY, "branch_code": b,
             "branch_type": types[b], "months_accepted": 1, "is_final": period.endswith("-12"),
             "is_latest": True, "star_level": lvl, "as_of_version": 1}
            for b, lvl in levels.items()
        ]
    )  # fmt: skip


def test_area_summary_by_hand(warehouse_engine: Engine, tiny) -> None:
    """Levels 5, 3 (村) and 1 (社区) in one county; 北村 registered but not rated."""
    sync_registry(warehouse_engine, tiny.registry())
    _load(warehouse_engine, tiny, ["2025-12", "2026-10", "2026-11"])
    with warehouse_engine.begin() as conn:
        # An earlier as-of month of 2026: must not be counted (only the latest month is).
        insert_frame(conn, "branch_rating", _rating_rows(tiny, 2026, "2026-10", {tiny.EAST: 0, tiny.WEST: 0}))
        insert_frame(
            conn,
            "branch_rating",
            _rating_rows(tiny, 2026, "2026-11", {tiny.EAST: 5, tiny.WEST: 3, tiny.SOUTH: 1}),
        )
        insert_frame(conn, "branch_rating", _rating_rows(tiny, 2025, "2025-12", {tiny.EAST: 4}))

    s = _view(warehouse_engine, "rpt_area_summary")
    got = {(int(r.year), r.area_level, r.area_code, r.branch_type): r for r in s.itertuples(index=False)}
    # 2026: 3 levels x 3 types; 2025: only 东村 rated -> 村 and 全部 rows, no 社区 rows.
    assert len(got) == 9 + 6
    assert not any(k[0] == 2025 and k[3] == "社区" for k in got)
    assert not any(k[2] == tiny.OTHER_COUNTY for k in got)

    expect = {
        # (branch_type): branches, five, four, three, two, one, zero, 3+ share, 5 share
        "全部": (3, 1, 0, 1, 0, 1, 0, 2 / 3, 1 / 3),
        "村": (2, 1, 0, 1, 0, 0, 0, 1.0, 0.5),
        "社区": (1, 0, 0, 0, 0, 1, 0, 0.0, 0.0),
    }
    registry = {
        ("county", "全部"): 4, ("county", "村"): 3, ("county", "社区"): 1,
        ("city", "全部"): 5, ("city", "村"): 4, ("city", "社区"): 1,
        ("province", "全部"): 5, ("province", "村"): 4, ("province", "社区"): 1,
    }  # fmt: skip
    names = {"county": "林州市", "city": "安阳市", "province": "河南省"}
    codes = {"county": tiny.COUNTY, "city": tiny.CITY, "province": tiny.PROVINCE}
    for level, code in codes.items():
        for btype, (n, five, four, three, two, one, zero, share3, share5) in expect.items():
            r = got[(2026, level, code, btype)]
            assert r.area_name == names[level]
            assert (r.branches, r.five_star, r.four_star, r.three_star, r.two_star, r.one_star, r.zero_star) == (
                n, five, four, three, two, one, zero,
            )  # fmt: skip
            assert r.registry_branches == registry[(level, btype)]
            assert r.three_plus_share == pytest.approx(share3)
            assert r.five_star_share == pytest.approx(share5)
            assert r.province_three_plus_share == pytest.approx(share3)  # one province: same
    r2025 = got[(2025, "county", tiny.COUNTY, "全部")]
    assert (r2025.branches, r2025.four_star, r2025.three_plus_share) == (1, 1, 1.0)

    rating = _view(warehouse_engine, "rpt_branch_rating")
    assert len(rating) == 4  # 3 branches in 2026 (as of 2026-11) + 1 in 2025
    assert set(rating.loc[rating["year"] == 2026, "as_of_period"]) == {"2026-11"}
    assert rating.loc[rating["year"] == 2025, "is_final"].astype(bool).all()


def test_derive_ahead_hands_batches_in_order_and_takes_back_what_has_not_started(
    monkeypatch: pytest.MonkeyPatch, rulebook: Rulebook
) -> None:
    """DeriveAhead (fivestar.pipeline.derive_stage) hands loaded counties to the executor
    in batches, in order; `stop` takes back the batches not started and names the
    counties of those that have; `collect` gives what was derived ahead."""
    from concurrent.futures import Future

    from fivestar.pipeline import derive_stage

    calls: list[list[str]] = []
    started: list[Future] = []

    class Helper:  # runs nothing until told: the first batch has started, the rest wait
        overlaps = True

        def submit(self, fn, url, rb, counties, run_id):  # type: ignore[no-untyped-def]
            calls.append(list(counties))
            f: Future = Future()
            if not started:
                f.set_running_or_notify_cancel()
                started.append(f)
            return f

    class Ctx:
        rulebook = None

        class engine:  # noqa: N801 - stands for an Engine: only its URL is read
            class url:  # noqa: N801
                @staticmethod
                def render_as_string(hide_password: bool = True) -> str:
                    return "sqlite://"

    monkeypatch.setattr(derive_stage, "BATCH_COUNTIES", 2)
    a = derive_stage.DeriveAhead(Ctx(), Helper(), "run-1")  # type: ignore[arg-type]
    a.add(["a", "b", "c"])
    a.add(["d"])
    assert calls == [["a", "b"], ["c"], ["d"]]
    assert a.stop() == {"a", "b"}  # started: still the helper's; the others come back
    started[0].set_result([("a", 2026), ("b", 2026)])
    assert a.collect() == ([("a", 2026), ("b", 2026)], False)
