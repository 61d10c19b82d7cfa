"""Pre-filled submission templates that stop errors at the source (`fivestar template`).

In: the Rulebook (workbook layout, indicators, points items, vetoes), the Registry
(a county's registered branches and contacts), a period `YYYY-MM` and, optionally,
the county's previous accepted month from the warehouse (fact frames as returned by
`fivestar.warehouse.facts.current_facts`).
Out: one `.xlsx` per county laid out exactly as submission.md says:
- `封面` with the county code, name and period filled (填报人/联系电话/电子邮箱 left
  for the clerk);
- `支部名册`, `村指标`, `社区指标` pre-filled with the registered branches (codes as text);
  期末 values of the previous accepted month carried over in light blue with a comment;
- `积分台账`, `否决事项`, `情况说明` with headers only;
- a `填报说明` sheet: every column's 口径, unit, rule and example, the points items and
  the veto items of the rulebook.
Every input column has an Excel data validation (drop-down lists, number ranges,
dates inside the month) whose error text is the very wording our validation uses
for that rule (taken from the GX suites built from the same rulebook), so a value
the template refuses is one our validation would refuse, with the same message.
Headers are locked (sheet protection without a password), data cells unlocked.
`run_template_command` is the CLI entry: one county or all, optional e-mail.
Modules: `columns` (how each column is formatted and checked), `sheets` (cover, data
sheets, 填报说明), `workbook` (one county's file), `previous` (last month's facts from the
warehouse), `mail` (sending it), `command` (the CLI entry).
"""

from fivestar.template.columns import SPARE_ROWS
from fivestar.template.command import run_template_command, write_templates
from fivestar.template.mail import email_template, template_message
from fivestar.template.previous import previous_facts
from fivestar.template.sheets import CARRY_COMMENT, GUIDE_SHEET
from fivestar.template.workbook import LEDGER_ROWS, TemplateError, template_file_name, write_template

__all__ = [
    "CARRY_COMMENT",
    "GUIDE_SHEET",
    "LEDGER_ROWS",
    "SPARE_ROWS",
    "TemplateError",
    "email_template",
    "previous_facts",
    "run_template_command",
    "template_file_name",
    "template_message",
    "write_template",
    "write_templates",
]
