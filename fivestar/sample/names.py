"""Realistic Chinese names for synthetic townships, villages, communities and people.

In: a `random.Random` and a set of names already used in the county (names are kept
unique within a county so that a person reading a report can tell branches apart).
Out: names such as 城关镇 / 北关街道 / 刘店乡, 东王庄村 / 柳树湾村, 幸福路社区,
and person names such as 王建国.
"""

from __future__ import annotations

import random


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏"
    "薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹"
    "常武乔贺龚文牛申付岳聂耿靳翟樊闫葛苗司李王张刘"
)
GIVEN_NAMES = _words(
    "建国 国庆 志强 卫东 红军 永强 海军 新民 俊峰 丽娟 秀英 桂兰 建华 保国 振华 德胜 玉梅 春花 "
    "明 伟 磊 勇 军 涛 静 敏 艳 超 鹏 辉 洋 刚 杰 红 霞 峰 斌 亮 强 平 娜 丽 芳 军伟 志刚 学军 "
    "卫国 国强 玉华 金凤 小龙 晓东 海燕 文杰 长青 满仓 铁柱 红旗 向阳 跃进 爱民 中华 建军 利民 "
    "书娟 凤英 秀兰 文化 新华 宏伟 海涛 晓丽 冬梅 春生 秋菊 巧玲 少华 世杰 守信 传福 有才"
)

VILLAGE_PREFIX = ("", "", "", "", "东", "西", "南", "北", "前", "后", "大", "小", "上", "下", "新", "老")
VILLAGE_SUFFIX = _words(
    "庄 营 寨 屯 店 集 岗 楼 湾 沟 坡 洼 庙 桥 堂 园 河 窑 口 铺 湖 庄 庄 营 寨 家庄 家寨 家沟 家湾 庄户"
)
NATURE_VILLAGES = _words(
    "柳树湾 石桥 杏花 槐树庄 桃园 青龙岗 白马 双井 五里铺 三官庙 八里营 十里铺 龙泉 清水河 "
    "黄土岗 枣林 梨园 杨树林 南河 北河 东坡 西坡 大槐树 小河沿 红石岭 凤凰岭 白杨 马鞍山 卧龙岗 "
    "官庄 高庄 李庄 赵庄 王庄 张庄 孙庄 刘庄 陈庄 杨庄 古城 新城 太平庄 安乐 永安 长乐 丰收 团结"
)
COMMUNITY_STEMS = _words(
    "幸福路 建设路 人民路 解放路 文化路 和平路 中山路 红旗路 朝阳路 胜利路 友谊路 光明路 育才路 "
    "健康路 新华路 迎宾路 工农路 东风路 长江路 黄河路 嵩山路 太行路 平原路 文明路 人和路 "
    "锦绣 阳光 和谐 康乐 丽景 花园 东苑 西苑 北苑 南苑 新城 桥东 桥西 河畔 书香 金色家园 翰林苑 "
    "北关 东关 西关 南关 城东 城西 城南 城北 站前 文苑 滨河 景园 怡园 龙城 凤凰城 新兴 兴华"
)
TOWN_STEMS = _words(
    "水冶 白璧 吕村 崔家桥 韩陵 辛村 伦掌 铜冶 善应 马家 都里 洪河屯 许家沟 蒋村 磊口 安丰 曲沟 "
    "北郭 瓦店 柳林 黄庄 石岗 高庄 刘集 张集 固岗 大屯 双庙 五里堡 三官庙 八里营 留光 古贤 宗村 "
    "菜园 任固 瓦岗 王庄 老店 枣林 槐店 李寨 杨湖 郭庄 孙庄 新庄 东明 前进 太平 永安 长兴 龙泉 "
    "白寨 黄集 范庄 苏村 朱营 桥头 河口 岗头 临河 北湖 南湖 西湖 青堆 吴庄 宋集 牛屯 焦虎 杜桥"
)
TOWN_SUFFIX_CHARS = "店集庄营寨岗湖桥楼屯"
STREET_STEMS = _words(
    "北关 东城 西关 南关 城关 解放路 桥北 新华 人民路 文化路 中华路 东风 红旗 朝阳 银杏 "
    "光明 建设 和平 站前 滨河 北城 南城 东关 西城 新城 汇源 龙山 凤凰"
)


