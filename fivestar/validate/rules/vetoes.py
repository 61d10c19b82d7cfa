"""Veto rows against the roster and the veto catalogue."""

from __future__ import annotations

from fivestar.validate.catalogue import text as rule_text
from fivestar.validate.inputs import Submission
from fivestar.validate.rules.context import CODE12, RuleContext


def veto_rules(ctx: RuleContext, sub: Submission, roster_types: dict[str, str] | None) -> None:
    rb = ctx.rb
    f = ctx.pw.frames.get("vetoes")
    if f is None or f.empty:
        return
    known = set(rb.vetoes["code"])
    applies = {(v, t): rb.vetoed_stars(v, t) is not None for v in known for t in rb.types}
    for row in f[["_row", "branch_code", "veto_code"]].to_dict("records"):
        code = row["branch_code"]
        btype = roster_types.get(code) if roster_types is not None and isinstance(code, str) else None
        if roster_types is not None and isinstance(code, str) and CODE12.match(code) and btype is None:
            ctx.cell_finding(
                "vetoes.branch_code.roster",
                rule_text("vetoes.branch_code.roster"),
                "vetoes",
                "branch_code",
                row,
            )
        v = row["veto_code"]
        if not isinstance(v, str):
            continue
        if v not in known:
            ctx.cell_finding(
                "vetoes.veto_code.catalogue",
                rule_text("vetoes.veto_code.catalogue", first=min(known), last=max(known)),
                "vetoes",
                "veto_code",
                row,
            )
        elif btype and not applies[(v, btype)]:
            ctx.cell_finding(
                "vetoes.veto_code.type",
                rule_text("vetoes.veto_code.type", code=v, type=btype),
                "vetoes",
                "veto_code",
                row,
            )
