"""The synthetic province: counties, townships, branches and contacts.

In: the rulebook (for the star codes of each branch type), a seed, the number of
counties and a range of branches per county. Out: `County` objects holding their
`Branch`es and `Contact`s, and the two config files other tools read:
`registry.csv` (`code,name,level,parent_code,branch_type,township`) and
`submitters.csv` (`county_code,name,email,webhook_url`), as in interfaces.md.

Branch codes follow 统计用区划代码: county (6) + township (3) + village (3); townships
are numbered 001– for 街道, 100– for 镇, 200– for 乡; villages 001– for 居委会 (社区)
and 201– for 村委会 (村). Everything is a pure function of the seed and the county code,
so adding counties never changes the ones already generated.
"""

from __future__ import annotations

import csv
import dataclasses
import random
from dataclasses import dataclass, field
from pathlib import Path

from fivestar.config import Rulebook
from fivestar.sample import names
from fivestar.sample.divisions import PROVINCE, CityDef, county_order, is_urban_district

# Only with webhooks=True (tests of failing deliveries): the discard port, nothing answers.
# A generated province has no webhooks by default: `fivestar sample` writes no unreachable
# contact, whose alerts would be tried (and fail) on every run.
WEBHOOK_URL = "http://127.0.0.1:9/hook"


@dataclass(frozen=True)
class Branch:
    code: str
    name: str
    type: str  # 村 | 社区
    township: str
    members: int
    households: int
    secretary: str
    secretary_age: int
    quality: float  # latent 0–1: how well the branch does overall
    star_quality: dict[str, float] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Contact:
    name: str
    email: str
    webhook_url: str
    phone: str


@dataclass(frozen=True)
class County:
    code: str
    name: str
    city_code: str
    city_name: str
    area_code: str
    branches: tuple[Branch, ...]
    contacts: tuple[Contact, ...]

    def of_type(self, branch_type: str) -> list[Branch]:
        return [b for b in self.branches if b.type == branch_type]


def _clamp(x: float, lo: float, hi: float) -> float:
    return max(lo, min(hi, x))


def _phone(rng: random.Random, area: str) -> str:
    if rng.random() < 0.6:
        return f"{area}-{rng.randint(2000000, 8999999)}"
    return f"1{rng.choice('35789')}{rng.randint(0, 9)}{rng.randint(10000000, 99999999)}"