def person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN_NAMES)


def _unique(rng: random.Random, used: set[str], make) -> str:
    for _ in range(200):
        name = make()
        if name not in used:
            used.add(name)
            return name
    # A very large county can exhaust a pool: disambiguate with a number, as real places do (一村, 二村).
    base = make()
    n = 2
    while f"{base[:-1]}{n}{base[-1]}" in used:
        n += 1
    name = f"{base[:-1]}{n}{base[-1]}"
    used.add(name)
    return name


def village_name(rng: random.Random, used: set[str]) -> str:
    def make() -> str:
        if rng.random() < 0.25:
            return rng.choice(NATURE_VILLAGES) + "村"
        return rng.choice(VILLAGE_PREFIX) + rng.choice(SURNAMES) + rng.choice(VILLAGE_SUFFIX) + "村"

    return _unique(rng, used, make)


def community_name(rng: random.Random, used: set[str]) -> str:
    return _unique(rng, used, lambda: rng.choice(COMMUNITY_STEMS) + "社区")


def town_name(rng: random.Random, used: set[str], kind: str) -> str:
    """kind: 镇, 乡 or 街道."""

    def make() -> str:
        if kind == "街道":
            return rng.choice(STREET_STEMS) + "街道"
        if rng.random() < 0.5:
            return rng.choice(TOWN_STEMS) + kind
        return rng.choice(SURNAMES) + rng.choice(TOWN_SUFFIX_CHARS) + kind

    return _unique(rng, used, make)


# ---- branch types -------------------------------------------------------------------
# The sample's knowledge of the kinds of branch it can invent (the only place outside
# config/ that names them): the rural type sits in 镇/乡, the urban type in 街道, any
# other configured type (机关, and types this module has no names for) in the county seat.
RURAL_TYPE = "村"
URBAN_TYPE = "社区"
ORGAN_STEMS = _words(
    "县委办公室 县政府办公室 县纪委监委机关 县委组织部 县委宣传部 县委统战部 县委政法委 "
    "县发展和改革委员会 县教育局 县科学技术局 县工业和信息化局 县公安局 县民政局 县司法局 "
    "县财政局 县人力资源和社会保障局 县自然资源局 县生态环境分局 县住房和城乡建设局 "
    "县交通运输局 县水利局 县农业农村局 县商务局 县文化广电和旅游局 县卫生健康委员会 "
    "县退役军人事务局 县应急管理局 县审计局 县市场监督管理局 县统计局 县医疗保障局 "
    "县信访局 县林业局 县税务局 县人民法院 县人民检察院 县总工会 团县委 县妇联 县科协"
)
# A roster 类型 a clerk might type instead of the configured word (the sample's bad_type fault).
WRONG_TYPE_WORD = {RURAL_TYPE: "村庄", URBAN_TYPE: "居委会"}


def organ_name(rng: random.Random, used: set[str], branch_type: str = "机关") -> str:
    """A county organ's branch (县财政局机关); another type gets its own word (县第一学校)."""
    if branch_type == "机关":
        return _unique(rng, used, lambda: rng.choice(ORGAN_STEMS) + "机关")
    return _unique(rng, used, lambda: "县" + rng.choice(COMMUNITY_STEMS)[:2] + branch_type)


def branch_name(rng: random.Random, used: set[str], branch_type: str) -> str:
    if branch_type == RURAL_TYPE:
        return village_name(rng, used)
    if branch_type == URBAN_TYPE:
        return community_name(rng, used)
    return organ_name(rng, used, branch_type)
