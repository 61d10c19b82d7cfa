"""Warning kinds that add or remove whole rows or columns.

In: one `FileBuild`, its `MonthContext` and the file's random generator. Out: `True` when
the problem was put into the file (a ledger event with an ID-card-like subject, events
past an item's cap, a branch not in the registry, a registry branch left out, an extra
column), with exactly the warning it causes recorded as a `Pending` issue; `False` when
the file offers no place for it (then nothing is changed).
"""

from __future__ import annotations

import dataclasses
import random

from fivestar.sample import names
from fivestar.sample.build import FileBuild, Pending
from fivestar.sample.inject.edits import (
    MonthContext,
    add_pending,
    branch_present,
    column_header,
    insert_event,
    resident_id,
    roster_codes,
    touched_codes,
)
from fivestar.sample.province import Branch
from fivestar.sample.sheets import Row
from fivestar.sample.values import Event, VetoEvent, days_in


def w_resident_id(fb: FileBuild, ctx: MonthContext, rng: random.Random) -> bool:
    present = [b for b in branch_present(fb) if b.code not in touched_codes(fb)]
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
    row = insert_event(fb, e)
    h = column_header(fb, "ledger", "subject_id")
    add_pending(
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
    touched = touched_codes(fb)
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
        row = insert_event(fb, e)
    assert row is not None
    h = column_header(fb, "ledger", "points")
    add_pending(
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
    present = [b for b in branch_present(fb) if b.type == names.RURAL_TYPE] or branch_present(fb)
    if not present:
        return False
    b0 = rng.choice(present)
    prefix = b0.code[:9]
    used = {c for c in ctx.registry_codes | roster_codes(fb) if c.startswith(prefix)}
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
    row[roster.col(column_header(fb, "roster", "branch_code"))] = fb.code(code)
    row[roster.col(column_header(fb, "roster", "branch_name"))] = name
    row[roster.col(column_header(fb, "roster", "secretary_name"))] = nb.secretary
    last = max(i for i, r in enumerate(roster.rows) if isinstance(r.meta, Branch))
    roster.rows.insert(last + 1, row)
    sk, ir0 = fb.indicator_row(b0.code) or (None, None)
    if sk is None or ir0 is None:
        return False
    ind = fb.sheets[sk]
    irow = Row(list(ir0), meta=nb)
    irow[ind.col(column_header(fb, sk, "branch_code"))] = fb.code(code)
    irow[ind.col(column_header(fb, sk, "branch_name"))] = name
    ind.rows.append(irow)
    for d in fb.defs[b0.type]:
        fb.meaning[(code, d.key)] = fb.meaning.get((b0.code, d.key))
    h = column_header(fb, "roster", "branch_code")
    add_pending(
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
    touched = touched_codes(fb)
    cands = [b for b in branch_present(fb) if b.code not in vetoed | touched and b.code in ctx.registry_codes]
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
    add_pending(
        fb,
        "warning",
        "roster",
        None,
        column_header(fb, "roster", "branch_code"),
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
