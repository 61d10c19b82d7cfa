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
- `compute_changes`: stars gained and lost against the previous as-of month and against
  the previous year's latest (final) rating (the `changes` frame).

Every number (points per indicator, lo/hi, points-part bounds, threshold, gates,
prerequisite, caps, veto scopes) comes from the rulebook; nothing is hard-coded here.
Loops run per as-of month, per gate or per config row only; rows are handled in pandas.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from fivestar.config import BRANCH_TYPES, TYPE_COLUMN, Rulebook
from fivestar.tally import BRANCH_SUBJECT, mark_counted

RULE_KINDS = ("linear", "linear_ytd", "at_least", "zero", "yes", "no", "per_month")
YTD_BASIS = "本月"  # a monthly-flow indicator: its value is summed over the year's accepted months
YES, NO = 1.0, 0.0  # 是 / 否 as stored in the indicators frame
SEP = "；"

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


@dataclass
class Ratings:
    ratings: pd.DataFrame
    stars: pd.DataFrame
    indicator_scores: pd.DataFrame


# ---------------------------------------------------------------- numbers ---


def round_half_up(x: Any, decimals: int = 2) -> Any:
    """Round half away from zero (as 四舍五入 / Excel ROUND), robust to float noise.

    Scores are sums of floats: 20 × 0.60025 + 50 is 62.004999999999995, and 2.675 is
    stored as 2.67499999…, so round() gives 62.0 and 2.67. Scaling first and snapping
    the scaled value to 6 decimals removes that noise before the half-up step (62.01, 2.68).
    Accepts a scalar, an array or a Series and returns the same kind.
    """
    scale = 10.0**decimals
    y = np.round(np.asarray(x, dtype=float) * scale, 6)
    r = np.sign(y) * np.floor(np.abs(y) + 0.5) / scale
    if isinstance(x, pd.Series):
        return pd.Series(r, index=x.index, name=x.name)
    if np.ndim(r) == 0:
        return float(r)
    return r


def indicator_points(
    rule: Any, value: Any, lo: Any, hi: Any, m: Any, n: Any, full: float = 20.0
) -> np.ndarray:
    """Points of indicators, vectorised over arrays (or scalars) of equal length.

    rule: one of RULE_KINDS; value: v as defined by the indicator's basis (NaN = missing →
    0 points); lo/hi: the config columns (at_least: lo = threshold t; per_month: lo = k);
    m: calendar month of the as-of month; n: accepted months of the year so far.
    """
    rule = np.asarray(rule, dtype=object)
    v, lo, hi = (np.asarray(a, dtype=float) for a in (value, lo, hi))
    m, n = np.asarray(m, dtype=float), np.asarray(n, dtype=float)
    ytd = m / 12.0
    with np.errstate(divide="ignore", invalid="ignore"):
        # lo == hi degenerates to a threshold at hi (no division by zero).
        lin = np.where(hi > lo, np.clip((v - lo) / (hi - lo), 0, 1), (v >= hi).astype(float))
        lo_y, hi_y = lo * ytd, hi * ytd
        lin_y = np.where(hi_y > lo_y, np.clip((v - lo_y) / (hi_y - lo_y), 0, 1), (v >= hi_y).astype(float))
        need = lo * n
        per = np.where(need > 0, np.clip(v / need, 0, 1), 1.0)
    frac = np.select(
        [
            rule == "linear",
            rule == "linear_ytd",
            rule == "at_least",
            rule == "zero",
            rule == "yes",
            rule == "no",
            rule == "per_month",
        ],
        [lin, lin_y, v >= lo, v == 0, v == YES, v == NO, per],
        default=np.nan,
    ).astype(float)
    bad = sorted({str(r) for r in np.unique(np.atleast_1d(rule).astype(str))} - set(RULE_KINDS))
    if bad:
        raise ValueError(f"unknown indicator rule(s) in config: {bad}")
    return np.where(np.isnan(v), 0.0, full * frac)


