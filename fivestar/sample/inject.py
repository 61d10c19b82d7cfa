"""Deterministic injection of known problems into generated workbooks.

In: the list of (county, month) files, the seed, and then one `FileBuild` at a time
with its `MonthContext` (is it the county's last generated month, what the validator
will hold as the previous accepted month). Out: a plan (which files stay clean, which
get warnings only, which get errors) and the problems themselves, each recorded as a
`Pending` issue on the `FileBuild`.

Shares are fixed (`ERROR_SHARE`, `WARNING_SHARE`, each at least one file when there
are three or more files). Errors go to the last generated month first, so an earlier
month a later one is compared with stays accepted. Problems whose effect would spill
into the next month (a rate written as 0.95, a jump, a falling 累计) are only put into
a county's last month, and the consequential warning they cause against the previous
month is recorded too. Each kind of problem is listed in `WARNING_KINDS` / `ERROR_KINDS`
with the finding the validator must raise; kinds rotate across files so a small run
still covers many of them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fivestar.config import ValidationThresholds
from fivestar.sample import names
from fivestar.sample.build import FileBuild, Pending, ledger_row, number, veto_row
from fivestar.sample.province import Branch
from fivestar.sample.sheets import Row, Styled
from fivestar.sample.values import Event, IndicatorDef, VetoEvent, days_in, ym

ERROR_SHARE = 0.15
WARNING_SHARE = 0.25


@dataclass(frozen=True)
class MonthContext:
    is_last: bool  # the county's last generated month: nothing later compares with it
    prev_period: str | None  # the validator's previous accepted month, if any
    prev_meaning: dict[tuple[str, str], Any] | None
    registry_codes: frozenset[str]
    thresholds: ValidationThresholds = ValidationThresholds()


@dataclass(frozen=True)
class FilePlan:
    category: str  # clean | warning | error
    index: int  # running number among files of the same category (drives the rotation)


def plan_files(
    files: list[tuple[int, int]], n_months: int, seed: int, inject: bool
) -> dict[tuple[int, int], FilePlan]:
    """Decide per (county index, month index) whether the file is clean, warns or errs."""
    plan = {f: FilePlan("clean", 0) for f in files}
    n = len(files)
    if not inject or n == 0:
        return plan
    n_err = max(1, int(ERROR_SHARE * n + 0.5)) if n >= 2 else 0
    n_warn = max(1, int(WARNING_SHARE * n + 0.5))
    n_err = min(n_err, n - n_warn) if n > 1 else 0
    rng = random.Random(f"{seed}|plan")
    last = [f for f in files if f[1] == n_months - 1]
    earlier = [f for f in files if f[1] != n_months - 1]
    rng.shuffle(last)
    rng.shuffle(earlier)
    errors = sorted((last + earlier)[:n_err])
    taken = set(errors)
    # The first warning file is a last month when possible: the kinds that only fit a
    # last month (a rate written as 0.95) then appear even in a small run.
    first = [f for f in last if f not in taken][:1]
    rest = [f for f in files if f not in taken and f not in first]
    rng.shuffle(rest)
    warnings = first + sorted(rest[: n_warn - len(first)])
    for i, f in enumerate(errors):
        plan[f] = FilePlan("error", i)
    for i, f in enumerate(warnings):
        plan[f] = FilePlan("warning", i)
    return plan


# ---------------------------------------------------------------------------------------------
# helpers


def _fullwidth(s: str) -> str:
    return s.translate({ord(str(d)): 0xFF10 + d for d in range(10)})


def resident_id(rng: random.Random, county_code: str) -> str:
    """An 18-character ID-card-like value (GB 11643 layout and check digit); never a real one."""
    birth = dt.date(rng.randint(1950, 2000), rng.randint(1, 12), rng.randint(1, 28))
    body = f"{county_code}{birth:%Y%m%d}{rng.randint(100, 999)}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11]


def _touched(fb: FileBuild) -> set[int]:
    return {id(p.row) for p in fb.pending if p.row is not None}


def _touched_codes(fb: FileBuild) -> set[str]:
    return {p.branch_code for p in fb.pending if p.branch_code}


def _roster_rows(fb: FileBuild) -> list[Row]:
    t = _touched(fb)
    return [r for r in fb.sheets["roster"].rows if isinstance(r.meta, Branch) and id(r) not in t]


def _header(fb: FileBuild, sheet_key: str, key: str) -> str:
    return fb.rb.sheets[sheet_key].column(key).header


def _indicator_cells(
    fb: FileBuild, pred: Callable[[IndicatorDef], bool]
) -> list[tuple[str, Row, IndicatorDef]]:
    t = _touched(fb)
    out = []
    for sheet_key in (s.name for s in fb.rb.indicator_sheets):
        sh = fb.sheets[sheet_key]
        if sh.header is None:
            continue
        btype = fb.rb.sheets[sheet_key].branch_type
        for d in fb.defs[btype]:
            if d.header not in sh.header or not pred(d):
                continue
            out.extend((sheet_key, r, d) for r in sh.rows if isinstance(r.meta, Branch) and id(r) not in t)
    return out


def _set(fb: FileBuild, sheet_key: str, row: Row, header: str, value: Any) -> None:
    row[fb.sheets[sheet_key].col(header)] = value


def _add(
    fb: FileBuild,
    severity: str,
    sheet_key: str,
    row: Row | None,
    column: str,
    value: Any,
    rule: str,
    desc: str,
    code: str = "",
) -> None:
    fb.pending.append(Pending(severity, sheet_key, row, column, value, rule, desc, code))


def _ledger_rows(fb: FileBuild) -> list[Row]:
    t = _touched(fb)
    return [r for r in fb.sheets["ledger"].rows if isinstance(r.meta, Event) and id(r) not in t]


def _insert_event(fb: FileBuild, e: Event) -> Row:
    """Insert at the end of the event's day, keeping the ledger in date order."""
    rows = fb.sheets["ledger"].rows
    idx = len(rows)
    for i, r in enumerate(rows):
        if r.meta.day > e.day:
            idx = i
            break
    row = ledger_row(fb, e)
    rows.insert(idx, row)
    return row


