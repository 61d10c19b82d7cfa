"""The indicator rules of the rulebook: the points a value earns and what it would take.

In: the Rulebook's indicators.csv rows (rule, lo, hi, basis) and indicator values. Out:
points per indicator (`indicator_points`, vectorised), the rules as a frame with their
Chinese wording (`indicator_rules`), and the hints that say what value of each
indicator would give full marks (`indicator_hints`, `joined_hints`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from fivestar.config import Rulebook
from fivestar.score_text import NO, YES, fmt_number, join_texts, yes_no

RULE_KINDS = ("linear", "linear_ytd", "at_least", "zero", "yes", "no", "per_month")
YTD_BASIS = "本月"  # a monthly-flow indicator: its value is summed over the year's accepted months


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


def answer_value(v: Any) -> float:
    """A gate's fails_when (是/否 or a number) as stored in the indicators frame."""
    if v in ("是", True):
        return YES
    if v in ("否", False):
        return NO
    return float(v)


# ----------------------------------------------------------- config views ---


def indicator_rules(rb: Rulebook) -> pd.DataFrame:
    ind = rb.indicators.rename(columns={"key": "indicator_key"}).copy()
    unknown = sorted(set(ind["rule"]) - set(RULE_KINDS))
    if unknown:
        raise ValueError(f"unknown indicator rule(s) in indicators.csv: {unknown}")
    ind["lo"] = pd.to_numeric(ind["lo"], errors="coerce")
    ind["hi"] = pd.to_numeric(ind["hi"], errors="coerce")
    lo, hi = fmt_number(ind["lo"]), fmt_number(ind["hi"])
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


def indicator_hints(sc: pd.DataFrame, full: float) -> pd.Series:
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
        cur = fmt_number(s["value"]).where(~yn, yes_no(s["value"]))
        tgt = fmt_number(target, up=True).where(~yn, yes_no(target))
        label = s["header"] + np.where(s["basis"] == YTD_BASIS, " 本年累计 ", " ")
        text = (label + cur + " → " + tgt + " 可得满分").where(
            s["rule"] != "zero", label + cur + "，须为 0 才得满分"
        )
        hint[short] = text
    return hint


def joined_hints(sc: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per `keys` (as-of month, branch, star), the non-empty hints in indicator order
    joined with '；'. Vectorised: number the hints, spread them into columns, join.
    """
    h = sc.loc[sc["hint"] != "", [*keys, "ind_order", "hint"]].sort_values([*keys, "ind_order"])
    if h.empty:
        return pd.DataFrame(columns=[*keys, "hint"])
    h["slot"] = h.groupby(keys, sort=False).cumcount()
    wide = h.pivot(index=keys, columns="slot", values="hint").fillna("")
    joined = join_texts([wide[c].astype(object) for c in wide.columns])
    return joined.rename("hint").reset_index()
