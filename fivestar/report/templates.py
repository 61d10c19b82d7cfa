"""Jinja2 templates of the leaders' report and the branch card (kept in code so any install has them).

In: nothing. Out: `TEMPLATES`, a name → source mapping for a DictLoader. Pages are
self-contained: inline CSS, inline SVG, no scripts, no fonts or images from elsewhere.
"""

from __future__ import annotations

CSS = """
body{font-family:"Noto Sans CJK SC","Source Han Sans SC","WenQuanYi Micro Hei","Microsoft YaHei","PingFang SC",sans-serif;
margin:0;color:#222;background:#fafafa;line-height:1.6}
main{max-width:1280px;margin:0 auto;padding:24px 32px;background:#fff}
header.top{border-bottom:3px solid #B71C1C;margin-bottom:16px}
h1{font-size:26px;margin:0 0 4px;color:#B71C1C} h2{font-size:20px;margin:32px 0 8px;border-left:6px solid #B71C1C;padding-left:8px}
h3{font-size:16px;margin:18px 0 6px}
.sub{color:#666;font-size:13px}
.lead{font-size:17px;background:#FFF8E1;border-left:4px solid #F9A825;padding:10px 14px;margin:10px 0}
.lead .area{font-weight:bold;color:#B71C1C}
.note{color:#555;font-size:13px;margin:4px 0}
nav.toc{font-size:14px;margin:8px 0 0} nav.toc a{margin-right:14px;color:#1565C0;text-decoration:none}
table.data{border-collapse:collapse;font-size:13px;margin:8px 0 4px;width:auto}
table.data th,table.data td{border:1px solid #d0d0d0;padding:3px 7px;vertical-align:top;text-align:left;white-space:nowrap}
table.data td.long{white-space:normal;min-width:16em}
table.data td.text{white-space:normal;min-width:4em}
table.data th{background:#F3E5E5;font-weight:bold;white-space:normal;min-width:2.5em}
table.data td.star{text-align:right;white-space:normal;min-width:4.5em}
.wrap{max-width:100%;overflow-x:auto}
details.fold{margin:8px 0} details.fold summary{cursor:pointer;color:#1565C0;font-size:14px}
p.count{font-weight:bold;color:#333}
table.data tbody tr:nth-child(even){background:#fbfbfb}
td.num,td.int,td.pct,td.dpct,td.rank,td.drank,td.money,td.int_delta{text-align:right;white-space:nowrap}
td.code{font-family:Consolas,"DejaVu Sans Mono",monospace;white-space:nowrap}
td.weak{background:#FFCDD2;font-weight:bold}
td.up{color:#2E7D32} td.down{color:#C62828}
tr.bad td{background:#FFEBEE} tr.warn td{background:#FFF8E1} tr.total td{font-weight:bold;background:#f0f0f0}
.kpis{display:flex;flex-wrap:wrap;gap:12px;margin:10px 0}
.kpi{border:1px solid #e0e0e0;border-radius:6px;padding:8px 14px;min-width:120px;background:#fff}
.kpi b{display:block;font-size:22px;color:#B71C1C}
.chart{display:block;margin:10px 0;max-width:100%;height:auto}
svg text{font-family:inherit}
.more{color:#777;font-size:12px}
footer{margin-top:28px;color:#777;font-size:12px;border-top:1px solid #ddd;padding-top:8px}
dl.src dt{font-weight:bold;margin-top:4px} dl.src dd{margin:0 0 0 1.5em}
.stars span{display:inline-block;padding:1px 8px;margin:2px;border-radius:10px;font-size:13px}
.got{background:#B71C1C;color:#fff} .miss{background:#eee;color:#555}
@media print{body{background:#fff} main{padding:0} details.fold summary{color:#555} h2{page-break-after:avoid} table.data{page-break-inside:auto}}
"""

TABLE_MACRO = """
{% macro table(t) %}
{% if t.count_text %}<p class="note count" id="count-{{ t.key }}">{{ t.count_text }}</p>{% endif %}
<div class="wrap"><table class="data" id="t-{{ t.key }}">
<thead><tr>{% for h in t.headers %}<th>{{ h }}</th>{% endfor %}</tr></thead>
<tbody>
{% for row in t.rows %}<tr{% if row.cls %} class="{{ row.cls }}"{% endif %}>{% for c in row.cells %}<td class="{{ c.cls }}"{% if c.title %} title="{{ c.title }}"{% endif %}>{{ c.text }}</td>{% endfor %}</tr>
{% endfor %}
</tbody></table></div>
{% if t.hidden and not t.count_text %}<p class="more">另有 {{ t.hidden }} 行未在网页中列出，完整明细见同名 XLSX 报表“{{ t.sheet }}”工作表。</p>{% endif %}
{% endmacro %}
"""