def _roster_codes(fb: FileBuild) -> set[str]:
    return {r.meta.code for r in fb.sheets["roster"].rows if isinstance(r.meta, Branch)}


def _cover_row(fb: FileBuild, key: str) -> Row:
    return next(r for r in fb.sheets["cover"].rows if r.meta == key)


def _cover_label(fb: FileBuild, key: str) -> str:
    return next(f["label"] for f in fb.rb.cover_fields if f["key"] == key)


def _shift_period(period: str, months: int) -> str:
    y, m = ym(period)
    k = y * 12 + (m - 1) + months
    return f"{k // 12:04d}-{k % 12 + 1:02d}"


def _branch_present(fb: FileBuild) -> list[Branch]:
    return [r.meta for r in fb.sheets["roster"].rows if isinstance(r.meta, Branch)]


# ---------------------------------------------------------------------------------------------
# warnings: each produces exactly the warning(s) recorded and nothing else


def w_text_number(fb: FileBuild, ctx: MonthContext, rng: random.Random) -> bool:
    cands: list[tuple[str, Row, str, Any]] = []
    for key in ("members", "households"):
        h = _header(fb, "roster", key)
        cands += [("roster", r, h, r[fb.sheets["roster"].col(h)]) for r in _roster_rows(fb)]
    for sk, r, d in _indicator_cells(fb, lambda d: d.value_type in ("int", "num")):
        cands.append((sk, r, d.header, fb.meaning[(r.meta.code, d.key)]))
    cands = [c for c in cands if isinstance(c[3], (int, float)) and not isinstance(c[3], bool)]
    if not cands:
        return False
    sk, row, header, v = rng.choice(cands)
    if isinstance(v, float) and not v.is_integer():
        text = _fullwidth(f"{v}")
    elif abs(v) >= 1000 and rng.random() < 0.6:
        text = f"{int(v):,}"
    elif rng.random() < 0.3:
        text = f" {int(v)} "
    else:
        text = _fullwidth(str(int(v)))
    _set(fb, sk, row, header, text)
    _add(fb, "warning", sk, row, header, text, "text_number", "文本型数字：按数字读取并提示", row.meta.code)
    return True


def w_rate_fraction(fb: FileBuild, ctx: MonthContext, rng: random.Random) -> bool:
    if not ctx.is_last:
        return False  # 0.95 would make next month's 95 look like a 94-point jump
    cands = [
        c
        for c in _indicator_cells(fb, lambda d: d.value_type == "rate")
        if fb.meaning[(c[1].meta.code, c[2].key)] >= 40
    ]
    if not cands:
        return False
    sk, row, d = rng.choice(cands)
    code = row.meta.code
    v = round(float(fb.meaning[(code, d.key)]) / 100, 4)
    _set(fb, sk, row, d.header, v)  # a plain (General) cell: read as written, 0.95
    fb.meaning[(code, d.key)] = v
    _add(
        fb,
        "warning",
        sk,
        row,
        d.header,
        v,
        "rate_fraction",
        "疑似将百分比填为小数（≤1 的比率，单元格非百分比格式）",
        code,
    )
    prev = (ctx.prev_meaning or {}).get((code, d.key))
    if (
        d.basis == "期末"
        and isinstance(prev, (int, float))
        and abs(v - prev) > ctx.thresholds.rate_jump_points
    ):
        _add(
            fb,
            "warning",
            sk,
            row,
            d.header,
            v,
            "rate_jump",
            f"期末比率较上一已通过月份变化超过30个百分点（上月 {prev}）",
            code,
        )
    return True


