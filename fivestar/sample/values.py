"""Clean, plausible values for one branch and month: indicators, ledger events, vetoes.

In: the rulebook's indicator and points-item tables, a `Branch` (with its latent
quality), a period `YYYY-MM` and the seed. Out: indicator values keyed by indicator
key (numbers, or 是/否), ledger `Event`s that respect every catalogue rule (item fits
the branch type and subject type, points equal the catalogue, caps never exceeded,
redemptions never larger than the balance) and veto events.

Values are generated from each indicator's rule kind and thresholds in the config
(not from hard-coded headers), so a city that edits thresholds still gets a spread of
star levels. Randomness is split so that months stay consistent: 期末 values come from
a per-branch stream (stable, small monthly drift), 累计 values from a per-year stream
(never decreasing within a year), 本月 values from a per-month stream.
"""

from __future__ import annotations

import calendar
import math
import random
from dataclasses import dataclass, field

from fivestar.config import Rulebook
from fivestar.sample.province import Branch, County


@dataclass(frozen=True)
class IndicatorDef:
    key: str
    header: str
    value_type: str  # rate | int | num | yesno
    basis: str  # 本月 | 累计 | 期末
    rule: str
    lo: float | None
    hi: float | None
    star_code: str


@dataclass(frozen=True)
class ItemDef:
    code: str
    name: str
    subject_types: tuple[str, ...]
    points: float | None
    cap: int | None
    kind: str  # earn | redeem
    applies: frozenset[str]  # branch types


@dataclass
class Event:
    """One ledger row before rendering; `subject` is the canonical subject id."""

    day: int
    branch_code: str
    subject_type: str
    subject: str
    item: str
    points: float
    note: str = ""
    rank: int = 0  # redemptions sort after earnings of the same day
    seq: int = 0
    written_id: str | None = None  # what goes into 对象编号 (blank allowed for 支部)
    date_override: tuple[int, int, int] | None = None  # injected date outside the month


@dataclass
class VetoEvent:
    branch_code: str
    day: int
    code: str
    note: str
    date_override: tuple[int, int, int] | None = None


def _num(s: str) -> float | None:
    return float(s) if s not in ("", None) else None


def indicator_defs(rb: Rulebook, branch_type: str) -> list[IndicatorDef]:
    return [
        IndicatorDef(r.key, r.header, r.value_type, r.basis, r.rule, _num(r.lo), _num(r.hi), r.star_code)
        for r in rb.indicators_for(branch_type).itertuples()
    ]


def item_defs(rb: Rulebook) -> list[ItemDef]:
    out = []
    for r in rb.items.itertuples():
        applies = frozenset(t for t in rb.types if rb.item_applies(r.code, t))
        out.append(
            ItemDef(
                code=r.code,
                name=r.name,
                subject_types=tuple(r.subject_type.split("|")),
                points=_num(r.points),
                cap=int(r.cap) if r.cap else None,
                kind=r.kind,
                applies=applies,
            )
        )
    return out


def _clamp(x: float, lo: float, hi: float) -> float:
    return max(lo, min(hi, x))


def ym(period: str) -> tuple[int, int]:
    y, m = period.split("-")
    return int(y), int(m)


def days_in(period: str) -> int:
    y, m = ym(period)
    return calendar.monthrange(y, m)[1]


def _int_from_mean(rng: random.Random, mu: float) -> int:
    base = int(mu)
    return base + (1 if rng.random() < mu - base else 0)


