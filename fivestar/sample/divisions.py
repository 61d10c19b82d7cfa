"""Henan's prefecture-level cities and county-level units (统计用区划代码, 2023 edition).

In: nothing. Out: `PROVINCE`, `CITIES` (code → name, telephone area code, counties)
and `county_order()`, the order in which the sample generator picks counties:
rural counties before urban districts, two per city per round, starting with 安阳市,
so that even a three-county sample spans two cities.
"""

from __future__ import annotations

from dataclasses import dataclass

PROVINCE = ("410000", "河南省")


@dataclass(frozen=True)
class CityDef:
    code: str
    name: str
    area_code: str  # telephone area code, for realistic landline numbers
    counties: tuple[tuple[str, str], ...]


def _city(code: str, name: str, area: str, counties: str) -> CityDef:
    pairs = tuple(tuple(item.split(":")) for item in counties.split())
    return CityDef(code, name, area, pairs)  # type: ignore[arg-type]


CITIES: tuple[CityDef, ...] = (
    _city(
        "410100",
        "郑州市",
        "0371",
        "410102:中原区 410103:二七区 410104:管城回族区 410105:金水区 410106:上街区 410108:惠济区 "
        "410122:中牟县 410181:巩义市 410182:荥阳市 410183:新密市 410184:新郑市 410185:登封市",
    ),
    _city(
        "410200",
        "开封市",
        "0378",
        "410202:龙亭区 410203:顺河回族区 410204:鼓楼区 410205:禹王台区 410212:祥符区 "
        "410221:杞县 410222:通许县 410223:尉氏县 410225:兰考县",
    ),
    _city(
        "410300",
        "洛阳市",
        "0379",
        "410302:老城区 410303:西工区 410304:瀍河回族区 410305:涧西区 410307:偃师区 410308:孟津区 "
        "410311:洛龙区 410323:新安县 410324:栾川县 410325:嵩县 410326:汝阳县 410327:宜阳县 "
        "410328:洛宁县 410329:伊川县",
    ),
    _city(
        "410400",
        "平顶山市",
        "0375",
        "410402:新华区 410403:卫东区 410404:石龙区 410411:湛河区 410421:宝丰县 410422:叶县 "
        "410423:鲁山县 410425:郏县 410481:舞钢市 410482:汝州市",
    ),
    _city(
        "410500",
        "安阳市",
        "0372",
        "410502:文峰区 410503:北关区 410505:殷都区 410506:龙安区 410522:安阳县 410523:汤阴县 "
        "410526:滑县 410527:内黄县 410581:林州市",
    ),
    _city("410600", "鹤壁市", "0392", "410602:鹤山区 410603:山城区 410611:淇滨区 410621:浚县 410622:淇县"),
    _city(
        "410700",
        "新乡市",
        "0373",
        "410702:红旗区 410703:卫滨区 410704:凤泉区 410711:牧野区 410721:新乡县 410724:获嘉县 "
        "410725:原阳县 410726:延津县 410727:封丘县 410781:卫辉市 410782:辉县市 410783:长垣市",
    ),
    _city(
        "410800",
        "焦作市",
        "0391",
        "410802:解放区 410803:中站区 410804:马村区 410811:山阳区 410821:修武县 410822:博爱县 "
        "410823:武陟县 410825:温县 410882:沁阳市 410883:孟州市",
    ),
    _city(
        "410900",
        "濮阳市",
        "0393",
        "410902:华龙区 410922:清丰县 410923:南乐县 410926:范县 410927:台前县 410928:濮阳县",
    ),
    _city(
        "411000",
        "许昌市",
        "0374",
        "411002:魏都区 411003:建安区 411024:鄢陵县 411025:襄城县 411081:禹州市 411082:长葛市",
    ),
    _city(
        "411100", "漯河市", "0395", "411102:源汇区 411103:郾城区 411104:召陵区 411121:舞阳县 411122:临颍县"
    ),
    _city(
        "411200",
        "三门峡市",
        "0398",
        "411202:湖滨区 411203:陕州区 411221:渑池县 411224:卢氏县 411281:义马市 411282:灵宝市",
    ),
    _city(
        "411300",
        "南阳市",
        "0377",
        "411302:宛城区 411303:卧龙区 411321:南召县 411322:方城县 411323:西峡县 411324:镇平县 "
        "411325:内乡县 411326:淅川县 411327:社旗县 411328:唐河县 411329:新野县 411330:桐柏县 "
        "411381:邓州市",
    ),
    _city(
        "411400",
        "商丘市",
        "0370",
        "411402:梁园区 411403:睢阳区 411421:民权县 411422:睢县 411423:宁陵县 411424:柘城县 "
        "411425:虞城县 411426:夏邑县 411481:永城市",
    ),
    _city(
        "411500",
        "信阳市",
        "0376",
        "411502:浉河区 411503:平桥区 411521:罗山县 411522:光山县 411523:新县 411524:商城县 "
        "411525:固始县 411526:潢川县 411527:淮滨县 411528:息县",
    ),
    _city(
        "411600",
        "周口市",
        "0394",
        "411602:川汇区 411603:淮阳区 411621:扶沟县 411622:西华县 411623:商水县 411624:沈丘县 "
        "411625:郸城县 411627:太康县 411628:鹿邑县 411681:项城市",
    ),
    _city(
        "411700",
        "驻马店市",
        "0396",
        "411702:驿城区 411721:西平县 411722:上蔡县 411723:平舆县 411724:正阳县 411725:确山县 "
        "411726:泌阳县 411727:汝南县 411728:遂平县 411729:新蔡县",
    ),
    # 济源 is a county-level city administered directly by the province.
    _city("419000", "省直辖县级行政区划", "0391", "419001:济源市"),
)

CITY_BY_CODE = {c.code: c for c in CITIES}
FIRST_CITY = "410500"  # 安阳市: the sample starts here


def is_urban_district(county_name: str) -> bool:
    """市辖区 (…区) have mostly 社区; 县 and 县级市 mostly 村."""
    return county_name.endswith("区")


def county_order() -> list[tuple[CityDef, str, str]]:
    """All county-level units as (city, county code, county name), in sampling order."""
    start = next(i for i, c in enumerate(CITIES) if c.code == FIRST_CITY)
    cities = CITIES[start:] + CITIES[:start]
    queues = [
        [(c, code, name) for code, name in sorted(c.counties, key=lambda p: (is_urban_district(p[1]), p[0]))]
        for c in cities
    ]
    out: list[tuple[CityDef, str, str]] = []
    while any(queues):
        for q in queues:
            out.extend(q[:2])
            del q[:2]
    return out