def w_age_over_60(fb: FileBuild, ctx: MonthContext, rng: random.Random) -> bool:
    rows = _roster_rows(fb)
    if not rows:
        return False
    row = rng.choice(rows)
    age = rng.randint(61, 68)
    h = _header(fb, "roster", "secretary_age")
    _set(fb, "roster", row, h, age)
    _add(fb, "warning", "roster", row, h, age, "age_over_60", "书记年龄超过60岁", row.meta.code)
    return True


def w_resident_id(fb: FileBuild, ctx: MonthContext, rng: random.Random) -> bool:
    present = [b for b in _branch_present(fb) if b.code not in _touched_codes(fb)]
    items = [i for i in fb.items if i.kind != "redeem" and "户" in i.subject_types and (i.points or 0) > 0]
    if not present or not items:
        return False
    b = rng.choice(present)
    cand = [i for i in items if b.type in i.applies]
    if not cand:
        return False
    it = rng.choice(cand)
    rid = resident_id(rng, fb.county.code)
    e = Event(
        rng.randint(1, days_in(fb.period)), b.code, "户", rid, it.code, it.points or 0.0, written_id=rid
    )
    row = _insert_event(fb, e)
    h = _header(fb, "ledger", "subject_id")
    _add(
        fb,
        "warning",
        "ledger",
        row,
        h,
        rid,
        "resident_id",
        "对象编号疑似身份证号：以密钥散列替代后入库",
        b.code,
    )
    return True


def w_cap_overflow(fb: FileBuild, ctx: MonthContext, rng: random.Random) -> bool:
    caps = {i.code: i.cap for i in fb.items if i.cap and (i.points or 0) > 0}
    groups: dict[tuple[str, str, str, str], list[Event]] = {}
    touched = _touched_codes(fb)
    for r in fb.sheets["ledger"].rows:
        e = r.meta
        if (
            isinstance(e, Event)
            and e.item in caps
            and e.branch_code not in touched
            and e.date_override is None
        ):
            groups.setdefault((e.branch_code, e.subject_type, e.subject, e.item), []).append(e)
    if not groups:
        return False
    full = [k for k, v in groups.items() if len(v) >= caps[k[3]]]
    key = rng.choice(sorted(full or groups))
    evs = groups[key]
    day = rng.randint(max(e.day for e in evs), days_in(fb.period))
    row = None
    for _ in range(caps[key[3]] - len(evs) + 1):
        e = dataclasses.replace(evs[-1], day=day, rank=0, note="")
        row = _insert_event(fb, e)
    assert row is not None
    h = _header(fb, "ledger", "points")
    _add(
        fb,
        "warning",
        "ledger",
        row,
        h,
        row[fb.sheets["ledger"].col(h)],
        "cap_overflow",
        f"超过封顶：{key[3]} 每月每对象最多计 {caps[key[3]]} 次，本条不计分",
        key[0],
    )
    return True


def w_not_in_registry(fb: FileBuild, ctx: MonthContext, rng: random.Random) -> bool:
    present = [b for b in _branch_present(fb) if b.type == names.RURAL_TYPE] or _branch_present(fb)
    if not present:
        return False
    b0 = rng.choice(present)
    prefix = b0.code[:9]
    used = {c for c in ctx.registry_codes | _roster_codes(fb) if c.startswith(prefix)}
    start = 201 if b0.type == names.RURAL_TYPE else 1 if b0.type == names.URBAN_TYPE else 401
    num = next((n for n in range(start + 150, start + 199) if f"{prefix}{n:03d}" not in used), None)
    if num is None:
        return False
    code = f"{prefix}{num:03d}"
    name = names.branch_name(rng, {x.name for x in fb.county.branches}, b0.type)
    nb = dataclasses.replace(b0, code=code, name=name, secretary=names.person_name(rng))
    roster = fb.sheets["roster"]
    r0 = next(r for r in roster.rows if r.meta is b0)
    row = Row(list(r0), meta=nb)
    row[roster.col(_header(fb, "roster", "branch_code"))] = fb.code(code)
    row[roster.col(_header(fb, "roster", "branch_name"))] = name
    row[roster.col(_header(fb, "roster", "secretary_name"))] = nb.secretary
    last = max(i for i, r in enumerate(roster.rows) if isinstance(r.meta, Branch))
    roster.rows.insert(last + 1, row)
    sk, ir0 = fb.indicator_row(b0.code) or (None, None)
    if sk is None or ir0 is None:
        return False
    ind = fb.sheets[sk]
    irow = Row(list(ir0), meta=nb)
    irow[ind.col(_header(fb, sk, "branch_code"))] = fb.code(code)
    irow[ind.col(_header(fb, sk, "branch_name"))] = name
    ind.rows.append(irow)
    for d in fb.defs[b0.type]:
        fb.meaning[(code, d.key)] = fb.meaning.get((b0.code, d.key))
    h = _header(fb, "roster", "branch_code")
    _add(
        fb,
        "warning",
        "roster",
        row,
        h,
        row[roster.col(h)],
        "not_in_registry",
        "支部代码不在区划代码库中（新设支部？）",
        code,
    )
    return True


