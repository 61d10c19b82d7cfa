"""Indicator rows against the roster, the previous month, and the county-wide share of 100s."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from fivestar.validate.catalogue import text as rule_text
from fivestar.validate.cell_wording import fmt_number
from fivestar.validate.inputs import Prior, Submission
from fivestar.validate.rules.context import RuleContext, record


def indicator_rules(
    ctx: RuleContext, sub: Submission, roster_types: dict[str, str], prior: Prior, settings: dict[str, Any]
) -> None:
    rb = ctx.rb
    prev = prior.prev_indicators
    prev_map: dict[tuple[str, str], float] = {}
    if prev is not None and len(prev):
        prev_map = {
            (b, k): v
            for b, k, v in zip(prev["branch_code"], prev["indicator_key"], prev["value"], strict=True)
        }
    same_year = bool(prior.prev_period and prior.prev_period[:4] == sub.period[:4])
    jump = float(settings["rate_jump_points"])
    for spec in rb.indicator_sheets:
        btype = spec.branch_type
        f = ctx.pw.frames.get(spec.name)
        if f is None:
            continue
        codes = f["branch_code"].fillna("")
        valid = f[codes.str.fullmatch(r"\d{12}")]
        seen = set(valid["branch_code"])
        types = [roster_types.get(c) for c in valid["branch_code"]]
        for i in (i for i, t in enumerate(types) if t != btype):
            t = types[i]
            row = record(valid, i, "branch_code")
            if t is None:
                ctx.cell_finding(
                    f"{spec.name}.branch_code.roster",
                    rule_text(f"{spec.name}.branch_code.roster"),
                    spec.name,
                    "branch_code",
                    row,
                )
            else:
                other = rb.indicator_sheet(t).sheet
                ctx.cell_finding(
                    f"{spec.name}.branch_code.type",
                    rule_text(f"{spec.name}.branch_code.type", type=t, other=other),
                    spec.name,
                    "branch_code",
                    row,
                )
        for code, t in roster_types.items():
            if t == btype and code not in seen:
                ctx.sheet_finding(
                    f"{spec.name}.branch_code.missing",
                    rule_text(f"{spec.name}.branch_code.missing", type=t, code=code, sheet=spec.sheet),
                    spec.name,
                    "branch_code",
                    code,
                    code,
                )
        if prev_map:
            _previous_month(ctx, spec, f, prev_map, same_year, jump, prior.prev_period or "")
        _satisfaction(ctx, spec, f, settings)


def _previous_month(
    ctx: RuleContext,
    spec: Any,
    f: pd.DataFrame,
    prev_map: dict[tuple[str, str], float],
    same_year: bool,
    jump: float,
    prev_period: str,
) -> None:
    for col in spec.columns:
        if col.star_code is None:
            continue
        cumulative = col.basis == "累计" and same_year
        rate_end = col.basis == "期末" and col.type == "rate"
        if not (cumulative or rate_end):
            continue
        values = f[col.key].to_numpy(dtype="float64", na_value=np.nan)
        before = (
            np.array([prev_map.get((b, col.key), np.nan) for b in f["branch_code"]], dtype="float64")
            if len(f)
            else np.zeros(0)
        )
        known = ~np.isnan(values) & ~np.isnan(before)
        with np.errstate(invalid="ignore"):
            down = known & (values < before) if cumulative else np.zeros(len(f), dtype=bool)
            jumped = known & (np.abs(values - before) > jump) if rate_end else np.zeros(len(f), dtype=bool)
        for i in np.flatnonzero(down | jumped):
            row = record(f, int(i), col.key)
            v, b = float(values[i]), float(before[i])
            if down[i]:
                ctx.cell_finding(
                    f"{spec.name}.{col.key}.cumulative_down",
                    rule_text(
                        f"{spec.name}.{col.key}.cumulative_down",
                        prev_period=prev_period,
                        before=fmt_number(b),
                    ),
                    spec.name,
                    col.key,
                    row,
                    fmt_number(v),
                )
            if jumped[i]:
                ctx.cell_finding(
                    f"{spec.name}.{col.key}.jump",
                    rule_text(
                        f"{spec.name}.{col.key}.jump",
                        prev_period=prev_period,
                        before=fmt_number(b),
                        jump=fmt_number(jump),
                    ),
                    spec.name,
                    col.key,
                    row,
                    fmt_number(v),
                )


def _satisfaction(ctx: RuleContext, spec: Any, f: pd.DataFrame, settings: dict[str, Any]) -> None:
    key = settings["satisfaction_indicator"]
    if key not in f.columns:
        return
    vals = f.loc[f["branch_code"].fillna("").str.fullmatch(r"\d{12}"), key]
    n = len(vals)
    if n >= int(settings["satisfaction_min_branches"]) and (vals == 100).sum() / n > float(
        settings["satisfaction_max_share_100"]
    ):
        share = (vals == 100).sum() / n
        ctx.sheet_finding(
            f"{spec.name}.{key}.all_100",
            rule_text(f"{spec.name}.{key}.all_100", n=n, share=f"{share:.0%}"),
            spec.name,
            key,
        )
