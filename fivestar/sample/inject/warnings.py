"""Warning kinds that change values in place: problems that let the file through but are reported.

In: one `FileBuild`, its `MonthContext` and the file's random generator. Out: `True` when
the problem was put into the file (a number written as text, a rate as a fraction, an
unusual age or member count, a cover field, a satisfaction of 100 everywhere, a falling
累计 or jumping rate), with exactly the warning(s) it causes recorded as `Pending` issues
and nothing else (for a rate written as 0.95, also the consequential
jump against the previous accepted month); `False` when the file offers no place for it
(then nothing is changed and the next kind in the rotation is tried).
"""

from __future__ import annotations

import random
from typing import Any

from fivestar.sample.build import FileBuild, number
from fivestar.sample.inject.edits import (
    MonthContext,
    add_pending,
    column_header,
    cover_label,
    cover_row,
    fullwidth,
    indicator_cells,
    roster_rows,
    set_cell,
)
from fivestar.sample.province import Branch
from fivestar.sample.sheets import Row, Styled
from fivestar.sample.values import ym


def w_text_number(fb: FileBuild, ctx: MonthContext, rng: random.Random) -> bool:
    cands: list[tuple[str, Row, str, Any]] = []
    for key in ("members", "households"):
        h = column_header(fb, "roster", key)
        cands += [("roster", r, h, r[fb.sheets["roster"].col(h)]) for r in roster_rows(fb)]
    for sk, r, d in indicator_cells(fb, lambda d: d.value_type in ("int", "num")):
        cands.append((sk, r, d.header, fb.meaning[(r.meta.code, d.key)]))
    cands = [c for c in cands if isinstance(c[3], (int, float)) and not isinstance(c[3], bool)]
    if not cands:
        return False
    sk, row, header, v = rng.choice(cands)
    if isinstance(v, float) and not v.is_integer():
        text = fullwidth(f"{v}")
    elif abs(v) >= 1000 and rng.random() < 0.6:
        text = f"{int(v):,}"
    elif rng.random() < 0.3:
        text = f" {int(v)} "
    else:
        text = fullwidth(str(int(v)))
    set_cell(fb, sk, row, header, text)
    add_pending(
        fb, "warning", sk, row, header, text, "text_number", "文本型数字：按数字读取并提示", row.meta.code
    )
    return True


def w_rate_fraction(fb: FileBuild, ctx: MonthContext, rng: random.Random) -> bool:
    if not ctx.is_last:
        return False  # 0.95 would make next month's 95 look like a 94-point jump
    cands = [
        c
        for c in indicator_cells(fb, lambda d: d.value_type == "rate")
        if fb.meaning[(c[1].meta.code, c[2].key)] >= 40
    ]
    if not cands:
        return False
    sk, row, d = rng.choice(cands)
    code = row.meta.code
    v = round(float(fb.meaning[(code, d.key)]) / 100, 4)
    set_cell(fb, sk, row, d.header, v)  # a plain (General) cell: read as written, 0.95
    fb.meaning[(code, d.key)] = v
    add_pending(
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
        add_pending(
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
    rows = roster_rows(fb)
    if not rows:
        return False
    row = rng.choice(rows)
    age = rng.randint(61, 68)
    h = column_header(fb, "roster", "secretary_age")
    set_cell(fb, "roster", row, h, age)
    add_pending(fb, "warning", "roster", row, h, age, "age_over_60", "书记年龄超过60岁", row.meta.code)
    return True


def w_members_over_500(fb: FileBuild, ctx: MonthContext, rng: random.Random) -> bool:
    rows = [r for r in roster_rows(fb) if r.meta.households > 600]
    if not rows:
        return False
    row = rng.choice(rows)
    v = rng.randint(501, 580)
    h = column_header(fb, "roster", "members")
    set_cell(fb, "roster", row, h, v)
    add_pending(
        fb, "warning", "roster", row, h, v, "members_over_500", "党员人数超过500人，请核实", row.meta.code
    )
    return True


def w_county_name_mismatch(fb: FileBuild, ctx: MonthContext, rng: random.Random) -> bool:
    row = cover_row(fb, "county_name")
    name = fb.county.name
    v = name[:-1] if len(name) > 2 else fb.county.city_name + name
    row[1] = v
    add_pending(
        fb,
        "warning",
        "cover",
        row,
        cover_label(fb, "county_name"),
        v,
        "county_name_mismatch",
        f"县（市、区）名称与区划代码库（{name}）不一致",
    )
    return True


def w_phone_blank(fb: FileBuild, ctx: MonthContext, rng: random.Random) -> bool:
    row = cover_row(fb, "phone")
    row[1] = None
    add_pending(fb, "warning", "cover", row, cover_label(fb, "phone"), "", "phone_blank", "联系电话为空")
    return True


def w_email_invalid(fb: FileBuild, ctx: MonthContext, rng: random.Random) -> bool:
    row = cover_row(fb, "email")
    v = rng.choice(("无", f"{fb.county.code}.example.org"))
    row[1] = v
    add_pending(
        fb, "warning", "cover", row, cover_label(fb, "email"), v, "email_invalid", "电子邮箱格式不正确"
    )
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
            set_cell(fb, sk, r, d.header, fb.rate(d.key, 100.0))
            fb.meaning[(r.meta.code, d.key)] = 100.0
        add_pending(
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
    for sk, r, d in indicator_cells(fb, lambda d: d.basis == "累计" and d.value_type in ("num", "int")):
        prev = ctx.prev_meaning.get((r.meta.code, d.key))
        if isinstance(prev, (int, float)) and prev > 1:
            cands.append((sk, r, d, prev))
    if not cands:
        return False
    sk, row, d, prev = rng.choice(cands)
    v = round(prev * rng.uniform(0.5, 0.85), 2) if d.value_type == "num" else int(prev * 0.6)
    set_cell(fb, sk, row, d.header, number(v))
    fb.meaning[(row.meta.code, d.key)] = v
    add_pending(
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
    for sk, r, d in indicator_cells(fb, lambda d: d.value_type == "rate" and d.basis == "期末"):
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
    set_cell(fb, sk, row, d.header, cell)
    fb.meaning[(row.meta.code, d.key)] = v
    shown = cell.value if isinstance(cell, Styled) else cell
    add_pending(
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