def w_missing_from_roster(fb: FileBuild, ctx: MonthContext, rng: random.Random) -> bool:
    vetoed = {r.meta.branch_code for r in fb.sheets["vetoes"].rows if isinstance(r.meta, VetoEvent)}
    touched = _touched_codes(fb)
    cands = [
        b for b in _branch_present(fb) if b.code not in vetoed | touched and b.code in ctx.registry_codes
    ]
    if len(cands) < 2:
        return False
    b = rng.choice(cands)
    for key in ("roster", *(s.name for s in fb.rb.indicator_sheets), "ledger"):
        sh = fb.sheets[key]
        sh.rows = [
            r
            for r in sh.rows
            if not (getattr(r.meta, "code", None) == b.code or getattr(r.meta, "branch_code", None) == b.code)
        ]
    for d in fb.defs[b.type]:
        fb.meaning.pop((b.code, d.key), None)
    _add(
        fb,
        "warning",
        "roster",
        None,
        _header(fb, "roster", "branch_code"),
        b.code,
        "missing_from_roster",
        "区划代码库中本县的支部未出现在支部名册中",
        b.code,
    )
    return True


def w_extra_column(fb: FileBuild, ctx: MonthContext, rng: random.Random) -> bool:
    roster = fb.sheets["roster"]
    if roster.header is None or "备注" in roster.header:
        return False
    roster.header.append("备注")
    roster.widths.append(16)
    for r in roster.rows:
        r.append(
            rng.choice(("新任书记", "班子调整", "合并村"))
            if isinstance(r.meta, Branch) and rng.random() < 0.15
            else None
        )
    fb.pending.append(
        Pending("warning", "roster", None, "备注", "备注", "extra_column", "多余的列：已忽略", at_header=True)
    )
    return True


def w_members_over_500(fb: FileBuild, ctx: MonthContext, rng: random.Random) -> bool:
    rows = [r for r in _roster_rows(fb) if r.meta.households > 600]
    if not rows:
        return False
    row = rng.choice(rows)
    v = rng.randint(501, 580)
    h = _header(fb, "roster", "members")
    _set(fb, "roster", row, h, v)
    _add(fb, "warning", "roster", row, h, v, "members_over_500", "党员人数超过500人，请核实", row.meta.code)
    return True


def w_county_name_mismatch(fb: FileBuild, ctx: MonthContext, rng: random.Random) -> bool:
    row = _cover_row(fb, "county_name")
    name = fb.county.name
    v = name[:-1] if len(name) > 2 else fb.county.city_name + name
    row[1] = v
    _add(
        fb,
        "warning",
        "cover",
        row,
        _cover_label(fb, "county_name"),
        v,
        "county_name_mismatch",
        f"县（市、区）名称与区划代码库（{name}）不一致",
    )
    return True


def w_phone_blank(fb: FileBuild, ctx: MonthContext, rng: random.Random) -> bool:
    row = _cover_row(fb, "phone")
    row[1] = None
    _add(fb, "warning", "cover", row, _cover_label(fb, "phone"), "", "phone_blank", "联系电话为空")
    return True


def w_email_invalid(fb: FileBuild, ctx: MonthContext, rng: random.Random) -> bool:
    row = _cover_row(fb, "email")
    v = rng.choice(("无", f"{fb.county.code}.example.org"))
    row[1] = v
    _add(fb, "warning", "cover", row, _cover_label(fb, "email"), v, "email_invalid", "电子邮箱格式不正确")
    return True


