"""Error and structural kinds: problems that get the file rejected.

In: one `FileBuild`, its `MonthContext` and the file's random generator. Out: `True` when
the problem was put into the file and recorded as a `Pending` error, `False` when the
file offers no place for it. The `e_*` kinds each spoil one cell or row and are enough
to reject the file; the `s_*` (structural) kinds break the file as a whole (a missing
column or sheet, a truncated file) and are always alone in their file.
"""

from __future__ import annotations

import random

from fivestar.sample import names
from fivestar.sample.build import FileBuild, Pending, number, veto_row
from fivestar.sample.inject.edits import (
    MonthContext,
    add_pending,
    branch_present,
    column_header,
    cover_label,
    cover_row,
    indicator_cells,
    insert_event,
    ledger_rows,
    roster_codes,
    roster_rows,
    set_cell,
    shift_period,
    touched_codes,
)
from fivestar.sample.sheets import Styled
from fivestar.sample.values import Event, VetoEvent, days_in, ym


def e_rate_out_of_range(fb: FileBuild, ctx: MonthContext, rng: random.Random) -> bool:
    cands = indicator_cells(fb, lambda d: d.value_type == "rate")
    if not cands:
        return False
    sk, row, d = rng.choice(cands)
    v = rng.choice((120.0, 105.0, 150.0, 110.5))
    cell = fb.rate(d.key, v)
    set_cell(fb, sk, row, d.header, cell)
    shown = cell.value if isinstance(cell, Styled) else cell
    add_pending(fb, "error", sk, row, d.header, shown, "rate_out_of_range", "比率超出0–100", row.meta.code)
    return True