def _value(
    d: IndicatorDef,
    q: float,
    base: random.Random,
    monthly: random.Random,
    yearly: random.Random,
    month: int,
) -> float | int | str:
    # A fixed number of draws from `base` and `yearly` per indicator keeps every stream
    # aligned whatever the month, so 期末 values of consecutive months stay close.
    f = 1.45 * q + 0.05 + base.gauss(0, 0.12)  # share of full marks this branch earns
    coin = base.random()
    extra = base.random()
    weights = [yearly.uniform(0.4, 1.6) for _ in range(12)]
    lo = d.lo if d.lo is not None else 0.0
    hi = d.hi if d.hi is not None else lo + 1.0
    span = hi - lo or 1.0

    if d.value_type == "yesno":
        if d.rule == "no":  # e.g. 是否软弱涣散: 是 is the bad answer, rare
            return "是" if coin < 0.12 * (1 - q) + 0.01 else "否"
        return "是" if coin < 0.6 + 0.4 * q else "否"

    if d.rule == "zero":  # incidents: usually none
        p = 0.012 + 0.05 * (1 - q)
        if monthly.random() >= p:
            return 0
        return 1 if monthly.random() < 0.8 else 2

    if d.rule == "per_month":
        g = _clamp(0.35 + 0.9 * q + (coin - 0.5) * 0.3, 0.05, 1.6)
        mu = lo * g * monthly.uniform(0.6, 1.4)
        if d.value_type == "int":
            return _int_from_mean(monthly, mu)
        return round(mu, 1)

    if d.rule == "at_least":
        t = math.ceil(lo)
        if coin < 0.55 + 0.45 * q:
            v = t + int(extra * 4)
        else:
            v = int(extra * t)
        if d.value_type == "rate":
            return float(_clamp(v, 3, 100))
        return v + (1 if monthly.random() < 0.05 else 0)

    if d.rule == "linear_ytd":  # 累计: annual amount spread over the months, never falling
        annual = max(lo * 0.15, lo + span * f) * (3 if extra < 0.04 else 1)
        cum = sum(weights[:month]) / sum(weights)
        v = annual * cum
        return round(v, 2) if d.value_type != "int" else int(v)

    # linear (and any other rule): a level around lo + span * f
    level = lo + span * f
    if d.value_type == "rate":
        floor = max(3.0, lo - span * 1.2)
        level = _clamp(level, floor, 100.0)
        v = _clamp(level + 0.3 * month / 12 + monthly.gauss(0, 0.8), floor, 100.0)
        return round(v, 1) if extra < 0.4 else float(round(v))
    if d.value_type == "int":
        v = max(0, round(level))
        return v + (1 if monthly.random() < 0.1 else 0)
    if span >= 1000:  # money in 元
        return float(round(max(0.0, level) * (1 + 0.001 * month), -1))
    return round(max(0.0, level), 1)


def indicator_values(
    defs: list[IndicatorDef], branch: Branch, period: str, seed: int
) -> dict[str, float | int | str]:
    year, month = ym(period)
    base = random.Random(f"{seed}|{branch.code}|base")
    monthly = random.Random(f"{seed}|{branch.code}|{period}")
    yearly = random.Random(f"{seed}|{branch.code}|{year}")
    return {
        d.key: _value(d, branch.star_quality.get(d.star_code, branch.quality), base, monthly, yearly, month)
        for d in defs
    }


# ---------------------------------------------------------------------------------------------
# Ledger


REDEEM_NOTES = ("兑换食用油", "兑换洗衣液", "兑换大米", "兑换日用品", "积分超市兑换", "兑换毛巾、香皂")


@dataclass
class LedgerState:
    """Per county, carried from month to month: what a redemption may safely take.

    The pipeline checks a redemption against the balance of the months it has loaded.
    A month may be missing (rejected, or the branch left out), so a redemption must fit
    even then: its bound is this month's running balance plus every earlier month's net
    change that was negative (a subset of months can never be lower than that).
    """

    negative_history: dict[tuple[str, str, str], float] = field(default_factory=dict)


def _weight(item: ItemDef) -> float:
    p = item.points or 0.0
    return 1.0 / max(1.0, abs(p)) if p > 0 else 0.3 / max(1.0, abs(p))