def w_satisfaction_all_100(fb: FileBuild, ctx: MonthContext, rng: random.Random) -> bool:
    for sk in (s.name for s in fb.rb.indicator_sheets):
        sh = fb.sheets[sk]
        btype = fb.rb.sheets[sk].branch_type
        rows = [r for r in sh.rows if isinstance(r.meta, Branch)]
        key = ctx.thresholds.satisfaction_indicator
        sat = [
            d
            for d in fb.defs[btype]
            if d.value_type == "rate" and (d.key == key if key else "满意度" in d.header)
        ]
        if len(rows) < ctx.thresholds.satisfaction_min_branches or not sat or sh.header is None:
            continue
        d = sat[0]
        if any(p.sheet_key == sk and p.column == d.header for p in fb.pending):
            continue
        for r in rows:
            _set(fb, sk, r, d.header, fb.rate(d.key, 100.0))
            fb.meaning[(r.meta.code, d.key)] = 100.0
        _add(
            fb,
            "warning",
            sk,
            None,
            d.header,
            100,
            "satisfaction_all_100",
            "本县超过90%的支部满意度恰为100，请核实",
        )
        return True
    return False


def w_cumulative_decrease(fb: FileBuild, ctx: MonthContext, rng: random.Random) -> bool:
    if (
        not ctx.is_last
        or not ctx.prev_meaning
        or not ctx.prev_period
        or ym(ctx.prev_period)[0] != ym(fb.period)[0]
    ):
        return False
    cands = []
    for sk, r, d in _indicator_cells(fb, lambda d: d.basis == "累计" and d.value_type in ("num", "int")):
        prev = ctx.prev_meaning.get((r.meta.code, d.key))
        if isinstance(prev, (int, float)) and prev > 1:
            cands.append((sk, r, d, prev))
    if not cands:
        return False
    sk, row, d, prev = rng.choice(cands)
    v = round(prev * rng.uniform(0.5, 0.85), 2) if d.value_type == "num" else int(prev * 0.6)
    _set(fb, sk, row, d.header, number(v))
    fb.meaning[(row.meta.code, d.key)] = v
    _add(
        fb,
        "warning",
        sk,
        row,
        d.header,
        number(v),
        "cumulative_decrease",
        f"累计值低于本年上一已通过月份（上月 {prev}）",
        row.meta.code,
    )
    return True


def w_rate_jump(fb: FileBuild, ctx: MonthContext, rng: random.Random) -> bool:
    if not ctx.is_last or not ctx.prev_meaning:
        return False
    cands = []
    for sk, r, d in _indicator_cells(fb, lambda d: d.value_type == "rate" and d.basis == "期末"):
        prev = ctx.prev_meaning.get((r.meta.code, d.key))
        if isinstance(prev, (int, float)) and prev > 1:
            cands.append((sk, r, d, float(prev)))
    if not cands:
        return False
    sk, row, d, prev = rng.choice(cands)
    limit = ctx.thresholds.rate_jump_points
    delta = limit + rng.randint(5, 15)
    v = prev - delta if prev >= 50 else min(100.0, prev + delta)
    v = round(v, 1)
    if abs(v - prev) <= limit or v <= 1:
        return False
    cell = fb.rate(d.key, v)
    _set(fb, sk, row, d.header, cell)
    fb.meaning[(row.meta.code, d.key)] = v
    shown = cell.value if isinstance(cell, Styled) else cell
    _add(
        fb,
        "warning",
        sk,
        row,
        d.header,
        shown,
        "rate_jump",
        f"期末比率较上一已通过月份变化超过30个百分点（上月 {prev}）",
        row.meta.code,
    )
    return True


# ---------------------------------------------------------------------------------------------
# errors: each is enough to reject the file


def e_rate_out_of_range(fb: FileBuild, ctx: MonthContext, rng: random.Random) -> bool:
    cands = _indicator_cells(fb, lambda d: d.value_type == "rate")
    if not cands:
        return False
    sk, row, d = rng.choice(cands)
    v = rng.choice((120.0, 105.0, 150.0, 110.5))
    cell = fb.rate(d.key, v)
    _set(fb, sk, row, d.header, cell)
    shown = cell.value if isinstance(cell, Styled) else cell
    _add(fb, "error", sk, row, d.header, shown, "rate_out_of_range", "比率超出0–100", row.meta.code)
    return True


def e_bad_type(fb: FileBuild, ctx: MonthContext, rng: random.Random) -> bool:
    rows = _roster_rows(fb)
    if not rows:
        return False
    row = rng.choice(rows)
    v = names.WRONG_TYPE_WORD.get(row.meta.type, row.meta.type + "单位")
    h = _header(fb, "roster", "branch_type")
    _set(fb, "roster", row, h, v)
    _add(
        fb,
        "error",
        "roster",
        row,
        h,
        v,
        "bad_type",
        "类型只能填" + "或".join(f"“{t}”" for t in fb.rb.types),
        row.meta.code,
    )
    return True


