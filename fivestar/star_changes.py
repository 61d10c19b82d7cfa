"""Stars gained and lost: each as-of rating against the previous month's and against the
previous year's final rating.

In: the Rulebook and every as-of rating (stars and levels) of the branches for the year
and the year before. Out: the `changes` frame of docs/design.md, with a Chinese reason.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fivestar.config import Rulebook
from fivestar.score_text import empty_frame, join_texts

CHANGE_COLUMNS = [
    "year",
    "as_of_period",
    "branch_code",
    "basis",
    "compared_period",
    "level_before",
    "level_after",
    "stars_gained",
    "stars_lost",
    "reason",
]


def compute_changes(
    rb: Rulebook, stars_all: pd.DataFrame, ratings_all: pd.DataFrame, year: int
) -> pd.DataFrame:
    """Stars gained and lost for every as-of rating of `year`.

    basis 'prev_month': against the branch's nearest earlier as-of rating (any year);
    basis 'prev_year': against the branch's latest as-of rating of year − 1 (its final
    rating once December was accepted). Rows only where such a rating exists.
    stars_gained / stars_lost: '|'-joined star codes in rulebook order; reason names the
    stars and, for a lost star, why it is not awarded now.
    """
    keys = ["branch_code", "as_of_period"]
    r = ratings_all[["year", *keys, "star_level"]].drop_duplicates(keys, keep="last")
    r = r.sort_values(keys, kind="stable").reset_index(drop=True)
    by_branch = r.groupby("branch_code", sort=False)
    r["prev_period"] = by_branch["as_of_period"].shift()
    r["prev_level"] = by_branch["star_level"].shift()
    cur = r[r["year"] == year]

    pm = cur[cur["prev_period"].notna()].assign(basis="prev_month")
    pm = pm.rename(columns={"prev_period": "compared_period", "prev_level": "level_before"})
    last_prev = r[r["year"] == year - 1].groupby("branch_code", as_index=False).last()
    last_prev = last_prev[["branch_code", "as_of_period", "star_level"]].rename(
        columns={"as_of_period": "compared_period", "star_level": "level_before"}
    )
    py = (
        cur.drop(columns=["prev_period", "prev_level"])
        .merge(last_prev, on="branch_code")
        .assign(basis="prev_year")
    )
    cols = ["year", *keys, "basis", "compared_period", "level_before", "star_level"]
    pairs = pd.concat([pm[cols], py[cols]], ignore_index=True).rename(columns={"star_level": "level_after"})
    if pairs.empty:
        return empty_frame(CHANGE_COLUMNS)
    pairs["level_before"] = pairs["level_before"].astype(int)
    pairs["level_after"] = pairs["level_after"].astype(int)

    order = {code: i for i, code in enumerate(rb.stars["code"])}
    won = stars_all.loc[stars_all["awarded"].astype(bool), [*keys, "star_code"]].drop_duplicates()
    pk = [*keys, "basis"]
    now = pairs[[*pk, "compared_period"]].merge(won, on=keys)
    before = pairs[[*pk, "compared_period"]].merge(
        won.rename(columns={"as_of_period": "compared_period"}), on=["branch_code", "compared_period"]
    )
    diff = now.merge(before, on=[*pk, "compared_period", "star_code"], how="outer", indicator=True)
    diff["order"] = diff["star_code"].map(order)
    diff["star_name"] = diff["star_code"].map(dict(zip(rb.stars["code"], rb.stars["name"], strict=True)))
    diff = diff.sort_values([*pk, "order"], kind="stable")

    gained = diff[diff["_merge"] == "left_only"]
    lost = diff[diff["_merge"] == "right_only"].merge(
        stars_all[[*keys, "star_code", "reason"]].drop_duplicates([*keys, "star_code"]),
        on=[*keys, "star_code"],
        how="left",
    )
    lost["text"] = lost["star_name"] + "（" + lost["reason"].fillna("本类型不评此星") + "）"
    g = gained.groupby(pk).agg(stars_gained=("star_code", "|".join), gained_text=("star_name", "、".join))
    lo = lost.groupby(pk).agg(stars_lost=("star_code", "|".join), lost_text=("text", "、".join))
    out = pairs.merge(g, on=pk, how="left").merge(lo, on=pk, how="left")
    for c in ("stars_gained", "stars_lost", "gained_text", "lost_text"):
        out[c] = out[c].fillna("")

    label = out["basis"].map({"prev_month": "较上月", "prev_year": "较上年"})
    head = label + "（" + out["compared_period"] + "）："
    lb, la = out["level_before"].astype(str), out["level_after"].astype(str)
    level = ("星级 " + lb + " → " + la).where(lb != la, "星级 " + la + " 不变")
    gained_s = ("新增 " + out["gained_text"]).where(out["gained_text"] != "", "")
    lost_s = ("失去 " + out["lost_text"]).where(out["lost_text"] != "", "")
    nothing = pd.Series(
        np.where((out["gained_text"] == "") & (out["lost_text"] == ""), "无增减", ""), index=out.index
    )
    out["reason"] = head + join_texts([level, gained_s, lost_s, nothing])
    out = out.sort_values([*keys, "basis"], kind="stable").reset_index(drop=True)
    return out[CHANGE_COLUMNS]
