"""Jinja2 templates of the HTML validation pages (kept in code so any install has them).

In: nothing. Out: `TEMPLATES`, a name → source mapping for a DictLoader. The pages are
self-contained: inline CSS, no scripts, fonts or images from elsewhere.
"""

from __future__ import annotations

_CSS = """
body{font-family:"Microsoft YaHei","PingFang SC","Noto Sans CJK SC",sans-serif;margin:24px;color:#222}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:24px 0 8px}
.en{color:#777;font-size:12px;font-weight:normal}
table{border-collapse:collapse;font-size:13px}
th,td{border:1px solid #ccc;padding:4px 8px;vertical-align:top;text-align:left}
th{background:#eee;position:sticky;top:0}
table.meta th{position:static;width:9em}
td.num{text-align:right}
.mono{font-family:Consolas,"Courier New",monospace;word-break:break-all}
.error{background:#FFC7CE} .warning{background:#FFEB9C}
.badge{display:inline-block;padding:2px 10px;border-radius:10px;font-weight:bold}
.s-accepted{background:#C6EFCE} .s-accepted_with_warnings{background:#FFEB9C}
.s-rejected{background:#FFC7CE} .s-superseded{background:#ddd}
.counts span{display:inline-block;margin-right:24px;font-size:15px}
footer{margin-top:24px;color:#888;font-size:12px}
"""

VALIDATION = (
    """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>填报审核报告 {{ county_code }} {{ period }} v{{ version }}</title>
<style>"""
    + _CSS
    + """</style></head>
<body>
<h1>填报审核报告 <span class="en">Validation report</span></h1>
<table class="meta">
<tr><th>县（市、区）<br><span class="en">County</span></th><td>{{ county_name }}（{{ county_code }}）</td></tr>
<tr><th>填报期间<br><span class="en">Period</span></th><td>{{ period }}</td></tr>
<tr><th>版本<br><span class="en">Version</span></th><td>v{{ version }}</td></tr>
<tr><th>文件名<br><span class="en">File</span></th><td>{{ file_name }}</td></tr>
<tr><th>SHA-256</th><td class="mono">{{ file_sha256 }}</td></tr>
<tr><th>审核结论<br><span class="en">Status</span></th>
<td><span class="badge s-{{ status }}">{{ status_label }}</span> <span class="en">{{ status_en }}</span></td></tr>
{% if feedback_href %}<tr><th>反馈工作簿<br><span class="en">Feedback workbook</span></th>
<td><a href="{{ feedback_href }}">{{ feedback_name }}</a></td></tr>{% endif %}
</table>
<p class="counts">
<span>错误 <span class="en">errors</span>：<b id="n-errors">{{ n.errors }}</b></span>
<span>提示 <span class="en">warnings</span>：<b id="n-warnings">{{ n.warnings }}</b></span>
<span>已说明 <span class="en">explained</span>：<b id="n-explained">{{ n.explained }}</b></span>
</p>
<h2>问题清单 <span class="en">Findings</span></h2>
{% if rows %}
<table class="findings">
<thead><tr>
<th>序号<br><span class="en">#</span></th><th>严重程度<br><span class="en">Severity</span></th>
<th>位置<br><span class="en">Location</span></th><th>行<br><span class="en">Row</span></th>
<th>列<br><span class="en">Column</span></th><th>填写值<br><span class="en">Value</span></th>
<th>问题说明<br><span class="en">Message</span></th><th>规则<br><span class="en">Rule</span></th>
<th>支部代码<br><span class="en">Branch</span></th><th>已说明<br><span class="en">Explained</span></th>
</tr></thead>
<tbody>
{% for r in rows %}<tr class="{{ r.severity }}">
<td class="num">{{ loop.index }}</td><td>{{ r.severity_label }}</td><td>{{ r.location }}</td>
<td class="num">{{ r.row }}</td><td>{{ r.column_name }}</td><td class="mono">{{ r.value }}</td>
<td>{{ r.message }}</td><td class="mono">{{ r.rule }}</td><td class="mono">{{ r.branch_code }}</td>
<td>{{ r.explained }}</td>
</tr>
{% endfor %}</tbody></table>
{% else %}<p>未发现问题 <span class="en">no findings</span></p>{% endif %}
<footer>生成时间 <span class="en">generated</span> {{ generated_at }} · fivestar</footer>
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
<h1>{{ title }} <span class="en">Run validation index</span></h1>
<p class="counts">
<span>文件 <span class="en">files</span>：<b>{{ totals.files }}</b></span>
{% for key, label, n in totals.by_status %}<span><span class="badge s-{{ key }}">{{ label }}</span> <b>{{ n }}</b></span>{% endfor %}
<span>错误 <span class="en">errors</span>：<b>{{ totals.errors }}</b></span>
<span>提示 <span class="en">warnings</span>：<b>{{ totals.warnings }}</b></span>
</p>
{% if rows %}
<table>
<thead><tr>
<th>县（市、区）<br><span class="en">County</span></th><th>填报期间<br><span class="en">Period</span></th>
<th>版本<br><span class="en">Version</span></th><th>审核结论<br><span class="en">Status</span></th>
<th>错误<br><span class="en">Errors</span></th><th>提示<br><span class="en">Warnings</span></th>
<th>文件名<br><span class="en">File</span></th><th>报告<br><span class="en">Report</span></th>
<th>反馈工作簿<br><span class="en">Feedback</span></th>
</tr></thead>
<tbody>
{% for r in rows %}<tr>
<td>{{ r.county_name }}（{{ r.county_code }}）</td><td>{{ r.period }}</td><td>{{ r.version }}</td>
<td><span class="badge s-{{ r.status }}">{{ r.status_label }}</span></td>
<td class="num">{{ r.errors }}</td><td class="num">{{ r.warnings }}</td><td>{{ r.file_name }}</td>
<td>{% if r.html_href %}<a href="{{ r.html_href }}">查看 view</a>{% endif %}</td>
<td>{% if r.feedback_href %}<a href="{{ r.feedback_href }}">下载 xlsx</a>{% endif %}</td>
</tr>
{% endfor %}</tbody></table>
{% else %}<p>本次运行没有处理任何文件 <span class="en">no submissions in this run</span></p>{% endif %}
<footer>生成时间 <span class="en">generated</span> {{ generated_at }} · fivestar</footer>
</body></html>
"""
)

TEMPLATES = {"validation.html": VALIDATION, "run_index.html": RUN_INDEX}