def _fmt(x: Any, up: bool = False) -> pd.Series:
    """Numbers as people write them: at most 2 decimals, no trailing zeros (80, 12.5).

    Vectorised (numpy string ops) because hints are built for every branch × indicator ×
    month. up=True rounds *up* to 2 decimals: a target shown that way really suffices.
    NaN gives ''.
    """
    ser = x if isinstance(x, pd.Series) else pd.Series(x, dtype=float)
    arr = ser.to_numpy(dtype=float)
    r = np.ceil(np.round(arr * 100, 6)) / 100 if up else round_half_up(arr)
    text = np.char.rstrip(np.char.rstrip(np.char.mod("%.2f", r), "0"), ".")
    text[text == "-0"] = "0"
    text[np.isnan(arr)] = ""
    return pd.Series(text.astype(object), index=ser.index)


def _fixed2(x: pd.Series) -> pd.Series:
    """Scores as shown in reasons: always 2 decimals (62.00)."""
    return pd.Series(np.char.mod("%.2f", x.to_numpy(dtype=float)).astype(object), index=x.index)


def _yesno(x: pd.Series) -> pd.Series:
    """是 / 否 for answers, the number otherwise."""
    return pd.Series(np.where(x == YES, "是", np.where(x == NO, "否", _fmt(x))), index=x.index, dtype=object)


def _answer(v: Any) -> float:
    """A gate's fails_when (是/否 or a number) as stored in the indicators frame."""
    if v in ("是", True):
        return YES
    if v in ("否", False):
        return NO
    return float(v)


# ----------------------------------------------------------- config views ---


def _indicator_rules(rb: Rulebook) -> pd.DataFrame:
    ind = rb.indicators.rename(columns={"key": "indicator_key"}).copy()
    unknown = sorted(set(ind["rule"]) - set(RULE_KINDS))
    if unknown:
        raise ValueError(f"unknown indicator rule(s) in indicators.csv: {unknown}")
    ind["lo"] = pd.to_numeric(ind["lo"], errors="coerce")
    ind["hi"] = pd.to_numeric(ind["hi"], errors="coerce")
    lo, hi = _fmt(ind["lo"]), _fmt(ind["hi"])
    text = ind["rule"].astype(str)
    text = text.where(~ind["rule"].isin(["linear", "linear_ytd"]), text + " " + lo + "→" + hi)
    text = text.where(~ind["rule"].isin(["at_least", "per_month"]), text + " " + lo)
    ind["rule_text"] = text
    ind["ind_order"] = np.arange(len(ind))
    return ind[
        [
            "branch_type",
            "star_code",
            "indicator_key",
            "header",
            "basis",
            "rule",
            "lo",
            "hi",
            "rule_text",
            "ind_order",
        ]
    ]


def _star_table(rb: Rulebook) -> pd.DataFrame:
    rows = [
        {"branch_type": t, "star_code": code, "star_name": rb.star_name(code), "star_order": i}
        for t in BRANCH_TYPES
        for i, code in enumerate(rb.stars_for(t))
    ]
    return pd.DataFrame(rows, columns=["branch_type", "star_code", "star_name", "star_order"])


def _item_stars(rb: Rulebook) -> pd.DataFrame:
    """(branch_type, item_code) → star_code for items that feed a star of that type."""
    frames = []
    for t in BRANCH_TYPES:
        col = f"star_{TYPE_COLUMN[t]}"
        f = rb.items.loc[rb.items[col].astype(str).str.strip() != "", ["code", col]]
        frames.append(pd.DataFrame({"branch_type": t, "item_code": f["code"], "star_code": f[col]}))
    return pd.concat(frames, ignore_index=True)


def _veto_stars(rb: Rulebook) -> pd.DataFrame:
    """(veto_code, branch_type) → star_code for every star a veto removes."""
    rows = []
    for code, name in zip(rb.vetoes["code"], rb.vetoes["name"], strict=True):
        for t in BRANCH_TYPES:
            for star in rb.vetoed_stars(code, t) or []:
                rows.append({"veto_code": code, "branch_type": t, "star_code": star, "veto_name": name})
    return pd.DataFrame(rows, columns=["veto_code", "branch_type", "star_code", "veto_name"])


# ----------------------------------------------------------------- rating ---


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})