def e_bad_type(fb: FileBuild, ctx: MonthContext, rng: random.Random) -> bool:
    rows = roster_rows(fb)
    if not rows:
        return False
    row = rng.choice(rows)
    v = names.WRONG_TYPE_WORD.get(row.meta.type, row.meta.type + "单位")
    h = column_header(fb, "roster", "branch_type")
    set_cell(fb, "roster", row, h, v)
    add_pending(
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
    row = cover_row(fb, "submitter")
    row[1] = None
    add_pending(fb, "error", "cover", row, cover_label(fb, "submitter"), "", "blank_submitter", "填报人为空")
    return True


def e_duplicate_code(fb: FileBuild, ctx: MonthContext, rng: random.Random) -> bool:
    rows = roster_rows(fb)
    if not rows:
        return False
    row = rng.choice(rows)
    dup = row.copy_row()
    roster = fb.sheets["roster"]
    roster.rows.insert(next(i for i, r in enumerate(roster.rows) if r is row) + 1, dup)
    h = column_header(fb, "roster", "branch_code")
    add_pending(
        fb, "error", "roster", dup, h, dup[roster.col(h)], "duplicate_code", "支部代码重复", row.meta.code
    )
    return True


def e_missing_indicator_row(fb: FileBuild, ctx: MonthContext, rng: random.Random) -> bool:
    touched = touched_codes(fb)
    cands = [b for b in branch_present(fb) if b.code not in touched]
    if not cands:
        return False
    b = rng.choice(cands)
    hit = fb.indicator_row(b.code)
    if hit is None:
        return False
    sk, row = hit
    fb.sheets[sk].rows.remove(row)
    add_pending(
        fb, "error", sk, None, "", b.code, "missing_indicator_row", "名册中的支部在指标表中缺行", b.code
    )
    return True


def e_wrong_points(fb: FileBuild, ctx: MonthContext, rng: random.Random) -> bool:
    rows = [r for r in ledger_rows(fb) if r.meta.rank == 0]
    if not rows:
        return False
    row = rng.choice(rows)
    p = row.meta.points
    v = number(p * 10 if abs(p) < 5 else p + 1)
    h = column_header(fb, "ledger", "points")
    set_cell(fb, "ledger", row, h, v)
    add_pending(
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
    rows = ledger_rows(fb)
    if not rows:
        return False
    row = rng.choice(rows)
    if rng.random() < 0.5:
        y, m = ym(shift_period(fb.period, 1))
        d = rng.randint(1, 5)
    else:
        p = shift_period(fb.period, -1)
        y, m = ym(p)
        d = days_in(p)
    row.meta.date_override = (y, m, d)
    h = column_header(fb, "ledger", "event_date")
    v = fb.date(y, m, d)
    set_cell(fb, "ledger", row, h, v)
    add_pending(
        fb, "error", "ledger", row, h, v, "date_outside_month", "日期不在填报月份内", row.meta.branch_code
    )
    return True


def e_non_numeric(fb: FileBuild, ctx: MonthContext, rng: random.Random) -> bool:
    cands = indicator_cells(fb, lambda d: d.value_type in ("int", "num"))
    if not cands:
        return False
    sk, row, d = rng.choice(cands)
    v = rng.choice(("待统计", "#DIV/0!", "/", "无"))
    set_cell(fb, sk, row, d.header, v)
    add_pending(fb, "error", sk, row, d.header, v, "non_numeric", "应填数字", row.meta.code)
    return True


def e_fraction_in_int(fb: FileBuild, ctx: MonthContext, rng: random.Random) -> bool:
    rows = roster_rows(fb)
    if not rows:
        return False
    row = rng.choice(rows)
    v = row.meta.members + 0.5
    h = column_header(fb, "roster", "members")
    set_cell(fb, "roster", row, h, v)
    add_pending(fb, "error", "roster", row, h, v, "fraction_in_int", "党员人数应为整数", row.meta.code)
    return True


def e_bad_yesno(fb: FileBuild, ctx: MonthContext, rng: random.Random) -> bool:
    cands = indicator_cells(fb, lambda d: d.value_type == "yesno")
    if not cands:
        return False
    sk, row, d = rng.choice(cands)
    v = rng.choice(("有", "√", "Y", "已建"))
    set_cell(fb, sk, row, d.header, v)
    add_pending(fb, "error", sk, row, d.header, v, "bad_yesno", "只能填“是”或“否”", row.meta.code)
    return True


def e_age_out_of_range(fb: FileBuild, ctx: MonthContext, rng: random.Random) -> bool:
    rows = roster_rows(fb)
    if not rows:
        return False
    row = rng.choice(rows)
    v = rng.choice((5, 15, 17))
    h = column_header(fb, "roster", "secretary_age")
    set_cell(fb, "roster", row, h, v)
    add_pending(
        fb, "error", "roster", row, h, v, "age_out_of_range", "书记年龄应在18–80岁之间", row.meta.code
    )
    return True


def e_members_below_3(fb: FileBuild, ctx: MonthContext, rng: random.Random) -> bool:
    rows = roster_rows(fb)
    if not rows:
        return False
    row = rng.choice(rows)
    h = column_header(fb, "roster", "members")
    set_cell(fb, "roster", row, h, 2)
    add_pending(fb, "error", "roster", row, h, 2, "members_below_3", "党员人数不足3人", row.meta.code)
    return True


def e_period_mismatch(fb: FileBuild, ctx: MonthContext, rng: random.Random) -> bool:
    row = cover_row(fb, "period")
    v = fb.period_cell(shift_period(fb.period, -1))  # last month's cover copied over
    row[1] = v
    shown = v.value if isinstance(v, Styled) else v
    add_pending(
        fb,
        "error",
        "cover",
        row,
        cover_label(fb, "period"),
        shown,
        "period_mismatch",
        "填报期间与文件夹月份不一致",
    )
    return True


def e_item_not_applicable(fb: FileBuild, ctx: MonthContext, rng: random.Random) -> bool:
    present = branch_present(fb)
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
    row = insert_event(fb, e)
    h = column_header(fb, "ledger", "item_code")
    add_pending(
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
    present = branch_present(fb)
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
    row = insert_event(fb, e)
    h = column_header(fb, "ledger", "points")
    add_pending(fb, "error", "ledger", row, h, -200, "overdraw", "兑换积分超过该对象当时的积分余额", b.code)
    return True


def e_code_not_in_roster(fb: FileBuild, ctx: MonthContext, rng: random.Random) -> bool:
    rows = ledger_rows(fb)
    if not rows:
        return False
    row = rng.choice(rows)
    known = roster_codes(fb) | ctx.registry_codes
    code = row.meta.branch_code
    bad = next(f"{code[:9]}{n:03d}" for n in range(399, 0, -1) if f"{code[:9]}{n:03d}" not in known)
    h = column_header(fb, "ledger", "branch_code")
    set_cell(fb, "ledger", row, h, fb.code(bad))
    add_pending(
        fb, "error", "ledger", row, h, fb.code(bad), "code_not_in_roster", "支部代码不在本表支部名册中", bad
    )
    return True


def e_veto_invalid(fb: FileBuild, ctx: MonthContext, rng: random.Random) -> bool:
    present = branch_present(fb)
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
            column_header(fb, "vetoes", "veto_code"),
            "veto_not_applicable",
            f"否决事项 {code} 不适用于{b.type}",
            code,
        )
    else:
        b = rng.choice(present)
        v = VetoEvent(b.code, day, "V03", "")
        column, rule, desc, shown = (
            column_header(fb, "vetoes", "note"),
            "veto_blank_note",
            "否决事项说明为空",
            "",
        )
    row = veto_row(fb, v)
    sh.rows.append(row)
    add_pending(fb, "error", "vetoes", row, column, shown, rule, desc, b.code)
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
    add_pending(fb, "error", sk, None, d.header, "", "missing_column", "缺少必需的列（模板版本过旧？）")
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
