"""Ledger rows against the roster and the points catalogue, then caps and balances."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from fivestar import tally
from fivestar.validate.catalogue import text as rule_text
from fivestar.validate.cell_wording import fmt_number
from fivestar.validate.inputs import Prior, Submission
from fivestar.validate.rules.context import CODE12, RuleContext, record

_SUBJECT_TYPES = ("支部", "党员", "户")


def _catalogue_checks(
    items: pd.DataFrame,
    fed: dict[str, set[str]],
    checked: np.ndarray,
    item: np.ndarray,
    btype: np.ndarray,
    st: np.ndarray,
    sid: np.ndarray,
    pts: np.ndarray,
    code: np.ndarray,
    hits: list[tuple[int, int, str, str, str, Any]],
    bad: np.ndarray,
) -> None:
    """Checks 2–7 of the rows with a known item code, as masks (a month is ~1.5 M rows);
    appends (row, order, rule, message, column, value) to `hits`, marks `bad`."""
    if not len(checked):
        return
    it = pd.Series(item[checked], dtype=object)
    b, s_, d, p = btype[checked], st[checked], sid[checked], pts[checked]
    cd = code[checked]
    redeem = it.map(items["kind"] == "redeem").to_numpy(dtype=bool)
    # 2: an item that does not count towards any star of the branch's type (`fed`: the
    # items feeding a star, per configured type; roster_rules keeps no other type).
    no_star = np.zeros(len(checked), dtype=bool)
    for t, codes in fed.items():
        no_star |= (b == t) & ~it.isin(codes).to_numpy(dtype=bool)
    no_star &= ~redeem
    # 3: a subject type the item is not for.
    allowed_of = {k: v.split("|") for k, v in items["subject_type"].items()}
    wrong_subject = np.zeros(len(checked), dtype=bool)
    for t in _SUBJECT_TYPES:
        wrong_subject |= (s_ == t) & ~it.map({k: t in v for k, v in allowed_of.items()}).to_numpy(dtype=bool)
    d_text = np.fromiter((isinstance(x, str) and bool(x) for x in d), bool, len(d))
    # 4: a 支部 subject whose id is not its own branch; 5: a member or household without an id.
    branch_id = (s_ == "支部") & d_text & (d != cd)
    no_id = ((s_ == "党员") | (s_ == "户")) & ~d_text
    # 6, 7: redemptions are negative, other items score the catalogue's points.
    has_p = ~np.isnan(p)
    catalogue = it.map(pd.to_numeric(items["points"], errors="coerce")).to_numpy(dtype="float64")
    sign = has_p & redeem & ~(p < 0)
    wrong_points = has_p & ~redeem & (p != catalogue)
    for j in np.flatnonzero(no_star | wrong_subject | branch_id | no_id | sign | wrong_points):
        i, x = int(checked[j]), it.iat[j]
        if no_star[j]:
            hits.append(
                (
                    i,
                    2,
                    "ledger.item_code.type",
                    rule_text("ledger.item_code.type", item=x, type=b[j]),
                    "item_code",
                    None,
                )
            )
        if wrong_subject[j]:
            msg = rule_text("ledger.subject_type.item", item=x, allowed="或".join(allowed_of[x]))
            hits.append((i, 3, "ledger.subject_type.item", msg, "subject_type", None))
        if branch_id[j]:
            msg = rule_text("ledger.subject_id.branch")
            hits.append((i, 4, "ledger.subject_id.branch", msg, "subject_id", None))
        if no_id[j]:
            msg = rule_text("ledger.subject_id.required", subject=s_[j])
            hits.append((i, 5, "ledger.subject_id.required", msg, "subject_id", None))
        if sign[j]:
            msg = rule_text("ledger.points.redeem_sign")
            hits.append((i, 6, "ledger.points.redeem_sign", msg, "points", fmt_number(p[j])))
        if wrong_points[j]:
            msg = rule_text("ledger.points.catalogue", item=x, points=fmt_number(float(catalogue[j])))
            hits.append((i, 7, "ledger.points.catalogue", msg, "points", fmt_number(p[j])))
    bad[checked] |= no_star | wrong_subject | branch_id | no_id | sign | wrong_points | ~has_p


def ledger_rules(
    ctx: RuleContext, sub: Submission, roster_types: dict[str, str] | None, prior: Prior
) -> None:
    """Row checks against roster and catalogue, then caps and balances of the sound rows.

    Vectorised: each check is a mask over all rows; findings are emitted row by row in
    the order a per-row loop would give (row, then check).
    """
    rb = ctx.rb
    f = ctx.pw.frames.get("ledger")
    if f is None or f.empty:
        return
    items = rb.items.set_index("code")
    code = f["branch_code"].to_numpy(dtype=object)
    item = f["item_code"].to_numpy(dtype=object)
    st = f["subject_type"].to_numpy(dtype=object)
    sid = f["subject_id"].to_numpy(dtype=object)
    pts = pd.to_numeric(f["points"], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    n = len(f)
    code_str = np.fromiter((isinstance(c, str) for c in code), bool, n)
    if roster_types is not None:
        btype = np.array(
            [roster_types.get(c) if s_ else None for c, s_ in zip(code, code_str, strict=True)], dtype=object
        )
    else:
        btype = np.full(n, None, dtype=object)
    has_type = np.fromiter((b is not None for b in btype), bool, n)
    hits: list[tuple[int, int, str, str, str, Any]] = []  # row, order, rule, message, column, value

    # 0: a well-formed code that is not in the roster (the row goes on being checked).
    not_in_roster = np.zeros(n, dtype=bool)
    if roster_types is not None:
        for i in np.flatnonzero(code_str & ~has_type):
            if CODE12.match(code[i]):
                not_in_roster[i] = True
                hits.append(
                    (
                        i,
                        0,
                        "ledger.branch_code.roster",
                        rule_text("ledger.branch_code.roster"),
                        "branch_code",
                        None,
                    )
                )
    bad = not_in_roster.copy()
    # Rows without an item code stop here; rows with an unknown one after its error.
    item_str = np.fromiter((isinstance(x, str) for x in item), bool, n)
    known = item_str & np.isin(item, items.index.to_numpy(dtype=object))
    for i in np.flatnonzero(item_str & ~known):
        hits.append(
            (
                i,
                1,
                "ledger.item_code.catalogue",
                rule_text("ledger.item_code.catalogue"),
                "item_code",
                None,
            )
        )
    fed = {t: set(rb.item_stars.loc[rb.item_stars["branch_type"] == t, "item_code"]) for t in rb.types}
    _catalogue_checks(items, fed, np.flatnonzero(known), item, btype, st, sid, pts, code, hits, bad)
    for i, _, rule, msg, col, value in sorted(hits, key=lambda h: (h[0], h[1])):
        ctx.cell_finding(rule, msg, "ledger", col, record(f, int(i), col), value)

    subject_ok = np.fromiter((isinstance(x, str) and x in _SUBJECT_TYPES for x in st), bool, n)
    ok_mask = known & ~bad & f["event_date"].notna().to_numpy(dtype=bool) & subject_ok & has_type
    if not ok_mask.any():
        return
    ok = f[ok_mask]
    this = pd.DataFrame(
        {
            "county_code": sub.county_code,
            "period": sub.period,
            "version": sub.version,
            "seq": ok["_row"].to_numpy(),
            "event_date": pd.to_datetime(ok["event_date"]).to_numpy(),
            "branch_code": ok["branch_code"].to_numpy(),
            "subject_type": ok["subject_type"].to_numpy(),
            # A 支部 subject is the branch itself (np.where: pandas 3 arrays may be read-only).
            "subject_id": np.where(
                ok["subject_type"].to_numpy() == "支部",
                ok["branch_code"].to_numpy(),
                ok["subject_id"].fillna("").to_numpy(),
            ),
            "item_code": ok["item_code"].to_numpy(),
            "points": ok["points"].to_numpy(dtype="float64"),
        }
    )
    this["_mine"] = True
    earlier = prior.earlier_ledger
    if earlier is not None and len(earlier):
        e = earlier[earlier["period"] < sub.period][[c for c in this.columns if c != "_mine"]].copy()
        e["_mine"] = False
        combined = pd.concat([e, this], ignore_index=True)
    else:
        combined = this
    counted = tally.mark_counted(rb, combined)  # keeps extra columns and index labels
    over = tally.redemption_overdraws(rb, counted).to_numpy(dtype=bool)
    mine = counted["_mine"].to_numpy(dtype=bool)
    over_cap = counted["over_cap"].to_numpy(dtype=bool)
    for i in np.flatnonzero(mine & (over_cap | over)):
        rec = counted.iloc[i]
        row = {"_row": int(rec["seq"]), "branch_code": rec["branch_code"]}
        if over_cap[i]:
            cap = items.at[rec["item_code"], "cap"]
            ctx.cell_finding(
                "ledger.points.over_cap",
                rule_text("ledger.points.over_cap", item=rec["item_code"], cap=cap),
                "ledger",
                "points",
                row,
                fmt_number(rec["points"]),
            )
        if over[i]:
            ctx.cell_finding(
                "ledger.points.overdraw",
                rule_text("ledger.points.overdraw"),
                "ledger",
                "points",
                row,
                fmt_number(rec["points"]),
            )
