"""Star ratings of the 考核评价办法: indicators + points → star scores, awards and levels.

In: the `Rulebook` (config/: indicators.csv rules, points_items.csv star mapping,
vetoes.csv, rulebook.yaml settings) and a county's fact frames of docs/design.md —
roster, indicators (long), the ledger with `counted` (see `fivestar.tally.mark_counted`)
and vetoes — holding its current accepted versions.
Out:
- `rate_county_year`: a `Ratings` with one as-of rating per accepted month of the year
  (frames `ratings`, `stars`, `indicator_scores` of docs/design.md), each explained in
  Chinese (per-indicator points, the points part, vetoes, gates, the shortfall and what
  value of each indicator would give full marks);
(Stars gained and lost between ratings: fivestar.star_changes; points per indicator
and the hints: fivestar.indicator_rules; number wording: fivestar.score_text.)

Every number (points per indicator, lo/hi, points-part bounds, threshold, gates,
prerequisite, caps, veto scopes) comes from the rulebook; nothing is hard-coded here.
Loops run per as-of month, per gate or per config row only; rows are handled in pandas.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from fivestar.config import Rulebook
from fivestar.indicator_rules import (
    YTD_BASIS,
    answer_value,
    indicator_hints,
    indicator_points,
    indicator_rules,
    joined_hints,
)
from fivestar.score_text import (
    empty_frame,
    fixed2,
    join_texts,
    round_half_up,
)
from fivestar.tally import BRANCH_SUBJECT, mark_counted

RATING_COLUMNS = [
    "year",
    "as_of_period",
    "county_code",
    "branch_code",
    "branch_type",
    "months_accepted",
    "is_final",
    "is_latest",
    "star_level",
]
STAR_COLUMNS = [
    "year",
    "as_of_period",
    "branch_code",
    "star_code",
    "star_name",
    "indicator_score",
    "points_score",
    "total_score",
    "awarded",
    "vetoed",
    "gate_failed",
    "reason",
]
INDICATOR_COLUMNS = [
    "year",
    "as_of_period",
    "branch_code",
    "star_code",
    "indicator_key",
    "header",
    "value",
    "rule",
    "points",
    "hint",
]


@dataclass
class Ratings:
    ratings: pd.DataFrame
    stars: pd.DataFrame
    indicator_scores: pd.DataFrame


# ---------------------------------------------------------------- numbers ---


def _star_table(rb: Rulebook) -> pd.DataFrame:
    rows = [
        {"branch_type": t, "star_code": code, "star_name": rb.star_name(code), "star_order": i}
        for t in rb.types
        for i, code in enumerate(rb.stars_for(t))
    ]
    return pd.DataFrame(rows, columns=["branch_type", "star_code", "star_name", "star_order"])


def _item_stars(rb: Rulebook) -> pd.DataFrame:
    """(branch_type, item_code) → star_code for items that feed a star of that type."""
    frames = []
    for t in rb.types:
        f = rb.item_stars[rb.item_stars["branch_type"] == t]
        frames.append(
            pd.DataFrame({"branch_type": t, "item_code": f["item_code"], "star_code": f["star_code"]})
        )
    return pd.concat(frames, ignore_index=True)


def _veto_stars(rb: Rulebook) -> pd.DataFrame:
    """(veto_code, branch_type) → star_code for every star a veto removes."""
    rows = []
    for code, name in zip(rb.vetoes["code"], rb.vetoes["name"], strict=True):
        for t in rb.types:
            for star in rb.vetoed_stars(code, t) or []:
                rows.append({"veto_code": code, "branch_type": t, "star_code": star, "veto_name": name})
    return pd.DataFrame(rows, columns=["veto_code", "branch_type", "star_code", "veto_name"])


# ----------------------------------------------------------------- rating ---


def _year_frame(df: pd.DataFrame, months: list[str]) -> pd.DataFrame:
    if df is None or df.empty or "period" not in df.columns:
        return pd.DataFrame(columns=["period", "branch_code"])
    return df[df["period"].isin(months)]


def _indicator_values(indicators: pd.DataFrame, months: list[str]) -> pd.DataFrame:
    """Per as-of month, branch and indicator: v_month (that month's value) and v_ytd (sum
    over the accepted months of the year up to it; NaN when no month has a value)."""
    cols = ["as_of_period", "branch_code", "indicator_key", "v_month", "v_ytd"]
    ind = _year_frame(indicators, months)
    if ind.empty:
        return pd.DataFrame({c: pd.Series(dtype=float if c.startswith("v_") else object) for c in cols})
    ind = ind[["period", "branch_code", "indicator_key", "value"]].drop_duplicates(
        ["period", "branch_code", "indicator_key"], keep="last"
    )
    wide = ind.pivot(index=["branch_code", "indicator_key"], columns="period", values="value")
    wide = wide.reindex(columns=months).astype(float)
    # Running sums along the year's months; NaN until a month with a value was seen.
    seen = wide.notna().cumsum(axis=1) > 0
    ytd = wide.fillna(0.0).cumsum(axis=1).where(seen)
    out = pd.DataFrame(
        {
            "v_month": wide.stack(future_stack=True),
            "v_ytd": ytd.stack(future_stack=True),
        }
    )
    out.index = out.index.set_names(["branch_code", "indicator_key", "as_of_period"])
    return out.reset_index()[cols]


def _monthly_star_points(rb: Rulebook, ledger_counted: pd.DataFrame, months: list[str]) -> pd.DataFrame:
    """Counted star-relevant points summed per period, branch and item (shrinks the ledger)."""
    led = _year_frame(ledger_counted, months)
    cols = ["period", "branch_code", "item_code", "points"]
    if led.empty:
        return pd.DataFrame({c: pd.Series(dtype=float if c == "points" else object) for c in cols})
    if "counted" not in led.columns:
        led = mark_counted(rb, led)
    subjects = {BRANCH_SUBJECT}
    if rb.settings.get("member_household_points_in_stars", False):
        subjects |= set(led["subject_type"].unique())
    keep = led["counted"] & led["subject_type"].isin(subjects) & ~led["item_code"].isin(rb.redeem_codes)
    led = led.loc[keep, cols].copy()
    led["points"] = led["points"].astype(float)
    return led.groupby(cols[:3], as_index=False)["points"].sum()


def rate_county_year(
    rb: Rulebook,
    roster: pd.DataFrame,
    indicators: pd.DataFrame,
    ledger_counted: pd.DataFrame,
    vetoes: pd.DataFrame,
    year: int,
) -> Ratings:
    """One as-of rating per accepted month of `year` (the distinct roster periods).

    For as-of month p (calendar month m, the n-th accepted month of the year):
    - branches = the roster of p (its branch_type decides stars, indicators, item mapping);
    - indicator value v: 期末 / 累计 → month p; 本月 → summed over the accepted months up
      to p (the year to date, which `zero` and `per_month` rules use); a missing value
      scores 0 and is named in the hint;
    - points part = clamp(counted points of 支部 items (plus 党员/户 items when
      member_household_points_in_stars) mapped to the star, periods ≤ p of the year);
    - total = round_half_up(indicator part + points part, 2); awarded iff total ≥
      award_threshold, no applicable veto event in the year up to p, and no gate failed
      (a gate looks at the raw value of month p);
    - star_level = awarded count, 0 when a `prerequisite` star applies and is missing.
    """
    settings = rb.settings
    full = float(settings["indicator_points"])
    pmin, pmax = float(settings["points_part"]["min"]), float(settings["points_part"]["max"])
    threshold = float(settings["award_threshold"])
    prerequisite = settings.get("prerequisite") or None
    gates = settings.get("gates") or []

    ros = roster[roster["period"].astype(str).str.startswith(f"{year}-")]
    months = sorted(ros["period"].unique().tolist())
    if not months:
        return Ratings(empty_frame(RATING_COLUMNS), empty_frame(STAR_COLUMNS), empty_frame(INDICATOR_COLUMNS))

    rules = indicator_rules(rb)
    star_table = _star_table(rb)
    item_stars = _item_stars(rb)
    veto_stars = _veto_stars(rb)

    # One row per as-of month: its calendar month m, accepted months so far n.
    asof = pd.DataFrame({"as_of_period": months})
    asof["m"] = asof["as_of_period"].str[5:7].astype(int)
    asof["n"] = np.arange(1, len(months) + 1)
    # The branch set of an as-of rating is the roster of that month.
    branches = (
        ros[["period", "county_code", "branch_code", "branch_type"]]
        .drop_duplicates(["period", "branch_code"], keep="last")
        .rename(columns={"period": "as_of_period"})
        .merge(asof, on="as_of_period")
    )
    bkeys = ["as_of_period", "branch_code"]
    skeys = [*bkeys, "star_code"]

    # ---- indicator part (all as-of months at once) -------------------------
    sc = branches.merge(rules, on="branch_type", how="inner")
    sc = sc.merge(_indicator_values(indicators, months), on=[*bkeys, "indicator_key"], how="left")
    sc["value"] = sc["v_ytd"].where(sc["basis"] == YTD_BASIS, sc["v_month"]).astype(float)
    sc["points"] = indicator_points(sc["rule"], sc["value"], sc["lo"], sc["hi"], sc["m"], sc["n"], full)
    sc["hint"] = indicator_hints(sc, full)

    st = branches.merge(star_table, on="branch_type", how="inner")
    ind_sum = sc.groupby(skeys, as_index=False)["points"].sum().rename(columns={"points": "indicator_score"})
    st = st.merge(ind_sum, on=skeys, how="left")
    st["indicator_score"] = st["indicator_score"].fillna(0.0).astype(float)

    # ---- points part: counted star points of the year up to each as-of month
    pm = _monthly_star_points(rb, ledger_counted, months)
    pm = pm.merge(asof[["as_of_period"]], how="cross")
    pm = pm[pm["period"] <= pm["as_of_period"]]
    pm = pm.merge(branches[[*bkeys, "branch_type"]], on=bkeys).merge(
        item_stars, on=["branch_type", "item_code"]
    )
    star_pts = pm.groupby(skeys, as_index=False)["points"].sum().rename(columns={"points": "star_points"})
    st = st.merge(star_pts, on=skeys, how="left")
    st["points_score"] = st["star_points"].fillna(0.0).astype(float).clip(pmin, pmax)
    st["total_score"] = round_half_up(st["indicator_score"] + st["points_score"])

    # ---- vetoes: any applicable event of the year up to the as-of month ----
    vet = _year_frame(vetoes, months)
    if len(vet):
        ev = vet[["period", "branch_code", "veto_code"]].merge(asof[["as_of_period"]], how="cross")
        ev = ev[ev["period"] <= ev["as_of_period"]].drop_duplicates([*bkeys, "veto_code"])
        ev = ev.merge(branches[[*bkeys, "branch_type"]], on=bkeys).merge(
            veto_stars, on=["veto_code", "branch_type"]
        )
        ev = ev.sort_values([*skeys, "veto_code"])
        ev["text"] = ev["veto_code"] + " " + ev["veto_name"]
        vtext = ev.groupby(skeys, as_index=False)["text"].agg("、".join).rename(columns={"text": "veto_text"})
        st = st.merge(vtext, on=skeys, how="left")
    else:
        st["veto_text"] = np.nan
    st["vetoed"] = st["veto_text"].notna()
    veto_reason = ("一票否决：" + st["veto_text"].fillna("")).where(st["vetoed"], "")

    # ---- gates (not vetoes): the raw answer of the as-of month ------------
    st["gate_failed"] = False
    gate_reason = pd.Series("", index=st.index, dtype=object)
    for g in gates:
        vals = sc.loc[sc["indicator_key"] == g["indicator"], [*bkeys, "v_month"]]
        failing = vals.loc[vals["v_month"] == answer_value(g["fails_when"]), bkeys].assign(_fail=True)
        hit = st[bkeys].merge(failing, on=bkeys, how="left")["_fail"].fillna(False).to_numpy(dtype=bool)
        hit &= (st["star_code"] == g["star"]).to_numpy()
        st.loc[hit, "gate_failed"] = True
        gate_reason = join_texts(
            [gate_reason, pd.Series(np.where(hit, str(g["reason"]), ""), index=st.index)]
        )

    # ---- decision and reason ----------------------------------------------
    st["awarded"] = (st["total_score"] >= threshold) & ~st["vetoed"] & ~st["gate_failed"]
    hints = joined_hints(sc, skeys)
    st = st.merge(hints, on=skeys, how="left")  # left merge keeps st's row order
    below = st["total_score"] < threshold
    gap = fixed2(threshold - st["total_score"])
    shortfall = join_texts([("差 " + gap + " 分").where(below, ""), st["hint"].fillna("").where(below, "")])
    passed = "达标（" + fixed2(st["total_score"]) + "分）"
    st["reason"] = passed.where(st["awarded"], join_texts([veto_reason, gate_reason, shortfall]))

    # ---- level --------------------------------------------------------------
    level = st.groupby(bkeys, as_index=False)["awarded"].sum().rename(columns={"awarded": "star_level"})
    rt = branches.merge(level, on=bkeys, how="left")
    rt["star_level"] = rt["star_level"].fillna(0).astype(int)
    if prerequisite:
        # Only where the prerequisite star applies to the branch type.
        lacking = st.loc[(st["star_code"] == prerequisite) & ~st["awarded"], bkeys].assign(_lack=True)
        lack = rt[bkeys].merge(lacking, on=bkeys, how="left")["_lack"].fillna(False).to_numpy(dtype=bool)
        rt.loc[lack, "star_level"] = 0
    rt["months_accepted"] = rt["n"]
    rt["is_final"] = rt["m"] == 12
    rt["is_latest"] = rt["as_of_period"] == months[-1]

    for df in (rt, st, sc):
        df["year"] = int(year)
    sc["rule"] = sc["rule_text"]
    st[["awarded", "vetoed", "gate_failed"]] = st[["awarded", "vetoed", "gate_failed"]].astype(bool)
    return Ratings(
        ratings=rt.sort_values(bkeys, kind="stable")[RATING_COLUMNS].reset_index(drop=True),
        stars=st.sort_values([*bkeys, "star_order"], kind="stable")[STAR_COLUMNS].reset_index(drop=True),
        indicator_scores=sc.sort_values([*bkeys, "ind_order"], kind="stable")[INDICATOR_COLUMNS].reset_index(
            drop=True
        ),
    )


# ---------------------------------------------------------------- changes ---