def branch_events(
    items: list[ItemDef],
    branch: Branch,
    period: str,
    seed: int,
    mean_events: int,
    state: LedgerState,
    branch_blank_id: bool,
) -> list[Event]:
    rng = random.Random(f"{seed}|{branch.code}|{period}|ledger")
    ndays = days_in(period)
    usable = [i for i in items if branch.type in i.applies and i.kind != "redeem"]
    redeem = [i for i in items if i.kind == "redeem" and branch.type in i.applies]
    by_subject: dict[str, list[ItemDef]] = {}
    for it in usable:
        for st in it.subject_types:
            by_subject.setdefault(st, []).append(it)
    subject_weights = {"支部": 0.2, "党员": 0.35, "户": 0.45}
    stypes = [s for s in by_subject]
    sweights = [subject_weights.get(s, 0.3) for s in stypes]

    activity = 0.6 + 0.8 * branch.quality
    n = max(0, round(mean_events * activity * rng.uniform(0.5, 1.5)))
    n_member = max(1, min(branch.members, round(n * 0.25) + 1))
    n_house = max(1, min(branch.households, round(n * 0.3) + 1))
    members = rng.sample(range(1, branch.members + 1), n_member)
    houses = rng.sample(range(1, branch.households + 1), n_house)

    drafts: list[Event] = []
    for i in range(n):
        st = rng.choices(stypes, sweights)[0]
        cand = by_subject[st]
        it = rng.choices(cand, [_weight(c) for c in cand])[0]
        if st == "支部":
            subject = branch.code
        elif st == "党员":
            subject = f"DY{rng.choice(members):04d}"
        else:
            subject = f"H{rng.choice(houses):04d}"
        drafts.append(
            Event(rng.randint(1, ndays), branch.code, st, subject, it.code, it.points or 0.0, seq=i)
        )
    if redeem and n:
        for j in range(rng.choice((0, 0, 1, 1, 2)) * max(1, n // 10)):
            drafts.append(
                Event(rng.randint(8, ndays), branch.code, "", "", redeem[0].code, 0.0, rank=1, seq=n + j)
            )
    drafts.sort(key=lambda e: (e.day, e.rank, e.seq))

    caps = {i.code: i.cap for i in items}
    names = {i.code: i.name for i in items}
    counted: dict[tuple[str, str, str], int] = {}
    month_net: dict[tuple[str, str], float] = {}  # (subject_type, subject) → this month's running balance
    out: list[Event] = []
    for e in drafts:
        if e.rank == 1:  # a redemption: take it from the subject with the most to spare
            best = None
            best_room = 0.0
            for (st, subj), bal in month_net.items():
                if st not in redeem[0].subject_types:
                    continue
                room = bal + state.negative_history.get((branch.code, st, subj), 0.0)
                if room > best_room:
                    best, best_room = (st, subj), room
            if best is None or best_room < 2:
                continue
            amount = rng.randint(1, int(best_room) - 1)  # strictly smaller than the balance
            e.subject_type, e.subject, e.points = best[0], best[1], -float(amount)
            e.note = rng.choice(REDEEM_NOTES)
            month_net[best] = month_net[best] - amount
            out.append(e)
            continue
        key = (e.subject_type, e.subject, e.item)
        cap = caps.get(e.item)
        if cap is not None and counted.get(key, 0) >= cap:
            continue  # clean data never exceeds a cap (an overflow is a warning)
        counted[key] = counted.get(key, 0) + 1
        month_net[(e.subject_type, e.subject)] = month_net.get((e.subject_type, e.subject), 0.0) + e.points
        if e.subject_type == "支部" and rng.random() < 0.5:
            e.note = names[e.item]
        out.append(e)
    for e in out:
        if e.subject_type == "支部":
            e.written_id = "" if branch_blank_id else branch.code
        else:
            e.written_id = e.subject
    for (st, subj), net in month_net.items():
        if net < 0:
            k = (branch.code, st, subj)
            state.negative_history[k] = state.negative_history.get(k, 0.0) + net
    return out


# ---------------------------------------------------------------------------------------------
# Vetoes

VETO_NOTES = {
    "V01": "发生一起较大道路运输安全事故，造成人员伤亡",
    "V02": "辖区发生一起重大刑事案件，公安机关已立案侦查",
    "V03": "支部书记因违反廉洁纪律受到党内警告处分",
    "V04": "辖区企业违规排放造成河道污染，已责令整改",
    "V05": "部分群众越级到市集体上访，反映征地补偿问题",
    "V06": "创星申报材料存在虚报数据问题，经核查属实",
}
# Veto events raise the matching incident counts of that month, so the data agree.
VETO_INDICATOR = {"V01": "safety_accidents", "V02": "criminal_cases", "V05": "bypass_petitions"}
VETO_WEIGHTS = {"V01": 0.3, "V02": 0.15, "V03": 0.25, "V04": 0.1, "V05": 0.15, "V06": 0.05}


def veto_events(rb: Rulebook, county: County, period: str, seed: int) -> list[VetoEvent]:
    rng = random.Random(f"{seed}|{county.code}|{period}|veto")
    k = 0
    if rng.random() < 0.3:
        k = 1 + (1 if len(county.branches) > 200 and rng.random() < 0.5 else 0)
    out = []
    for _ in range(k):
        b = rng.choice(county.branches)
        codes = [c for c in rb.vetoes["code"] if rb.vetoed_stars(c, b.type)]
        code = rng.choices(codes, [VETO_WEIGHTS.get(c, 0.1) for c in codes])[0]
        note = VETO_NOTES.get(code) or rb.vetoes.set_index("code").at[code, "name"]
        out.append(VetoEvent(b.code, rng.randint(1, days_in(period)), code, str(note)))
    out.sort(key=lambda v: (v.day, v.branch_code))
    return out
