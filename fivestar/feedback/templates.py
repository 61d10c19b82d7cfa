"""Jinja2 templates of the HTML validation pages (kept in code so any install has them).

In: nothing. Out: `TEMPLATES`, a name → source mapping for a DictLoader. The pages are
self-contained: inline CSS, no scripts, fonts or images from elsewhere.
"""

from __future__ import annotations

_CSS = """
body{font-family:"Microsoft YaHei","PingFang SC","Noto Sans CJK SC",sans-serif;margin:24px;color:#222}
h1{font-size:22px;margin:0 0 8px} h2{font-size:17px;margin:24px 0 8px}
table{border-collapse:collapse;font-size:13px}
th,td{border:1px solid #ccc;padding:4px 8px;vertical-align:top;text-align:left}
th{background:#eee;position:sticky;top:0;white-space:nowrap}
table.meta th{position:static;width:8em}
td.num{text-align:right;white-space:nowrap}
td.nowrap{white-space:nowrap}
.mono{font-family:Consolas,"Courier New",monospace}
td.value{min-width:12ch}
td.value.long{overflow-wrap:anywhere}
td.value.short{white-space:nowrap}
td.message{min-width:24em}
.error{background:#FFC7CE} .warning{background:#FFEB9C}
.badge{display:inline-block;padding:2px 10px;border-radius:10px;font-weight:bold}
.s-accepted{background:#C6EFCE} .s-accepted_with_warnings{background:#FFEB9C}
.s-rejected{background:#FFC7CE} .s-superseded{background:#ddd}
.counts span{display:inline-block;margin-right:24px;font-size:15px}
.steps p{margin:4px 0;font-weight:bold} .steps ol{margin:4px 0 0;padding-left:1.6em}
details{margin-top:24px;color:#555} summary{cursor:pointer}
footer{margin-top:24px;color:#888;font-size:12px}
"""

# The page a county clerk reads: plain Chinese, errors first, what to do, Beijing time.
# Rule ids and the file's hash are for IT staff, in the collapsed 技术信息 section.
VALIDATION = (
    """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>填报审核结果 {{ county_name }} {{ period }} 第{{ version }}版</title>
<style>"""
    + _CSS
    + """</style></head>
<body>
<h1>填报审核结果</h1>
<table class="meta">
<tr><th>县（市、区）</th><td>{{ county_name }}（{{ county_code }}）</td></tr>
<tr><th>填报期间</th><td>{{ period }}</td></tr>
<tr><th>版本</th><td>第{{ version }}版</td></tr>
<tr><th>文件名</th><td>{{ file_name }}</td></tr>
<tr><th>审核结论</th><td><span class="badge s-{{ status }}" id="status">{{ status_label }}</span></td></tr>
{% if feedback_href %}<tr><th>反馈工作簿</th>
<td><a href="{{ feedback_href }}">{{ feedback_name }}</a>（在原表上标注了每个问题）</td></tr>{% endif %}
<tr><th>审核时间</th><td>{{ generated_at }}（北京时间）</td></tr>
</table>
<h2>处理意见</h2>
<div class="steps" id="steps">{% if steps %}<p>{{ steps[0] }}</p>{% endif %}
{% if steps|length > 1 %}<ol>{% for s in steps[1:] %}<li>{{ s }}</li>{% endfor %}</ol>{% endif %}</div>
<p class="counts">
<span>错误：<b id="n-errors">{{ n.errors }}</b> 项</span>
<span>提示：<b id="n-warnings">{{ n.warnings }}</b> 项</span>
<span>其中已说明：<b id="n-explained">{{ n.explained }}</b> 项</span>
</p>
<h2>问题清单</h2>
{% if rows %}
<table class="findings" id="findings">
<thead><tr>
<th>序号</th><th>类别</th><th>位置</th><th>列</th><th>填写值</th><th>问题说明</th><th>已说明</th>
</tr></thead>
<tbody>
{% for r in rows %}<tr class="{{ r.severity }}">
<td class="num">{{ loop.index }}</td><td class="nowrap">{{ r.severity_label }}</td><td class="nowrap">{{ r.location }}</td>
<td>{{ r.column_name }}</td><td class="mono value {{ r.value_class }}">{{ r.value }}</td>
<td class="message">{{ r.message }}</td><td class="nowrap">{{ r.explained }}</td>
</tr>
{% endfor %}</tbody></table>
{% else %}<p>未发现问题，无需修改。</p>{% endif %}
<details id="it">
<summary>技术信息（供信息技术人员核查，填报人员无需查看）</summary>
<table class="meta">
<tr><th>文件校验码</th><td class="mono">{{ file_sha256 }}</td></tr>
</table>
{% if rows %}<table>
<thead><tr><th>序号</th><th>位置</th><th>规则编号</th><th>支部代码</th></tr></thead>
<tbody>
{% for r in rows %}<tr><td class="num">{{ loop.index }}</td><td>{{ r.location }}</td>
<td class="mono">{{ r.rule }}</td><td class="mono">{{ r.branch_code }}</td></tr>
{% endfor %}</tbody></table>{% endif %}
</details>
<footer>审核时间 {{ generated_at }}（北京时间） · 五星支部审核</footer>
</body></html>
"""
)

RUN_INDEX = (
    """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>{{ title }}</title>
<style>"""
    + _CSS
    + """</style></head>
<body>
<h1>{{ title }}</h1>
<p class="counts">
<span>文件：<b>{{ totals.files }}</b></span>
{% for key, label, n in totals.by_status %}<span><span class="badge s-{{ key }}">{{ label }}</span> <b>{{ n }}</b></span>{% endfor %}
<span>错误：<b>{{ totals.errors }}</b></span>
<span>提示：<b>{{ totals.warnings }}</b></span>
</p>
{% if rows %}
<table>
<thead><tr>
<th>县（市、区）</th><th>填报期间</th><th>版本</th><th>审核结论</th><th>错误</th><th>提示</th>
<th>文件名</th><th>审核结果</th><th>反馈工作簿</th>
</tr></thead>
<tbody>
{% for r in rows %}<tr>
<td>{{ r.county_name }}（{{ r.county_code }}）</td><td>{{ r.period }}</td><td>{{ r.version }}</td>
<td><span class="badge s-{{ r.status }}">{{ r.status_label }}</span></td>
<td class="num">{{ r.errors }}</td><td class="num">{{ r.warnings }}</td><td>{{ r.file_name }}</td>
<td>{% if r.html_href %}<a href="{{ r.html_href }}">查看</a>{% endif %}</td>
<td>{% if r.feedback_href %}<a href="{{ r.feedback_href }}">下载</a>{% endif %}</td>
</tr>
{% endfor %}</tbody></table>
{% else %}<p>本次运行没有处理任何文件</p>{% endif %}
<footer>生成时间 {{ generated_at }}（北京时间） · 五星支部审核</footer>
</body></html>
"""
)

TEMPLATES = {"validation.html": VALIDATION, "run_index.html": RUN_INDEX}