def e_blank_submitter(fb: FileBuild, ctx: MonthContext, rng: random.Random) -> bool:
    row = _cover_row(fb, "submitter")
    row[1] = None
    _add(fb, "error", "cover", row, _cover_label(fb, "submitter"), "", "blank_submitter", "填报人为空")
    return True


def e_duplicate_code(fb: FileBuild, ctx: MonthContext, rng: random.Random) -> bool:
    rows = _roster_rows(fb)
    if not rows:
        return False
    row = rng.choice(rows)
    dup = row.copy_row()
    roster = fb.sheets["roster"]
    roster.rows.insert(next(i for i, r in enumerate(roster.rows) if r is row) + 1, dup)
    h = _header(fb, "roster", "branch_code")
    _add(fb, "error", "roster", dup, h, dup[roster.col(h)], "duplicate_code", "支部代码重复", row.meta.code)
    return True


def e_missing_indicator_row(fb: FileBuild, ctx: MonthContext, rng: random.Random) -> bool:
    touched = _touched_codes(fb)
    cands = [b for b in _branch_present(fb) if b.code not in touched]
    if not cands:
        return False
    b = rng.choice(cands)
    hit = fb.indicator_row(b.code)
    if hit is None:
        return False
    sk, row = hit
    fb.sheets[sk].rows.remove(row)
    _add(fb, "error", sk, None, "", b.code, "missing_indicator_row", "名册中的支部在指标表中缺行", b.code)
    return True


def e_wrong_points(fb: FileBuild, ctx: MonthContext, rng: random.Random) -> bool:
    rows = [r for r in _ledger_rows(fb) if r.meta.rank == 0]
    if not rows:
        return False
    row = rng.choice(rows)
    p = row.meta.points
    v = number(p * 10 if abs(p) < 5 else p + 1)
    h = _header(fb, "ledger", "points")
    _set(fb, "ledger", row, h, v)
    _add(
        fb,
        "error",
        "ledger",
        row,
        h,
        v,
        "wrong_points",
        f"分值与积分项目目录不一致（{row.meta.item} 应为 {number(p)}）",
        row.meta.branch_code,
    )
    return True


def e_date_outside_month(fb: FileBuild, ctx: MonthContext, rng: random.Random) -> bool:
    rows = _ledger_rows(fb)
    if not rows:
        return False
    row = rng.choice(rows)
    if rng.random() < 0.5:
        y, m = ym(_shift_period(fb.period, 1))
        d = rng.randint(1, 5)
    else:
        p = _shift_period(fb.period, -1)
        y, m = ym(p)
        d = days_in(p)
    row.meta.date_override = (y, m, d)
    h = _header(fb, "ledger", "event_date")
    v = fb.date(y, m, d)
    _set(fb, "ledger", row, h, v)
    _add(fb, "error", "ledger", row, h, v, "date_outside_month", "日期不在填报月份内", row.meta.branch_code)
    return True


def e_non_numeric(fb: FileBuild, ctx: MonthContext, rng: random.Random) -> bool:
    cands = _indicator_cells(fb, lambda d: d.value_type in ("int", "num"))
    if not cands:
        return False
    sk, row, d = rng.choice(cands)
    v = rng.choice(("待统计", "#DIV/0!", "/", "无"))
    _set(fb, sk, row, d.header, v)
    _add(fb, "error", sk, row, d.header, v, "non_numeric", "应填数字", row.meta.code)
    return True


def e_fraction_in_int(fb: FileBuild, ctx: MonthContext, rng: random.Random) -> bool:
    rows = _roster_rows(fb)
    if not rows:
        return False
    row = rng.choice(rows)
    v = row.meta.members + 0.5
    h = _header(fb, "roster", "members")
    _set(fb, "roster", row, h, v)
    _add(fb, "error", "roster", row, h, v, "fraction_in_int", "党员人数应为整数", row.meta.code)
    return True


def e_bad_yesno(fb: FileBuild, ctx: MonthContext, rng: random.Random) -> bool:
    cands = _indicator_cells(fb, lambda d: d.value_type == "yesno")
    if not cands:
        return False
    sk, row, d = rng.choice(cands)
    v = rng.choice(("有", "√", "Y", "已建"))
    _set(fb, sk, row, d.header, v)
    _add(fb, "error", sk, row, d.header, v, "bad_yesno", "只能填“是”或“否”", row.meta.code)
    return True


def e_age_out_of_range(fb: FileBuild, ctx: MonthContext, rng: random.Random) -> bool:
    rows = _roster_rows(fb)
    if not rows:
        return False
    row = rng.choice(rows)
    v = rng.choice((5, 15, 17))
    h = _header(fb, "roster", "secretary_age")
    _set(fb, "roster", row, h, v)
    _add(fb, "error", "roster", row, h, v, "age_out_of_range", "书记年龄应在18–80岁之间", row.meta.code)
    return True


