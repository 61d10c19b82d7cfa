"""Rules GX cannot express: file name vs cover, registry, cross-sheet, previous month, ledger.

In: one submission (parsed workbook, county from the file name, folder period),
the Rulebook, the Registry, the county's prior facts and validation settings.
Out: finding dicts (same shape as GX findings). Also `apply_explanations`, which
marks warnings that the 情况说明 sheet explains.

Row checks are vectorised (masks, dict lookups); Python loops visit only the rows that
get a finding, in row order, so the findings come out as a per-row loop would give them.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from fivestar import cells, tally
from fivestar.config import TYPE_COLUMN, Registry, Rulebook
from fivestar.findings import ERROR, WARNING, finding
from fivestar.ingest.read import ParsedWorkbook
from fivestar.validate.inputs import Prior, Submission
from fivestar.validate.messages import fmt_number

_CODE12 = re.compile(r"^\d{12}$")
_LOCATION = re.compile(r"^(?P<sheet>[^!]+)!\$?(?P<col>[A-Za-z]{1,3})\$?(?P<row>\d+)$")


class _Ctx:
    def __init__(self, sub: Submission, rb: Rulebook) -> None:
        self.pw = sub.parsed
        self.rb = rb
        self.out: list[dict[str, Any]] = []

    def cell_finding(
        self,
        severity: str,
        rule: str,
        msg: str,
        sheet_key: str,
        col_key: str,
        row: pd.Series | dict[str, Any],
        value: Any = None,
    ) -> None:
        spec = self.rb.sheets[sheet_key]
        letter = self.pw.letters.get(sheet_key, {}).get(col_key, "")
        excel_row = int(row["_row"])
        shown = cells.display(value if value is not None else row.get(col_key))
        self.out.append(
            finding(
                severity,
                rule,
                msg,
                file_key=self.pw.file_key,
                sheet=spec.sheet,
                row=excel_row,
                column_name=spec.column(col_key).header,
                cell=f"{letter}{excel_row}",
                value=shown,
                branch_code=str(row.get("branch_code") or ""),
            )
        )

    def sheet_finding(
        self,
        severity: str,
        rule: str,
        msg: str,
        sheet_key: str,
        col_key: str = "",
        value: Any = "",
        branch: str = "",
    ) -> None:
        spec = self.rb.sheets[sheet_key]
        self.out.append(
            finding(
                severity,
                rule,
                msg,
                file_key=self.pw.file_key,
                sheet=spec.sheet,
                column_name=spec.column(col_key).header if col_key else "",
                value=value,
                branch_code=branch,
            )
        )

    def cover_finding(self, severity: str, rule: str, msg: str, key: str) -> None:
        cc = self.pw.cover[key]
        self.out.append(
            finding(
                severity,
                rule,
                msg,
                file_key=self.pw.file_key,
                sheet=self.rb.cover_sheet,
                row=cc.row,
                column_name=cc.label,
                cell=cc.cell,
                value=cells.display(cc.raw) if not cells.is_blank(cc.raw) else "",
            )
        )


def file_rules(
    sub: Submission, rb: Rulebook, registry: Registry, prior: Prior, settings: dict[str, Any]
) -> list[dict[str, Any]]:
    ctx = _Ctx(sub, rb)
    _cover_rules(ctx, sub, registry)
    roster_types = _roster_rules(ctx, sub, registry)
    if roster_types is not None:
        _indicator_rules(ctx, sub, roster_types, prior, settings)
    # Without a readable roster (a missing column) the checks that do not need it still
    # run, so the submitter is told every error at once.
    _ledger_rules(ctx, sub, roster_types, prior)
    _veto_rules(ctx, sub, roster_types)
    return ctx.out


# ---- cover ------------------------------------------------------------------------
def _cover_rules(ctx: _Ctx, sub: Submission, registry: Registry) -> None:
    cover = ctx.pw.cover
    if not cover:
        return
    code = cover["county_code"].text
    if re.fullmatch(r"\d{6}", code or ""):
        if code not in registry.county_codes:
            ctx.cover_finding(
                ERROR,
                "cover.county_code.registry",
                f"县（市、区）代码{code}不在区划登记表中，请核对",
                "county_code",
            )
        elif code != sub.county_code:
            ctx.cover_finding(
                ERROR,
                "cover.county_code.file_name",
                f"封面代码{code}与文件名中的县代码{sub.county_code}不一致，请核对",
                "county_code",
            )
    name = cover["county_name"].text
    official = registry.county_name(sub.county_code)
    if official and name != official:
        ctx.cover_finding(
            WARNING,
            "cover.county_name.registry",
            f"县（市、区）名称与登记名称“{official}”不一致",
            "county_name",
        )
    raw_period = cover["period"].raw
    if not cells.is_blank(raw_period):
        p = cells.parse_period(raw_period)
        if p and p != sub.period:
            ctx.cover_finding(
                ERROR,
                "cover.period.folder",
                f"填报期间{p}与上报目录的期间{sub.period}不一致，请核对",
                "period",
            )


# ---- roster -----------------------------------------------------------------------
def _roster_rules(ctx: _Ctx, sub: Submission, registry: Registry) -> dict[str, str] | None:
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
        row = _record(valid, i, "branch_code")
        if other_county[i]:
            ctx.cell_finding(
                ERROR,
                "roster.branch_code.county",
                f"支部代码前6位应为本县代码{sub.county_code}",
                "roster",
                "branch_code",
                row,
            )
        else:
            ctx.cell_finding(
                WARNING,
                "roster.branch_code.registry",
                "该支部代码不在区划登记表中，请核实是否为新设或代码填写错误",
                "roster",
                "branch_code",
                row,
            )
    present = set(codes)
    for rr in reg.itertuples():
        if rr.code not in present:
            ctx.sheet_finding(
                WARNING,
                "roster.branch_code.missing",
                f"登记表中的支部{rr.code}（{rr.name}）未出现在支部名册中",
                "roster",
                "branch_code",
                rr.code,
                rr.code,
            )
    types = valid.drop_duplicates("branch_code").set_index("branch_code")["branch_type"]
    return {k: v for k, v in types.items() if v in ("村", "社区")}


def _record(f: pd.DataFrame, i: int, *cols: str) -> dict[str, Any]:
    """The fields cell_finding reads of the row at position i (Excel row, branch, column)."""
    out: dict[str, Any] = {"_row": f["_row"].iat[i]}
    for c in ("branch_code", *cols):
        if c in f.columns:
            out[c] = f[c].iat[i]
    return out


# ---- indicators -------------------------------------------------------------------
def _indicator_rules(
    ctx: _Ctx, sub: Submission, roster_types: dict[str, str], prior: Prior, settings: dict[str, Any]
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
    for btype in ("村", "社区"):
        spec = rb.indicator_sheet(btype)
        f = ctx.pw.frames.get(spec.name)
        if f is None:
            continue
        codes = f["branch_code"].fillna("")
        valid = f[codes.str.fullmatch(r"\d{12}")]
        seen = set(valid["branch_code"])
        types = [roster_types.get(c) for c in valid["branch_code"]]
        for i in (i for i, t in enumerate(types) if t != btype):
            t = types[i]
            row = _record(valid, i, "branch_code")
            if t is None:
                ctx.cell_finding(
                    ERROR,
                    f"{spec.name}.branch_code.roster",
                    "该支部代码不在本表的支部名册中",
                    spec.name,
                    "branch_code",
                    row,
                )
            else:
                other = rb.indicator_sheet(t).sheet
                ctx.cell_finding(
                    ERROR,
                    f"{spec.name}.branch_code.type",
                    f"该支部在名册中类型为“{t}”，应填写在“{other}”表中",
                    spec.name,
                    "branch_code",
                    row,
                )
        for code, t in roster_types.items():
            if t == btype and code not in seen:
                ctx.sheet_finding(
                    ERROR,
                    f"{spec.name}.branch_code.missing",
                    f"名册中的{t}支部{code}在“{spec.sheet}”表中缺少指标行，请补充",
                    spec.name,
                    "branch_code",
                    code,
                    code,
                )
        if prev_map:
            _previous_month(ctx, spec, f, prev_map, same_year, jump, prior.prev_period or "")
        _satisfaction(ctx, spec, f, settings)


def _previous_month(
    ctx: _Ctx,
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
            row = _record(f, int(i), col.key)
            v, b = float(values[i]), float(before[i])
            if down[i]:
                ctx.cell_finding(
                    WARNING,
                    f"{spec.name}.{col.key}.cumulative_down",
                    f"累计值低于上月（{prev_period}）的{fmt_number(b)}，请核实",
                    spec.name,
                    col.key,
                    row,
                    fmt_number(v),
                )
            if jumped[i]:
                ctx.cell_finding(
                    WARNING,
                    f"{spec.name}.{col.key}.jump",
                    f"与上月（{prev_period}）的{fmt_number(b)}相比变动超过{fmt_number(jump)}个百分点，请核实",
                    spec.name,
                    col.key,
                    row,
                    fmt_number(v),
                )


def _satisfaction(ctx: _Ctx, spec: Any, f: pd.DataFrame, settings: dict[str, Any]) -> None:
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
            WARNING,
            f"{spec.name}.{key}.all_100",
            f"本县{n}个支部中有{share:.0%}的满意度填报为100，请核实是否如实填报",
            spec.name,
            key,
        )


# ---- ledger -----------------------------------------------------------------------
_SUBJECT_TYPES = ("支部", "党员", "户")


def _catalogue_checks(
    items: pd.DataFrame,
    checked: np.ndarray,
    item: np.ndarray,
    btype: np.ndarray,
    st: np.ndarray,
    sid: np.ndarray,
    pts: np.ndarray,
    code: np.ndarray,
    hits: list[tuple[int, int, str, str, str, str, Any]],
    bad: np.ndarray,
) -> None:
    """Checks 2–7 of the rows with a known item code, as masks (a month is ~1.5 M rows);
    appends (row, order, severity, rule, message, column, value) to `hits`, marks `bad`."""
    if not len(checked):
        return
    it = pd.Series(item[checked], dtype=object)
    b, s_, d, p = btype[checked], st[checked], sid[checked], pts[checked]
    cd = code[checked]
    redeem = it.map(items["kind"] == "redeem").to_numpy(dtype=bool)
    # 2: an item that does not count towards any star of the branch's type (roster
    # types are 村 or 社区 only: _roster_rules keeps no other).
    no_star = np.zeros(len(checked), dtype=bool)
    for t, column in TYPE_COLUMN.items():
        no_star |= (b == t) & ~it.map(items[f"star_{column}"].astype(bool)).to_numpy(dtype=bool)
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
                (i, 2, ERROR, "ledger.item_code.type", f"积分项目{x}不适用于{b[j]}支部", "item_code", None)
            )
        if wrong_subject[j]:
            msg = f"积分项目{x}的对象类型应为“{'或'.join(allowed_of[x])}”"
            hits.append((i, 3, ERROR, "ledger.subject_type.item", msg, "subject_type", None))
        if branch_id[j]:
            msg = "对象类型为“支部”时，对象编号应留空或填写本支部代码"
            hits.append((i, 4, ERROR, "ledger.subject_id.branch", msg, "subject_id", None))
        if no_id[j]:
            msg = f"对象类型为“{s_[j]}”时必须填写对象编号（如DY0012、H0345）"
            hits.append((i, 5, ERROR, "ledger.subject_id.required", msg, "subject_id", None))
        if sign[j]:
            msg = "积分兑换的分值应填写为负数（如-20）"
            hits.append((i, 6, ERROR, "ledger.points.redeem_sign", msg, "points", fmt_number(p[j])))
        if wrong_points[j]:
            msg = f"分值应为积分项目{x}规定的{fmt_number(float(catalogue[j]))}分"
            hits.append((i, 7, ERROR, "ledger.points.catalogue", msg, "points", fmt_number(p[j])))
    bad[checked] |= no_star | wrong_subject | branch_id | no_id | sign | wrong_points | ~has_p


def _ledger_rules(ctx: _Ctx, sub: Submission, roster_types: dict[str, str] | None, prior: Prior) -> None:
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
    hits: list[
        tuple[int, int, str, str, str, str, Any]
    ] = []  # row, order, severity, rule, message, column, value

    # 0: a well-formed code that is not in the roster (the row goes on being checked).
    not_in_roster = np.zeros(n, dtype=bool)
    if roster_types is not None:
        for i in np.flatnonzero(code_str & ~has_type):
            if _CODE12.match(code[i]):
                not_in_roster[i] = True
                hits.append(
                    (
                        i,
                        0,
                        ERROR,
                        "ledger.branch_code.roster",
                        "该支部代码不在支部名册中",
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
                ERROR,
                "ledger.item_code.catalogue",
                "积分项目代码不在积分项目目录中，请对照《填报说明》填写",
                "item_code",
                None,
            )
        )
    _catalogue_checks(items, np.flatnonzero(known), item, btype, st, sid, pts, code, hits, bad)
    for i, _, severity, rule, msg, col, value in sorted(hits, key=lambda h: (h[0], h[1])):
        ctx.cell_finding(severity, rule, msg, "ledger", col, _record(f, int(i), col), value)

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
                WARNING,
                "ledger.points.over_cap",
                f"积分项目{rec['item_code']}每月每个对象最多计{cap}次，本条超出上限不计分",
                "ledger",
                "points",
                row,
                fmt_number(rec["points"]),
            )
        if over[i]:
            ctx.cell_finding(
                ERROR,
                "ledger.points.overdraw",
                "兑换积分超过该对象当时的积分余额，请核实",
                "ledger",
                "points",
                row,
                fmt_number(rec["points"]),
            )


# ---- vetoes -----------------------------------------------------------------------
def _veto_rules(ctx: _Ctx, sub: Submission, roster_types: dict[str, str] | None) -> None:
    rb = ctx.rb
    f = ctx.pw.frames.get("vetoes")
    if f is None or f.empty:
        return
    known = set(rb.vetoes["code"])
    applies = {(v, t): rb.vetoed_stars(v, t) is not None for v in known for t in ("村", "社区")}
    for row in f[["_row", "branch_code", "veto_code"]].to_dict("records"):
        code = row["branch_code"]
        btype = roster_types.get(code) if roster_types is not None and isinstance(code, str) else None
        if roster_types is not None and isinstance(code, str) and _CODE12.match(code) and btype is None:
            ctx.cell_finding(
                ERROR, "vetoes.branch_code.roster", "该支部代码不在支部名册中", "vetoes", "branch_code", row
            )
        v = row["veto_code"]
        if not isinstance(v, str):
            continue
        if v not in known:
            ctx.cell_finding(
                ERROR,
                "vetoes.veto_code.catalogue",
                "否决事项代码不在目录中（V01–V06），请对照《填报说明》填写",
                "vetoes",
                "veto_code",
                row,
            )
        elif btype and not applies[(v, btype)]:
            ctx.cell_finding(
                ERROR, "vetoes.veto_code.type", f"否决事项{v}不适用于{btype}支部", "vetoes", "veto_code", row
            )


# ---- explanations -----------------------------------------------------------------
def parse_locations(pw: ParsedWorkbook) -> tuple[set[tuple[str, str]], set[str]]:
    e = pw.frames.get("explanations")
    cells_: set[tuple[str, str]] = set()
    branches: set[str] = set()
    if e is None or e.empty:
        return cells_, branches
    for loc in e["location"].dropna():
        s = cells.clean_text(loc).replace("！", "!")
        m = _LOCATION.match(s)
        if m:
            cells_.add((cells.normalise_header(m["sheet"]), f"{m['col'].upper()}{m['row']}"))
            continue
        code = cells.to_code(s)
        if _CODE12.match(code):
            branches.add(code)
    return cells_, branches


def apply_explanations(df: pd.DataFrame, pw: ParsedWorkbook, rb: Rulebook) -> pd.DataFrame:
    cells_, branches = parse_locations(pw)
    if not (cells_ or branches) or df.empty:
        return df
    warn = df["severity"] == WARNING
    by_cell = [(cells.normalise_header(s), c) in cells_ for s, c in zip(df["sheet"], df["cell"], strict=True)]
    by_branch = df["branch_code"].isin(branches)
    df = df.copy()
    df["explained"] = warn & (pd.Series(by_cell, index=df.index) | by_branch)
    return df
