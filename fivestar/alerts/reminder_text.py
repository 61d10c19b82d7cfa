"""The Chinese wording of reminders (催报) and of a city's list of missing counties.

In: a `Reminder` or `CityList` (fivestar.alerts.reminders), names from the registry,
"now" (aware) and the template's file name when one is attached. Out: a `Message`
(fivestar.alerts.compose) keyed by the reminder's or list's alert key. Deadlines are
shown in Beijing time; nothing here names a rule, a table or an English word.
"""

from __future__ import annotations

import datetime as dt

from fivestar.alerts.compose import PREFIX, Message, md_escape, plain_text
from fivestar.alerts.reminders import MISSING, CityList, CountyGap, Reminder
from fivestar.deadlines import SHANGHAI

FOOTER = "此邮件由五星支部数据系统自动发送，请勿直接回复。"


def beijing(when: dt.datetime) -> str:
    """An aware time as Chinese Beijing time, e.g. 2026年12月5日 23:59（北京时间）."""
    t = when.astimezone(SHANGHAI)
    return f"{t.year}年{t.month}月{t.day}日 {t:%H:%M}（北京时间）"


def _when(deadline: dt.datetime, now: dt.datetime) -> str:
    """Where "now" stands against the deadline, in days of Beijing time."""
    days = (now.astimezone(SHANGHAI).date() - deadline.astimezone(SHANGHAI).date()).days
    if now > deadline:
        return f"已超过截止时间{max(days, 1)}天"
    if days == 0:
        return "今天是报送截止日"
    return f"距截止还有{-days}天"


def _gap_line(g: CountyGap, name: str) -> str:
    who = f"{g.county_code} {name}".strip()
    if g.state == MISSING:
        return f"{who}：未报送"
    return f"{who}：已报送但未通过审核（第{g.version}版，错误{g.errors}条），尚未重新报送"


def reminder_message(
    r: Reminder, county_name: str, now: dt.datetime, *, template_name: str | None = None
) -> Message:
    """The reminder of one county-month at its due stage."""
    g = r.gap
    who = f"{g.county_code} {county_name}".strip()
    when = _when(r.deadline, now)
    late = now > r.deadline
    if g.state == MISSING:
        subject = f"{PREFIX}催报：{who} {g.period} 数据尚未报送（{when}）"
        ask = f"您单位 {g.period} 的五星支部数据尚未报送。"
        ask += "请尽快报送。" if late else "请在截止时间前报送。"
    else:
        subject = f"{PREFIX}催报：{who} {g.period} 数据未通过审核，请修改后重新报送（{when}）"
        ask = (
            f"您单位 {g.period} 报送的第{g.version}版未通过审核（错误{g.errors}条），目前还没有通过审核的版本。"
            "请按审核反馈邮件所附批注版工作簿逐条修改后重新报送。"
        )
    lines = [f"{who}：", "", ask, f"报送截止时间：{beijing(r.deadline)}，{when}。"]
    md = [
        f"### {PREFIX}催报：{md_escape(who)} {g.period}",
        "",
        md_escape(ask),
        "",
        f"**报送截止时间：{beijing(r.deadline)}**，{when}。",
    ]
    if template_name:
        lines += ["", f"本月报送模板《{plain_text(template_name)}》见本邮件附件，已预填本县登记的支部名单。"]
        md += ["", f"本月报送模板《{md_escape(template_name)}》已随催报邮件发送，请查收邮件。"]
    lines += ["", FOOTER]
    return Message(
        subject=subject,
        text="\n".join(lines) + "\n",
        markdown="\n".join(md) + "\n",
        status="reminder",
        alert_key=r.alert_key,
        meta={
            "county_code": g.county_code,
            "county_name": county_name,
            "period": g.period,
            "stage": r.stage.key,
            "deadline": r.deadline.isoformat(),
            "state": g.state,
            "errors": g.errors,
        },
    )


def city_list_message(cl: CityList, city_name: str, names: dict[str, str], now: dt.datetime) -> Message:
    """A city's one list of its counties with no accepted version for the period."""
    who = f"{cl.city_code} {city_name}".strip()
    n = len(cl.gaps)
    subject = f"{PREFIX}{who} {cl.period} 尚无通过审核报送的县（{n}个）"
    head = (
        f"{cl.period} 五星支部数据的报送截止时间为{beijing(cl.deadline)}，{_when(cl.deadline, now)}。"
        f"截至{beijing(now)}，本市以下{n}个县（市、区）尚无通过审核的报送，请督促尽快报送："
    )
    items = [_gap_line(g, names.get(g.county_code, "")) for g in cl.gaps]
    lines = [f"{who}：", "", head, *(f"  {i}. {plain_text(t)}" for i, t in enumerate(items, 1)), "", FOOTER]
    md = [
        f"### {PREFIX}{md_escape(who)} {cl.period} 报送情况",
        "",
        head,
        "",
        *(f"- {md_escape(t)}" for t in items),
    ]
    return Message(
        subject=subject,
        text="\n".join(lines) + "\n",
        markdown="\n".join(md) + "\n",
        status="city_list",
        alert_key=cl.alert_key,
        meta={
            "city_code": cl.city_code,
            "city_name": city_name,
            "period": cl.period,
            "counties": [g.county_code for g in cl.gaps],
        },
    )
