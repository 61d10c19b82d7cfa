"""Points ledger → caps, redemption checks, per-subject tallies and per-branch summaries.

In: the `Rulebook` (points catalogue: cap and kind per item code) and the ledger fact
frame of docs/design.md (`county_code, period, version, seq, event_date, branch_code,
subject_type, subject_id, item_code, points`), holding the current accepted versions of
every month one needs (all earlier months too when cumulative figures or balances matter).
Out:
- `mark_counted`: the ledger with bool columns `counted` / `over_cap`;
- `redemption_overdraws`: a bool per ledger row, True for a redemption larger than the
  subject's balance just before it;
- `tally`: one row per subject and month with at least one event (the `tally` frame);
- `branch_points`: one row per branch and month (the `branch_points` frame).

Order of events everywhere: period, then event_date, then seq (the Excel row), as in
submission.md. Everything is vectorised (factorised keys, lexsort, bincount, grouped
cumsum); the only Python loop visits 支部 rows whose subject id differs from the branch code.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fivestar.config import Rulebook

SUBJECT_KEY = ["branch_code", "subject_type", "subject_id"]
BRANCH_SUBJECT = "支部"
MEMBER_SUBJECT = "党员"
HOUSEHOLD_SUBJECT = "户"

TALLY_COLUMNS = [
    "period",
    "county_code",
    "branch_code",
    "subject_type",
    "subject_id",
    "earned",
    "deducted",
    "redeemed",
    "net",
    "cumulative_earned",
    "cumulative_net",
    "cumulative_redeemed",
    "balance",
]
BRANCH_POINTS_COLUMNS = [
    "period",
    "county_code",
    "branch_code",
    "households_active",
    "members_active",
    "households_positive",
    "participation_rate",
    "avg_household_points",
]

# Sums of float points (2, -5, 0.5 …) carry tiny binary errors; a redemption is only an
# overdraw when it exceeds the balance by more than this.
_EPS = 1e-6


def _empty(columns: list[str], text: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=str if c in text else float) for c in columns})


def _caps(rb: Rulebook) -> pd.Series:
    """Cap per item code as float; NaN = unlimited (blank cap in points_items.csv)."""
    items = rb.items.set_index("code")
    return pd.to_numeric(items["cap"], errors="coerce")


def _normalise_subject(ledger: pd.DataFrame) -> pd.DataFrame:
    """A 支部 subject's id is its branch code (a blank 对象编号 means the branch itself)."""
    out = ledger.copy()
    is_branch = (out["subject_type"] == BRANCH_SUBJECT).to_numpy()
    if not is_branch.any():
        return out
    # Cheap object-array equality first; string checks only on the 支部 rows that differ.
    sid = out["subject_id"].to_numpy(dtype=object)
    code = out["branch_code"].to_numpy(dtype=object)
    pos = np.flatnonzero(is_branch)
    pos = pos[sid[pos] != code[pos]]
    blank = [p for p in pos if sid[p] is None or sid[p] != sid[p] or not str(sid[p]).strip()]
    if blank:
        sid = sid.copy()
        sid[blank] = code[blank]
        out["subject_id"] = sid
    return out


def _codes(df: pd.DataFrame, cols: list[str]) -> np.ndarray:
    """One int64 code per row for the combination of values of `cols`.

    Factorising each string column once and combining integers is much cheaper than
    letting every groupby hash the same string columns again (1.5 M rows a month).
    Codes follow first appearance (sort=False is cheaper), not the values' order.
    """
    code = np.zeros(len(df), dtype=np.int64)
    for c in cols:
        k, uniques = pd.factorize(df[c], use_na_sentinel=False)
        size = max(len(uniques), 1)
        if (int(code.max(initial=0)) + 1) * size >= 2**62:
            code = pd.factorize(code)[0].astype(np.int64)
        code = code * size + k
    return code


def _order(ledger: pd.DataFrame) -> np.ndarray:
    """Row positions in event order: period, event_date (NaT last), seq; stable."""
    period = pd.factorize(ledger["period"], sort=True, use_na_sentinel=False)[0]
    dates = pd.to_datetime(ledger["event_date"])
    date_key = dates.to_numpy(dtype="datetime64[ns]").astype(np.int64)
    date_key = np.where(dates.isna().to_numpy(), np.iinfo(np.int64).max, date_key)
    seq = pd.to_numeric(ledger["seq"], errors="coerce").fillna(np.inf).to_numpy(dtype=float)
    return np.lexsort((seq, date_key, period))


