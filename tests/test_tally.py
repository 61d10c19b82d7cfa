"""Tests of fivestar.tally: caps, redemption overdraws, per-subject tallies, branch summaries.

Small inline ledgers; every expected number is worked out by hand in the comments.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fivestar.config import load_rulebook
from fivestar.tally import branch_points, mark_counted, redemption_overdraws, tally

RB = load_rulebook(Path(__file__).resolve().parents[1] / "config")
C = "410522"
B = "410522101201"
B2 = "410522101202"
POINTS = dict(zip(RB.items["code"], pd.to_numeric(RB.items["points"], errors="coerce"), strict=True))


def ledger(events: list[tuple], start_seq: int = 2) -> pd.DataFrame:
    """events: (period, day, item_code[, subject_type, subject_id[, points[, branch]]])."""
    rows = []
    for i, e in enumerate(events):
        period, day, item = e[0], e[1], e[2]
        stype = e[3] if len(e) > 3 else "支部"
        sid = e[4] if len(e) > 4 else B
        pts = e[5] if len(e) > 5 and e[5] is not None else POINTS[item]
        branch = e[6] if len(e) > 6 else B
        if stype == "支部" and len(e) <= 4:
            sid = branch
        rows.append(
            {
                "county_code": C,
                "period": period,
                "version": 1,
                "seq": start_seq + i,
                "event_date": pd.Timestamp(f"{period}-{day:02d}"),
                "branch_code": branch,
                "subject_type": stype,
                "subject_id": sid,
                "item_code": item,
                "points": float(pts),
            }
        )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- caps ---


def test_caps_of_the_worked_example() -> None:
    # rulebook.md: Oct ZB01, ZB03; Nov ZB01, ZB01 (cap 1), ZB02, CY01 × 3 (cap 2), PA01 × 6 (cap 5).
    events = [("2026-10", 5, "ZB01"), ("2026-10", 6, "ZB03")]
    events += [("2026-11", 3, "ZB01"), ("2026-11", 4, "ZB01"), ("2026-11", 5, "ZB02")]
    events += [("2026-11", 10 + i, "CY01") for i in range(3)]
    events += [("2026-11", 15 + i, "PA01") for i in range(6)]
    out = mark_counted(RB, ledger(events))
    counted = out.groupby(["period", "item_code"])["counted"].agg(["sum", "count"])
    assert counted.loc[("2026-10", "ZB01")].tolist() == [1, 1]
    assert counted.loc[("2026-10", "ZB03")].tolist() == [1, 1]
    assert counted.loc[("2026-11", "ZB01")].tolist() == [1, 2]
    assert counted.loc[("2026-11", "ZB02")].tolist() == [1, 1]
    assert counted.loc[("2026-11", "CY01")].tolist() == [2, 3]
    assert counted.loc[("2026-11", "PA01")].tolist() == [5, 6]
    # The uncounted ones are the last in order and are flagged over_cap.
    assert out.loc[~out["counted"], "seq"].tolist() == [5, 9, 15]
    assert (out["over_cap"] == ~out["counted"]).all()
    # Star points of the example: 2 − 5 + 2 + 2 = 1 (ZBGY), 10 (CYXW), 5 (PAFZ).
    kept = out[out["counted"]]
    assert kept.loc[kept["item_code"].str.startswith("ZB"), "points"].sum() == 1
    assert kept.loc[kept["item_code"] == "CY01", "points"].sum() == 10
    assert kept.loc[kept["item_code"] == "PA01", "points"].sum() == 5


def test_cap_order_is_date_then_row_not_input_order() -> None:
    # Three ZB01 in one month given out of order: the earliest date wins; on equal dates the lower row.
    raw = ledger([("2026-11", 20, "ZB01"), ("2026-11", 7, "ZB01"), ("2026-11", 7, "ZB01")])
    raw["seq"] = [2, 9, 4]
    raw.index = [100, 101, 102]
    out = mark_counted(RB, raw)
    assert out.index.tolist() == [102, 101, 100]  # sorted: (7, 4), (7, 9), (20, 2)
    assert out.loc[102, "counted"]
    assert not out.loc[101, "counted"]
    assert not out.loc[100, "counted"]


def test_caps_are_per_subject_month_and_blank_cap_is_unlimited() -> None:
    events = [
        ("2026-11", 1, "HH01", "户", "H001"),
        ("2026-11", 2, "HH01", "户", "H001"),  # 2nd of H001 in Nov: cap 1 → not counted
        ("2026-11", 2, "HH01", "户", "H002"),  # another household: counted
        ("2026-12", 1, "HH01", "户", "H001"),  # next month: counted again
        ("2026-11", 3, "HH01", "户", "H001", None, B2),  # same id in another branch: counted
    ]
    events += [("2026-11", 5 + i, "ZB03") for i in range(4)]  # ZB03 has a blank cap
    events += [("2026-11", 5 + i, "DY02", "党员", "DY01") for i in range(5)]  # cap 4
    out = mark_counted(RB, ledger(events)).sort_values("seq")
    assert out["counted"].tolist() == [True, False, True, True, True] + [True] * 4 + [True] * 4 + [False]


def test_blank_branch_subject_id_means_the_branch_itself() -> None:
    raw = ledger([("2026-11", 1, "ZB01"), ("2026-11", 2, "ZB01")])
    raw["subject_id"] = ["", None]
    out = mark_counted(RB, raw)
    assert out["subject_id"].tolist() == [B, B]
    assert out["counted"].tolist() == [True, False]  # one subject, so the cap of 1 applies


def test_empty_ledger() -> None:
    out = mark_counted(RB, ledger([]).reindex(columns=["county_code", "period", "seq", "item_code"]))
    assert out.empty and {"counted", "over_cap"} <= set(out.columns)


# --------------------------------------------------------- redemptions ---

HOUSEHOLD_HISTORY = [
    ("2025-11", 3, "HH02", "户", "H001"),  # +3
    ("2025-11", 4, "HH01", "户", "H001"),  # +2
    ("2025-11", 5, "HH04", "户", "H001"),  # −2   → Nov: earned 5, deducted 2, net 3, balance 3
    ("2025-12", 1, "HH03", "户", "H001"),  # +1
    ("2025-12", 2, "HH03", "户", "H001"),  # +1   → Dec: earned 2, net 2, balance 5
    ("2026-01", 10, "DH01", "户", "H001", -4),  # redeem 4 of 5 → balance 1
    ("2026-03", 20, "HH01", "户", "H001"),  # +2 on the 20th …
    ("2026-03", 5, "DH01", "户", "H001", -3),  # … but this redemption on the 5th comes first: 3 > 1
]


def test_redemption_overdraw_uses_balance_before_it_across_months_and_years() -> None:
    raw = ledger(HOUSEHOLD_HISTORY)
    raw.index = np.arange(len(raw))[::-1] + 50  # any index; the result follows it
    counted = mark_counted(RB, raw)
    over = redemption_overdraws(RB, counted)
    assert over.index.tolist() == counted.index.tolist()
    assert over.sum() == 1
    # Only the March redemption (balance 1 before it, asks 3) overdraws.
    assert counted.loc[over[over].index, "period"].tolist() == ["2026-03"]
    # A raw ledger (no `counted` column) gives the same answer, in its own row order.
    raw_over = redemption_overdraws(RB, raw)
    assert raw_over.index.tolist() == raw.index.tolist()
    assert raw_over.tolist() == [False] * 7 + [True]


def test_redemption_equal_to_balance_is_allowed_and_uncounted_points_do_not_fund_it() -> None:
    events = [
        ("2026-05", 1, "HH01", "户", "H009"),  # +2 counted
        ("2026-05", 2, "HH01", "户", "H009"),  # +2 over cap: not in the balance
        ("2026-05", 3, "DH01", "户", "H009", -2),  # exactly the balance: fine
        ("2026-05", 4, "DH01", "户", "H009", -0.5),  # balance now 0: overdraw
        ("2026-05", 5, "DY01", "党员", "DY07"),  # +1 for a member
        ("2026-05", 6, "DH01", "党员", "DY07", -1),  # member's own balance 1: fine
    ]
    over = redemption_overdraws(RB, mark_counted(RB, ledger(events))).sort_index()
    assert over.tolist() == [False, False, False, True, False, False]


# --------------------------------------------------------------- tally ---


def test_tally_redemptions_never_reduce_earned_or_net_and_carry_over_years() -> None:
    t = tally(RB, mark_counted(RB, ledger(HOUSEHOLD_HISTORY[:-1])))
    t = t.set_index("period")
    cols = [
        "earned",
        "deducted",
        "redeemed",
        "net",
        "cumulative_earned",
        "cumulative_net",
        "cumulative_redeemed",
        "balance",
    ]
    assert t.index.tolist() == ["2025-11", "2025-12", "2026-01", "2026-03"]  # no event in Feb: no row
    assert t.loc["2025-11", cols].tolist() == [5, 2, 0, 3, 5, 3, 0, 3]
    assert t.loc["2025-12", cols].tolist() == [2, 0, 0, 2, 7, 5, 0, 5]
    # January 2026: a new year, cumulatives carry over; redeeming 4 leaves earned/net alone.
    assert t.loc["2026-01", cols].tolist() == [0, 0, 4, 0, 7, 5, 4, 1]
    assert t.loc["2026-03", cols].tolist() == [2, 0, 0, 2, 9, 7, 4, 3]
    assert set(t["subject_type"]) == {"户"} and set(t["subject_id"]) == {"H001"}
    assert set(t["county_code"]) == {C} and set(t["branch_code"]) == {B}


def test_tally_counts_only_counted_events_and_separates_subjects() -> None:
    events = [
        ("2026-11", 3, "ZB01"),  # +2
        ("2026-11", 4, "ZB01"),  # over cap
        ("2026-11", 5, "ZB03"),  # −5
        ("2026-11", 6, "PA02"),  # −2
        ("2026-11", 1, "DY01", "党员", "DY01"),
        ("2026-11", 2, "DY01", "党员", "DY01"),
        ("2026-11", 3, "DY01", "党员", "DY01"),  # cap 2 → +2 in all
        ("2026-11", 4, "DY04", "党员", "DY02"),  # −2
    ]
    t = tally(RB, mark_counted(RB, ledger(events))).set_index("subject_id")
    assert len(t) == 3
    assert t.loc[B, ["earned", "deducted", "net", "balance"]].tolist() == [2, 7, -5, -5]
    assert t.loc[B, "subject_type"] == "支部"
    assert t.loc["DY01", ["earned", "deducted", "net", "cumulative_earned"]].tolist() == [2, 0, 2, 2]
    assert t.loc["DY02", ["earned", "deducted", "net", "balance"]].tolist() == [0, 2, -2, -2]


def test_tally_of_empty_ledger_has_the_contract_columns() -> None:
    t = tally(RB, mark_counted(RB, ledger([]).reindex(columns=["county_code", "period", "seq"])))
    assert t.empty
    assert t.columns.tolist()[:5] == ["period", "county_code", "branch_code", "subject_type", "subject_id"]


# ------------------------------------------------------- branch points ---


def test_branch_points_per_branch_and_month() -> None:
    events = [
        ("2026-11", 1, "HH01", "户", "H001"),  # +2
        ("2026-11", 2, "HH04", "户", "H001"),  # −2  → H001 net 0, positive
        ("2026-11", 3, "HH02", "户", "H002"),  # +3  → positive
        ("2026-11", 4, "HH04", "户", "H003"),  # −2  → active, not positive
        ("2026-10", 1, "HH03", "户", "H004"),  # +1 in October
        ("2026-11", 5, "DH01", "户", "H004", -1),  # redemption only: active, not positive, net 0
        ("2026-11", 1, "DY02", "党员", "DY01"),
        ("2026-11", 1, "DY04", "党员", "DY02"),
        ("2026-11", 1, "ZB01"),  # the branch itself is neither a household nor a member
    ]
    t = tally(RB, mark_counted(RB, ledger(events)))
    roster = pd.DataFrame(
        {
            "county_code": C,
            "period": ["2026-10", "2026-11", "2026-11"],
            "branch_code": [B, B, B2],
            "households": [200, 200, 50],
            "members": [30, 30, 10],
        }
    )
    flat = branch_points(t, roster)
    bp = flat.set_index(["period", "branch_code"])
    nov = bp.loc[("2026-11", B)]
    assert nov["households_active"] == 4
    assert nov["members_active"] == 2
    assert nov["households_positive"] == 2
    assert nov["participation_rate"] == pytest.approx(2 / 200)
    # Household net points in Nov: 0 + 3 − 2 + 0 = 1, over all 200 households.
    assert nov["avg_household_points"] == pytest.approx(1 / 200)
    octo = bp.loc[("2026-10", B)]
    assert octo[["households_active", "households_positive"]].tolist() == [1, 1]
    assert octo["avg_household_points"] == pytest.approx(1 / 200)
    # A roster branch without events still gets a row, with zeros.
    quiet = bp.loc[("2026-11", B2)]
    assert quiet[["households_active", "members_active", "households_positive"]].tolist() == [0, 0, 0]
    assert quiet["participation_rate"] == 0 and quiet["avg_household_points"] == 0
    assert len(flat) == 3
    assert flat.columns.tolist() == [
        "period",
        "county_code",
        "branch_code",
        "households_active",
        "members_active",
        "households_positive",
        "participation_rate",
        "avg_household_points",
    ]