def build_county(
    rb: Rulebook,
    city: CityDef,
    code: str,
    name: str,
    seed: int,
    branches_per_county: tuple[int, int],
    webhooks: bool = False,
    types: tuple[str, ...] | None = None,
) -> County:
    """`types`: the branch types to invent (default: every configured type)."""
    types = rb.types if types is None else types
    rural, urban_t = names.RURAL_TYPE, names.URBAN_TYPE
    others = [t for t in types if t not in (rural, urban_t)]
    rng = random.Random(f"{seed}|county|{code}")
    lo, hi = branches_per_county
    n = rng.randint(lo, hi)
    urban = is_urban_district(name)
    comm_share = rng.uniform(0.5, 0.8) if urban else rng.uniform(0.06, 0.2)
    n_comm = round(n * comm_share)
    if n >= 5:
        n_comm = min(max(n_comm, 1), n - 1)  # every county has a seat with a few urban branches
    n_vil = n - n_comm
    if rural not in types:
        n_comm, n_vil = (n, 0) if urban_t in types else (0, 0)
    elif urban_t not in types:
        n_comm, n_vil = 0, n

    used: set[str] = set()
    # Villages sit in 镇/乡 (about 15–25 per township); communities in 街道, some in 城关镇.
    n_towns = max(1, round(n_vil / rng.uniform(15, 25))) if n_vil else 0
    towns: list[tuple[str, str]] = []
    n_zhen = n_xiang = 0
    for i in range(n_towns):
        if i == 0 and not urban:
            used.add("城关镇")
            n_zhen += 1
            towns.append((f"{99 + n_zhen:03d}", "城关镇"))
        elif rng.random() < 0.7:
            n_zhen += 1
            towns.append((f"{99 + n_zhen:03d}", names.town_name(rng, used, "镇")))
        else:
            n_xiang += 1
            towns.append((f"{199 + n_xiang:03d}", names.town_name(rng, used, "乡")))
    n_streets = max(1, round(n_comm / rng.uniform(6, 12))) if n_comm else 0
    streets = [(f"{i + 1:03d}", names.town_name(rng, used, "街道")) for i in range(n_streets)]

    stars = {t: rb.stars_for(t) for t in types}
    raw: list[tuple[str, str, str, str]] = []  # code, name, type, township
    seq: dict[str, int] = {}
    for _ in range(n_vil):
        tcode, tname = towns[rng.randrange(len(towns))]
        seq[tcode + rural] = seq.get(tcode + rural, 200) + 1
        raw.append((f"{code}{tcode}{seq[tcode + rural]:03d}", names.village_name(rng, used), rural, tname))
    for _ in range(n_comm):
        if towns and towns[0][1] == "城关镇" and rng.random() < 0.3:
            tcode, tname = towns[0]
        else:
            tcode, tname = streets[rng.randrange(len(streets))]
        seq[tcode + urban_t] = seq.get(tcode + urban_t, 0) + 1
        raw.append(
            (f"{code}{tcode}{seq[tcode + urban_t]:03d}", names.community_name(rng, used), urban_t, tname)
        )
    # Other types (机关 …): a few branches in the county seat, numbered 401– per type.
    seat = towns[0] if towns and towns[0][1] == "城关镇" else (streets or towns or [("001", "城关镇")])[0]
    for k, t in enumerate(others):
        for i in range(rng.randint(3, 8)):
            raw.append(
                (f"{code}{seat[0]}{400 + 30 * k + i + 1:03d}", names.branch_name(rng, used, t), t, seat[1])
            )
    raw.sort()

    branches = []
    for bcode, bname, btype, township in raw:
        # Latent quality drives every indicator, so star levels spread realistically 0–5.
        q = rng.betavariate(4.0, 1.8)
        star_q = {s: _clamp(q + rng.gauss(0, 0.15), 0.0, 1.0) for s in stars[btype]}
        if btype == rural:
            households = rng.randint(120, 900)
            members = int(_clamp(round(households * rng.uniform(0.05, 0.12)), 8, 120))
        elif btype not in (rural, urban_t):  # an organ: its staff stand for 户数
            households = rng.randint(20, 150)
            members = int(_clamp(round(households * rng.uniform(0.3, 0.7)), 5, 80))
        else:
            households = rng.randint(600, 4000)
            members = int(_clamp(round(households * rng.uniform(0.02, 0.06)), 15, 380))
        branches.append(
            Branch(
                code=bcode,
                name=bname,
                type=btype,
                township=township,
                members=members,
                households=households,
                secretary=names.person_name(rng),
                secretary_age=int(_clamp(round(rng.gauss(49, 6)), 28, 60)),
                quality=q,
                star_quality=star_q,
            )
        )

    contacts = [
        Contact(
            name=names.person_name(rng),
            email=f"{code}@example.org",
            webhook_url=WEBHOOK_URL if rng.random() < 0.4 else "",
            phone=_phone(rng, city.area_code),
        )
    ]
    if rng.random() < 0.5:
        second_webhook = rng.random() < 0.5
        contacts.append(
            Contact(
                name=names.person_name(rng),
                email="" if second_webhook and rng.random() < 0.5 else f"zzb.{code}@example.org",
                webhook_url=WEBHOOK_URL if second_webhook else "",
                phone=_phone(rng, city.area_code),
            )
        )
    if not webhooks:  # same draws, URLs dropped: every contact then has an e-mail address
        contacts = [
            dataclasses.replace(c, webhook_url="", email=c.email or f"zzb.{code}@example.org")
            for c in contacts
        ]
    return County(code, name, city.code, city.name, city.area_code, tuple(branches), tuple(contacts))


def build_province(
    rb: Rulebook,
    counties: int,
    seed: int,
    branches_per_county: tuple[int, int],
    webhooks: bool = False,
    types: tuple[str, ...] | None = None,
) -> list[County]:
    order = county_order()
    if not 1 <= counties <= len(order):
        raise ValueError(f"counties must be between 1 and {len(order)}, got {counties}")
    return [
        build_county(rb, city, code, name, seed, branches_per_county, webhooks, types)
        for city, code, name in order[:counties]
    ]


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def write_registry(path: Path, counties: list[County]) -> None:
    cities = sorted({(c.city_code, c.city_name) for c in counties})
    rows = [[PROVINCE[0], PROVINCE[1], "province", "", "", ""]]
    rows += [[code, cname, "city", PROVINCE[0], "", ""] for code, cname in cities]
    rows += [[c.code, c.name, "county", c.city_code, "", ""] for c in sorted(counties, key=lambda c: c.code)]
    for c in sorted(counties, key=lambda c: c.code):
        rows += [[b.code, b.name, "branch", c.code, b.type, b.township] for b in c.branches]
    _write_csv(path, ["code", "name", "level", "parent_code", "branch_type", "township"], rows)


def write_submitters(path: Path, counties: list[County]) -> None:
    rows = [
        [c.code, p.name, p.email, p.webhook_url]
        for c in sorted(counties, key=lambda c: c.code)
        for p in c.contacts
    ]
    _write_csv(path, ["county_code", "name", "email", "webhook_url"], rows)