def _join(parts: list[pd.Series], sep: str = SEP) -> pd.Series:
    """Row-wise join of string Series, skipping empty parts (vectorised)."""
    out = parts[0].astype(str)
    for p in parts[1:]:
        p = p.astype(str)
        both = (out != "") & (p != "")
        out = out + pd.Series(np.where(both, sep, ""), index=out.index) + p
    return out


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


def _indicator_hints(sc: pd.DataFrame, full: float) -> pd.Series:
    """The "what would give full marks" text per indicator row; empty at full marks.

    e.g. "卫生厕所普及率（%） 72 → 80 可得满分"; a year-to-date (本月) value is labelled
    本年累计; a `zero` indicator cannot be undone within the year, so it says it must be 0.
    """
    hint = pd.Series("", index=sc.index, dtype=object)
    missing = sc["value"].isna()
    short = ~missing & (sc["points"] < full - 1e-9)
    hint[missing] = sc.loc[missing, "header"] + " 缺少数据"
    if short.any():
        s = sc[short]
        rule = s["rule"].to_numpy()
        target = pd.Series(
            np.select(
                [
                    rule == "linear",
                    rule == "linear_ytd",
                    rule == "at_least",
                    rule == "per_month",
                    rule == "yes",
                ],
                [s["hi"], s["hi"] * s["m"] / 12.0, s["lo"], s["lo"] * s["n"], YES],
                default=NO,  # zero and no
            ),
            index=s.index,
        )
        yn = s["rule"].isin(["yes", "no"])
        cur = _fmt(s["value"]).where(~yn, _yesno(s["value"]))
        tgt = _fmt(target, up=True).where(~yn, _yesno(target))
        label = s["header"] + np.where(s["basis"] == YTD_BASIS, " 本年累计 ", " ")
        text = (label + cur + " → " + tgt + " 可得满分").where(
            s["rule"] != "zero", label + cur + "，须为 0 才得满分"
        )
        hint[short] = text
    return hint


def _joined_hints(sc: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per `keys` (as-of month, branch, star), the non-empty hints in indicator order
    joined with '；'. Vectorised: number the hints, spread them into columns, join.
    """
    h = sc.loc[sc["hint"] != "", [*keys, "ind_order", "hint"]].sort_values([*keys, "ind_order"])
    if h.empty:
        return pd.DataFrame(columns=[*keys, "hint"])
    h["slot"] = h.groupby(keys, sort=False).cumcount()
    wide = h.pivot(index=keys, columns="slot", values="hint").fillna("")
    joined = _join([wide[c].astype(object) for c in wide.columns])
    return joined.rename("hint").reset_index()


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
        return Ratings(_empty(RATING_COLUMNS), _empty(STAR_COLUMNS), _empty(INDICATOR_COLUMNS))

    rules = _indicator_rules(rb)
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
    sc["hint"] = _indicator_hints(sc, full)

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
        failing = vals.loc[vals["v_month"] == _answer(g["fails_when"]), bkeys].assign(_fail=True)
        hit = st[bkeys].merge(failing, on=bkeys, how="left")["_fail"].fillna(False).to_numpy(dtype=bool)
        hit &= (st["star_code"] == g["star"]).to_numpy()
        st.loc[hit, "gate_failed"] = True
        gate_reason = _join([gate_reason, pd.Series(np.where(hit, str(g["reason"]), ""), index=st.index)])

    # ---- decision and reason ----------------------------------------------
    st["awarded"] = (st["total_score"] >= threshold) & ~st["vetoed"] & ~st["gate_failed"]
    hints = _joined_hints(sc, skeys)
    st = st.merge(hints, on=skeys, how="left")  # left merge keeps st's row order
    below = st["total_score"] < threshold
    gap = _fixed2(threshold - st["total_score"])
    shortfall = _join([("差 " + gap + " 分").where(below, ""), st["hint"].fillna("").where(below, "")])
    passed = "达标（" + _fixed2(st["total_score"]) + "分）"
    st["reason"] = passed.where(st["awarded"], _join([veto_reason, gate_reason, shortfall]))

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
        return _empty(CHANGE_COLUMNS)
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
    out["reason"] = head + _join([level, gained_s, lost_s, nothing])
    out = out.sort_values([*keys, "basis"], kind="stable").reset_index(drop=True)
    return out[CHANGE_COLUMNS]