def e_members_below_3(fb: FileBuild, ctx: MonthContext, rng: random.Random) -> bool:
    rows = _roster_rows(fb)
    if not rows:
        return False
    row = rng.choice(rows)
    h = _header(fb, "roster", "members")
    _set(fb, "roster", row, h, 2)
    _add(fb, "error", "roster", row, h, 2, "members_below_3", "党员人数不足3人", row.meta.code)
    return True


def e_period_mismatch(fb: FileBuild, ctx: MonthContext, rng: random.Random) -> bool:
    row = _cover_row(fb, "period")
    v = fb.period_cell(_shift_period(fb.period, -1))  # last month's cover copied over
    row[1] = v
    shown = v.value if isinstance(v, Styled) else v
    _add(
        fb,
        "error",
        "cover",
        row,
        _cover_label(fb, "period"),
        shown,
        "period_mismatch",
        "填报期间与文件夹月份不一致",
    )
    return True


def e_item_not_applicable(fb: FileBuild, ctx: MonthContext, rng: random.Random) -> bool:
    present = _branch_present(fb)
    pairs = [
        (b, i)
        for i in fb.items
        if i.kind != "redeem" and "支部" in i.subject_types
        for b in present
        if b.type not in i.applies
    ]
    if not pairs:
        return False
    b, it = rng.choice(pairs)
    e = Event(
        rng.randint(1, days_in(fb.period)), b.code, "支部", b.code, it.code, it.points or 0.0, written_id=""
    )
    row = _insert_event(fb, e)
    h = _header(fb, "ledger", "item_code")
    _add(
        fb,
        "error",
        "ledger",
        row,
        h,
        it.code,
        "item_not_applicable",
        f"积分项目 {it.code} 不适用于{b.type}",
        b.code,
    )
    return True


def e_overdraw(fb: FileBuild, ctx: MonthContext, rng: random.Random) -> bool:
    redeem = [i for i in fb.items if i.kind == "redeem"]
    present = _branch_present(fb)
    if not redeem or not present:
        return False
    b = rng.choice(present)
    it = redeem[0]
    stype = "户" if "户" in it.subject_types else it.subject_types[0]
    subj = f"H{rng.randint(1, b.households):04d}" if stype == "户" else f"DY{rng.randint(1, b.members):04d}"
    e = Event(
        rng.randint(1, days_in(fb.period)),
        b.code,
        stype,
        subj,
        it.code,
        -200.0,
        note="兑换家电",
        rank=1,
        written_id=subj,
    )
    row = _insert_event(fb, e)
    h = _header(fb, "ledger", "points")
    _add(fb, "error", "ledger", row, h, -200, "overdraw", "兑换积分超过该对象当时的积分余额", b.code)
    return True


def e_code_not_in_roster(fb: FileBuild, ctx: MonthContext, rng: random.Random) -> bool:
    rows = _ledger_rows(fb)
    if not rows:
        return False
    row = rng.choice(rows)
    known = _roster_codes(fb) | ctx.registry_codes
    code = row.meta.branch_code
    bad = next(f"{code[:9]}{n:03d}" for n in range(399, 0, -1) if f"{code[:9]}{n:03d}" not in known)
    h = _header(fb, "ledger", "branch_code")
    _set(fb, "ledger", row, h, fb.code(bad))
    _add(fb, "error", "ledger", row, h, fb.code(bad), "code_not_in_roster", "支部代码不在本表支部名册中", bad)
    return True


def e_veto_invalid(fb: FileBuild, ctx: MonthContext, rng: random.Random) -> bool:
    present = _branch_present(fb)
    if not present:
        return False
    sh = fb.sheets["vetoes"]
    if sh.header is None:
        sh.header = [c.header for c in fb.rb.sheets["vetoes"].columns]
    bad = [(b, c) for c in fb.rb.vetoes["code"] for b in present if fb.rb.vetoed_stars(c, b.type) is None]
    day = rng.randint(1, days_in(fb.period))
    if bad and rng.random() < 0.6:
        b, code = rng.choice(bad)
        v = VetoEvent(b.code, day, code, "辖区企业违规排放，已责令整改")
        column, rule, desc, shown = (
            _header(fb, "vetoes", "veto_code"),
            "veto_not_applicable",
            f"否决事项 {code} 不适用于{b.type}",
            code,
        )
    else:
        b = rng.choice(present)
        v = VetoEvent(b.code, day, "V03", "")
        column, rule, desc, shown = _header(fb, "vetoes", "note"), "veto_blank_note", "否决事项说明为空", ""
    row = veto_row(fb, v)
    sh.rows.append(row)
    _add(fb, "error", "vetoes", row, column, shown, rule, desc, b.code)
    return True