def mark_counted(rb: Rulebook, ledger: pd.DataFrame) -> pd.DataFrame:
    """Apply the per-item caps.

    Returns a copy of `ledger` sorted by period, event_date, seq (original index labels
    kept, so results can be aligned back with `.loc`), with a 支部 subject's blank
    subject_id filled with its branch code and two bool columns:
    `counted` (within the item's cap for that subject and month) and `over_cap` (its
    negation: a warning for the submitter). Caps apply per (period, branch_code,
    subject_type, subject_id, item_code); the first events in order are counted. An item
    with a blank cap, or not in the catalogue, is unlimited.
    """
    if ledger.empty:
        out = ledger.copy()
        out["counted"] = pd.Series(dtype=bool)
        out["over_cap"] = pd.Series(dtype=bool)
        return out
    led = _normalise_subject(ledger)
    out = led.iloc[_order(led)].copy()
    key = _codes(out, ["period", *SUBJECT_KEY, "item_code"])
    rank = pd.Series(key).groupby(key, sort=False).cumcount().to_numpy()
    cap = out["item_code"].map(_caps(rb)).to_numpy(dtype=float)
    counted = np.isnan(cap) | (rank < cap)
    out["counted"] = counted
    out["over_cap"] = ~counted
    return out


def _with_counted(rb: Rulebook, ledger: pd.DataFrame) -> pd.DataFrame:
    """The ledger with `counted`, computing it when the caller passed a raw ledger."""
    if "counted" in ledger.columns:
        return _normalise_subject(ledger)
    return mark_counted(rb, ledger)


def redemption_overdraws(rb: Rulebook, ledger_counted: pd.DataFrame) -> pd.Series:
    """True for each counted redemption (kind=redeem, e.g. DH01) whose magnitude exceeds
    the subject's balance just before it.

    The balance before an event is the sum of all earlier counted points of that subject
    (earned, deducted and earlier redemptions; previous months and years included) in the
    order period, event_date, seq. The result is indexed like `ledger_counted` (same
    row order too); a raw ledger (without `counted`) is capped first.
    """
    if ledger_counted.empty:
        return pd.Series(False, index=ledger_counted.index, dtype=bool)
    if "counted" in ledger_counted.columns:
        led = _normalise_subject(ledger_counted)
    else:
        # mark_counted reorders rows; put them back in the caller's order.
        led = mark_counted(rb, ledger_counted.reset_index(drop=True)).sort_index()
    order = _order(led)
    s = led.iloc[order]
    counted = s["counted"].to_numpy(dtype=bool)
    pts = np.where(counted, s["points"].to_numpy(dtype=float), 0.0)
    subj = _codes(s, SUBJECT_KEY)
    balance_after = pd.Series(pts).groupby(subj, sort=False).cumsum().to_numpy()
    balance_before = balance_after - pts
    is_redeem = s["item_code"].isin(rb.redeem_codes).to_numpy() & counted
    over_sorted = is_redeem & (-pts > balance_before + _EPS)
    over = np.empty(len(led), dtype=bool)
    over[order] = over_sorted
    return pd.Series(over, index=ledger_counted.index, dtype=bool)