REPORT = (
    TABLE_MACRO
    + """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>"""
    + CSS
    + """</style></head>
<body><main>
<header class="top">
<h1>{{ title }}</h1>
<p class="sub">{{ subtitle }}　·　生成时间 {{ d.generated_at }}</p>
<nav class="toc"><a href="#s-headline">总体情况</a><a href="#s-league">擂台比武</a><a href="#s-stars">分星创建</a><a href="#s-changes">动态调整</a><a href="#s-near">差一步</a><a href="#s-points">积分管理</a><a href="#s-incentives">创星激励</a><a href="#s-quality">数据质量</a>{% if tables.completeness_areas is defined %}<a href="#s-completeness">报送情况</a>{% endif %}<a href="#s-sources">数据来源</a></nav>
</header>

<section id="s-headline">
<h2>一、总体情况</h2>
{% for h in d.headline.province %}<p class="lead" id="headline-{{ h.area_code }}"><span class="area">{{ h.area_name }}</span>：{{ h.text }}</p>{% endfor %}
{% for h in d.headline.cities %}<p class="lead" id="headline-{{ h.area_code }}"><span class="area">{{ h.area_name }}</span>：{{ h.text }}{% if h.five_star_note %}{{ h.five_star_note }}{% endif %}</p>{% endfor %}
<div class="kpis">{% for k in kpis %}<div class="kpi"><b>{{ k.value }}</b>{{ k.label }}</div>{% endfor %}</div>
{{ charts.levels }}
<details class="fold" id="d-area_summary"><summary>各地星级分布明细（省、市、县（市、区），共 {{ tables.area_summary.rows | length }} 行）：点击展开；同名 XLSX 报表“{{ tables.area_summary.sheet }}”工作表有全部明细</summary>
{{ table(tables.area_summary) }}
</details>
</section>

<section id="s-league">
<h2>二、擂台比武：县（市、区）排名</h2>
<p class="note">名次按本期（各县最新有效月份）计，并列同名次；“上月”为截至 {{ d.prev_month }} 各县最新有效月份的评定，“上年”为 {{ d.prev_year }} 年{% if d.prev_year_as_of %}（截至 {{ d.prev_year_as_of }}）{% endif %}评定；名次变化“↑”为上升。</p>
<h3>“三星”以上支部占比排名</h3>
{{ table(tables.league_three_plus) }}
<h3>“五星”支部数量排名</h3>
{{ table(tables.league_five_star) }}
{{ charts.trend }}
</section>

<section id="s-stars">
<h2>三、分星创建情况</h2>
<p class="note">各地获得每颗星的支部数及占适用支部的比例（村、社区适用的星不同）；红底为该地最弱的星。</p>
{{ table(tables.per_star) }}
{{ charts.heatmap }}
</section>

<section id="s-changes">
<h2>四、动态调整</h2>
<p class="note">本期评定与上年终评、与上月评定相比，新增或失去星的支部及原因。</p>
{{ table(tables.changes_summary) }}
{{ table(tables.changes) }}
</section>

<section id="s-near">
<h2>五、“差一步”支部</h2>
<p class="note">距下一颗星 {{ margin }} 分以内（得分 ≥ {{ d.near_miss_threshold }}、未获得且未被一票否决）的支部，以及还需达到的指标。</p>
{{ table(tables.near_misses_summary) }}
{{ table(tables.near_misses) }}
</section>

<section id="s-points">
<h2>六、积分管理</h2>
<p class="note">参与情况为各县评定所在月份；排行按累计获得积分（跨年累计，兑换不减少），只列编号不列姓名；兑换为 {{ d.points.period_start }} 至 {{ d.points.period_end }} 合计。</p>
<h3>参与情况</h3>
{{ table(tables.participation) }}
<h3>户积分前 {{ top_n }} 名</h3>
{{ table(tables.top_households) }}
<h3>党员积分前 {{ top_n }} 名</h3>
{{ table(tables.top_members) }}
<h3>积分获得与兑换</h3>
{{ table(tables.redemption) }}
</section>

<section id="s-incentives">
<h2>七、创星激励</h2>
<p class="note">支部书记绩效补贴：{% for lv, amt in pay_amounts %}{{ lv }} {{ amt }} 元/月{% if not loop.last %}、{% endif %}{% endfor %}，按本期星级 × 本年已过月数（评定截至月份）测算；首次创成“五星”一次性奖励 {{ award }} 元（往年从未评为五星的支部）。金额来自 config/rulebook.yaml。</p>
{{ table(tables.incentives) }}
</section>

<section id="s-quality">
<h2>八、数据质量（{{ d.quality.summary.period }}）</h2>
<div class="kpis">
<div class="kpi"><b>{{ d.quality.summary.registered }}</b>在册县（市、区）</div>
<div class="kpi"><b>{{ d.quality.summary.submitted }}</b>已报送</div>
<div class="kpi"><b>{{ d.quality.summary.missing }}</b>未报送</div>
<div class="kpi"><b>{{ d.quality.summary.rejected }}</b>最新版本被退回</div>
<div class="kpi"><b>{{ d.quality.summary.with_warnings }}</b>通过但有提示</div>
</div>
{% if d.quality.summary.missing_names %}<p class="note">未报送：{{ d.quality.summary.missing_names | join("、") }}</p>{% endif %}
{% if d.quality.summary.rejected_names %}<p class="note">被退回：{{ d.quality.summary.rejected_names | join("、") }}</p>{% endif %}
{{ table(tables.quality) }}
{% if tables.quality_rules.rows %}<h3>主要问题（各县最新版本）</h3>{{ table(tables.quality_rules) }}{% endif %}
</section>
{% if tables.completeness_areas is defined %}
<section id="s-completeness">
<h2>九、报送情况</h2>
<p>{{ d.completeness.summary }}</p>
{{ table(tables.completeness_areas) }}
{% if tables.completeness_gaps.rows %}<h3>缺报与逾期（截止时间已过）</h3>{{ table(tables.completeness_gaps) }}{% endif %}
</section>
{% endif %}
<footer id="s-sources">
<h3>数据来源</h3>
<dl class="src">{% for k, v in sources %}<dt>{{ k }}</dt><dd>{{ v }}</dd>{% endfor %}</dl>
<p>评定为年度评定，年内为截至各县最新有效月份的“年度至今”临时评定；{{ '本年评定已为年终评定。' if d.is_final else '12月数据通过后为年终评定。' }}本报告由 fivestar 自动生成。</p>
</footer>
</main></body></html>
"""
)