# structural problems: the file is rejected as a whole; always alone in their file


def s_missing_column(fb: FileBuild, ctx: MonthContext, rng: random.Random) -> bool:
    keys = [s.name for s in fb.rb.indicator_sheets]
    sk = next((k for k in keys if fb.sheets[k].rows), keys[-1])
    sh = fb.sheets[sk]
    btype = fb.rb.sheets[sk].branch_type
    d = rng.choice(fb.defs[btype])
    i = sh.col(d.header)
    del sh.header[i]
    if i < len(sh.widths):
        del sh.widths[i]
    for r in sh.rows:
        del r[i]
    _add(fb, "error", sk, None, d.header, "", "missing_column", "缺少必需的列（模板版本过旧？）")
    return True


def s_missing_sheet(fb: FileBuild, ctx: MonthContext, rng: random.Random) -> bool:
    del fb.sheets["vetoes"]  # submitters delete the "empty" sheet; it is required all the same
    fb.pending.append(
        Pending(
            "error", "vetoes", None, "", "", "missing_sheet", "缺少必需的工作表（无否决事项时也须保留该表）"
        )
    )
    return True


def s_corrupt(fb: FileBuild, ctx: MonthContext, rng: random.Random) -> bool:
    fb.corrupt = True
    fb.pending.append(
        Pending("error", "", None, "", "", "corrupt_file", "文件已损坏（被截断），不是有效的 .xlsx")
    )
    return True


Inject = Callable[[FileBuild, MonthContext, random.Random], bool]

WARNING_KINDS: dict[str, Inject] = {
    "text_number": w_text_number,
    "rate_fraction": w_rate_fraction,
    "age_over_60": w_age_over_60,
    "resident_id": w_resident_id,
    "cap_overflow": w_cap_overflow,
    "not_in_registry": w_not_in_registry,
    "county_name_mismatch": w_county_name_mismatch,
    "satisfaction_all_100": w_satisfaction_all_100,
    "rate_jump": w_rate_jump,
    "extra_column": w_extra_column,
    "missing_from_roster": w_missing_from_roster,
    "members_over_500": w_members_over_500,
    "cumulative_decrease": w_cumulative_decrease,
    "phone_blank": w_phone_blank,
    "email_invalid": w_email_invalid,
}
ERROR_KINDS: dict[str, Inject] = {
    "rate_out_of_range": e_rate_out_of_range,
    "bad_type": e_bad_type,
    "blank_submitter": e_blank_submitter,
    "duplicate_code": e_duplicate_code,
    "missing_indicator_row": e_missing_indicator_row,
    "wrong_points": e_wrong_points,
    "date_outside_month": e_date_outside_month,
    "non_numeric": e_non_numeric,
    "period_mismatch": e_period_mismatch,
    "item_not_applicable": e_item_not_applicable,
    "overdraw": e_overdraw,
    "fraction_in_int": e_fraction_in_int,
    "bad_yesno": e_bad_yesno,
    "age_out_of_range": e_age_out_of_range,
    "code_not_in_roster": e_code_not_in_roster,
    "veto_invalid": e_veto_invalid,
    "members_below_3": e_members_below_3,
}
STRUCTURAL_KINDS: dict[str, Inject] = {
    "missing_column": s_missing_column,
    "missing_sheet": s_missing_sheet,
    "corrupt_file": s_corrupt,
}


def _rotate(
    kinds: dict[str, Inject], start: int, want: int, fb: FileBuild, ctx: MonthContext, rng: random.Random
) -> None:
    names_ = list(kinds)
    done = 0
    for k in range(len(names_)):
        if done >= want:
            break
        if kinds[names_[(start + k) % len(names_)]](fb, ctx, rng):
            done += 1


def inject(fb: FileBuild, plan: FilePlan, ctx: MonthContext, seed: int) -> None:
    """Apply the planned problems to one file (nothing for a clean file)."""
    rng = random.Random(f"{seed}|inject|{fb.county.code}|{fb.period}")
    i = plan.index
    if plan.category == "warning":
        want = 3 if i % 3 == 2 else 2
        _rotate(WARNING_KINDS, 2 * i, want, fb, ctx, rng)
        fb.explain = i % 2 == 0
    elif plan.category == "error":
        if i % 5 == 4:  # every fifth rejected file is broken as a whole
            _rotate(STRUCTURAL_KINDS, i // 5, 1, fb, ctx, rng)
        else:
            _rotate(ERROR_KINDS, 3 * i, 3 if i % 2 else 2, fb, ctx, rng)