def tally(rb: Rulebook, ledger_counted: pd.DataFrame) -> pd.DataFrame:
    """Per subject and month: earned, deducted, redeemed, net and the cumulative figures.

    Only counted events contribute. earned = sum of positive points; deducted = magnitude
    of negative non-redemption points; redeemed = magnitude of redemption amounts;
    net = earned − deducted. cumulative_earned / cumulative_net / cumulative_redeemed run
    over every month present for the subject (they carry over across years; redemptions
    never reduce earned or net); balance = cumulative_net − cumulative_redeemed, as of the
    end of the month. A row exists for each subject and month with at least one event
    (counted or not), so pass the whole history of a subject to get true cumulatives.
    """
    if ledger_counted.empty:
        return _empty(TALLY_COLUMNS, text=TALLY_COLUMNS[:5])
    led = _with_counted(rb, ledger_counted)
    counted = led["counted"].to_numpy(dtype=bool)
    pts = np.where(counted, led["points"].to_numpy(dtype=float), 0.0)
    redeem = led["item_code"].isin(rb.redeem_codes).to_numpy()
    # One int key per (subject, period), ordered by subject then period; sums by bincount.
    subj = _codes(led, SUBJECT_KEY)
    period, periods = pd.factorize(led["period"], sort=True)
    key = subj * len(periods) + period
    uniq, first, inv = np.unique(key, return_index=True, return_inverse=True)
    size = len(uniq)
    out = led.iloc[first][["period", "county_code", *SUBJECT_KEY]].reset_index(drop=True)
    out["earned"] = np.bincount(inv, weights=np.where(~redeem & (pts > 0), pts, 0.0), minlength=size)
    out["deducted"] = np.bincount(inv, weights=np.where(~redeem & (pts < 0), -pts, 0.0), minlength=size)
    out["redeemed"] = np.bincount(inv, weights=np.where(redeem, np.abs(pts), 0.0), minlength=size)
    out["net"] = out["earned"] - out["deducted"]
    # Rows are sorted by subject then period, so a grouped cumsum runs through time.
    by_subject = out[["earned", "net", "redeemed"]].groupby(uniq // len(periods), sort=False)
    cum = by_subject.cumsum()
    out["cumulative_earned"] = cum["earned"]
    out["cumulative_net"] = cum["net"]
    out["cumulative_redeemed"] = cum["redeemed"]
    out["balance"] = out["cumulative_net"] - out["cumulative_redeemed"]
    return out[TALLY_COLUMNS]


def branch_points(tally_df: pd.DataFrame, roster: pd.DataFrame) -> pd.DataFrame:
    """Per branch and month: how many households and members took part, and how much.

    - households_active / members_active: 户 / 党员 subjects with at least one counted
      event that month (a tally row with a non-zero earned, deducted or redeemed amount;
      catalogue points are never zero, so this is "at least one counted event");
    - households_positive: 户 subjects with earned > 0 that month (a counted positive,
      non-redemption event);
    - participation_rate = households_positive / the roster's 户数 for that month;
    - avg_household_points = the month's total *net* points of all 户 subjects (earned −
      deducted, redemptions not subtracted, uncounted events excluded) / the roster's 户数,
      i.e. averaged over every household of the branch, not only the active ones, so that
      branches of different sizes compare fairly.
    One row per roster branch and month (zeros where nothing happened), plus any branch
    and month found only in the tally (rates NaN: no 户数 known). Rates are NaN when 户数
    is missing or 0.
    """
    t = tally_df
    active = (t["earned"] != 0) | (t["deducted"] != 0) | (t["redeemed"] != 0)
    is_hh = t["subject_type"] == HOUSEHOLD_SUBJECT
    is_member = t["subject_type"] == MEMBER_SUBJECT
    agg = pd.DataFrame(
        {
            "period": t["period"],
            "county_code": t["county_code"],
            "branch_code": t["branch_code"],
            "households_active": (is_hh & active).astype(int),
            "members_active": (is_member & active).astype(int),
            "households_positive": (is_hh & (t["earned"] > 0)).astype(int),
            "hh_net": t["net"].astype(float).where(is_hh, 0.0),
        }
    )
    keys = ["period", "county_code", "branch_code"]
    # Tally rows are one per subject and month, so summing the flags counts subjects.
    agg = agg.groupby(keys, as_index=False).sum()
    base = roster[keys + ["households"]].drop_duplicates(keys, keep="last")
    out = base.merge(agg, on=keys, how="outer")
    for col in ("households_active", "members_active", "households_positive"):
        out[col] = out[col].fillna(0).astype(int)
    hh_net = out["hh_net"].fillna(0.0)
    households = pd.to_numeric(out["households"], errors="coerce").astype(float)
    households = households.where(households > 0, np.nan)
    out["participation_rate"] = out["households_positive"] / households
    out["avg_household_points"] = hh_net / households
    out = out.sort_values(keys, kind="stable").reset_index(drop=True)
    return out[BRANCH_POINTS_COLUMNS]