BRANCH = (
    TABLE_MACRO
    + """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>"""
    + CSS
    + """</style></head>
<body><main>
<header class="top">
<h1>{{ title }}</h1>
<p class="sub">{{ b.county_name }}{% if b.township %} · {{ b.township }}{% endif %} · {{ b.branch_type }} · 代码 {{ b.branch_code }}　·　{{ b.year }}年评定截至 {{ b.as_of_period }}{{ '（年终评定）' if b.is_final else '（年度至今）' }}　·　生成时间 {{ b.generated_at }}</p>
</header>
<section id="s-level">
<h2>星级：{{ b.level_name }}</h2>
<p class="stars">{% for s in b.stars %}<span class="{{ 'got' if s.awarded else 'miss' }}">{{ s.star_name }}{{ ' ★' if s.awarded else '' }}</span>{% endfor %}</p>
{% if b.next %}<p class="lead">下一颗星：<b>{{ b.next.star_name }}</b>（{{ b.next.total_score_text }} 分，差 {{ b.next.gap_text }} 分）。{{ b.next.reason }}</p>{% endif %}
{{ table(tables.stars) }}
</section>
<section id="s-indicators">
<h2>分项得分</h2>
{{ table(tables.indicators) }}
</section>
<section id="s-history">
<h2>历次评定</h2>
{{ table(tables.history) }}
{% if tables.changes.rows %}<h3>星级变化</h3>{{ table(tables.changes) }}{% endif %}
</section>
<section id="s-points">
<h2>积分</h2>
{{ table(tables.points) }}
</section>
<footer><p>数据来源：{{ source }}</p></footer>
</main></body></html>
"""
)

TEMPLATES = {"report.html": REPORT, "branch.html": BRANCH}
