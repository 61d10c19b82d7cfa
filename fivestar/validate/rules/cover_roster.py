"""Cover against the file name, folder and registry; roster codes against the county and registry."""

from __future__ import annotations

import logging
import re

import numpy as np

from fivestar import cells
from fivestar.config import Registry
from fivestar.validate.catalogue import text as rule_text
from fivestar.validate.inputs import Submission
from fivestar.validate.rules.context import RuleContext, record

log = logging.getLogger(__name__)


def cover_rules(ctx: RuleContext, sub: Submission, registry: Registry) -> None:
    cover = ctx.pw.cover
    if not cover:
        return
    code = cover["county_code"].text
    if re.fullmatch(r"\d{6}", code or ""):
        if code not in registry.county_codes:
            ctx.cover_finding(
                "cover.county_code.registry",
                rule_text("cover.county_code.registry", code=code),
                "county_code",
            )
        elif code != sub.county_code:
            ctx.cover_finding(
                "cover.county_code.file_name",
                rule_text("cover.county_code.file_name", code=code, file_code=sub.county_code),
                "county_code",
            )
    name = cover["county_name"].text
    official = registry.county_name(sub.county_code)
    if official and name != official:
        ctx.cover_finding(
            "cover.county_name.registry",
            rule_text("cover.county_name.registry", official=official),
            "county_name",
        )
    raw_period = cover["period"].raw
    if not cells.is_blank(raw_period):
        p = cells.parse_period(raw_period)
        if p and p != sub.period:
            ctx.cover_finding(
                "cover.period.folder",
                rule_text("cover.period.folder", period=p, folder=sub.period),
                "period",
            )


def roster_rules(ctx: RuleContext, sub: Submission, registry: Registry) -> dict[str, str] | None:
    r = ctx.pw.frames.get("roster")
    if r is None:
        return None
    reg = registry.branches_of(sub.county_code)
    reg_codes = set(reg["code"])
    valid = r[r["branch_code"].fillna("").str.fullmatch(r"\d{12}")]
    codes = valid["branch_code"]
    other_county = ~codes.str.startswith(sub.county_code).to_numpy(dtype=bool)
    unregistered = ~other_county & ~codes.isin(reg_codes).to_numpy(dtype=bool)
    for i in np.flatnonzero(other_county | unregistered):
        row = record(valid, i, "branch_code")
        if other_county[i]:
            ctx.cell_finding(
                "roster.branch_code.county",
                rule_text("roster.branch_code.county", county=sub.county_code),
                "roster",
                "branch_code",
                row,
            )
        else:
            ctx.cell_finding(
                "roster.branch_code.registry",
                rule_text("roster.branch_code.registry"),
                "roster",
                "branch_code",
                row,
            )
    present = set(codes)
    for rr in reg.itertuples():
        if rr.code not in present:
            ctx.sheet_finding(
                "roster.branch_code.missing",
                rule_text("roster.branch_code.missing", code=rr.code, name=rr.name),
                "roster",
                "branch_code",
                rr.code,
                rr.code,
            )
    # A registered branch of a type the configuration does not know cannot be rated: the
    # county is told (it cannot fix it alone), IT reads it in the log and the digest.
    for rr in reg.itertuples():
        if rr.branch_type and rr.branch_type not in ctx.rb.types:
            log.error(
                "registry branch %s of county %s has branch_type %r, which is not configured in "
                "branch_types.csv (configured: %s): add the type or correct registry.csv",
                rr.code,
                sub.county_code,
                rr.branch_type,
                ", ".join(ctx.rb.types),
            )
            ctx.sheet_finding(
                "roster.branch_type.unconfigured",
                rule_text("roster.branch_type.unconfigured", code=rr.code, name=rr.name, type=rr.branch_type),
                "roster",
                "branch_type",
                rr.branch_type,
                rr.code,
            )
    types = valid.drop_duplicates("branch_code").set_index("branch_code")["branch_type"]
    return {k: v for k, v in types.items() if v in ctx.rb.types}
