"""Alert texts of the monthly cycle's closing (Chinese): a file that arrived for a closed
month, and the digest lines of missing, late and late_closed counties.

In: the county, its city's contacts (names, e-mail), the period and version; for the
digest, rows of the `completeness` table (fivestar.completeness) and the run's
late_closed rows. Out: a `Message` for the county's contacts; plain lines for the IT
digest (fivestar.alerts.compose.digest_message shows them as sections).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import DateTime, bindparam, text
from sqlalchemy.engine import Engine

from fivestar.alerts.compose import PREFIX, Message, md_escape, plain_text, submission_alert_key
from fivestar.config import Registry
from fivestar.deadlines import Deadlines
from fivestar.status import SubmissionStatus
from fivestar.warehouse.periods import closed_file_name, completeness_rows

CLOSED_KEY_SUFFIX = ":closed"


def late_closed_alert_key(county_code: str, period: str, version: int) -> str:
    """Distinct from the version's feedback key: after a reopen its feedback is still owed."""
    return submission_alert_key(county_code, period, version) + CLOSED_KEY_SUFFIX


def late_closed_message(
    county_code: str,
    county_name: str,
    period: str,
    version: int,
    file_name: str,
    city_contacts: list[str],
) -> Message:
    """The county is told its file for `period` arrived after the month was closed."""
    who = f"{county_code} {county_name}".strip()
    ask = (
        f"如确需补报或更正，请联系市级管理员（{'、'.join(city_contacts)}）或信息技术支持人员，由其重新开放本月后，系统将自动处理这份报表，无需再次报送。"
        if city_contacts
        else "如确需补报或更正，请联系信息技术支持人员，由其重新开放本月后，系统将自动处理这份报表，无需再次报送。"
    )
    subject = f"{PREFIX}{who} {period} 第{int(version)}版：本月报送已关闭，报表未入库"
    body = [
        f"{who}：",
        "",
        f"收到贵县 {period} 的五星支部报表（第{int(version)}版，文件《{plain_text(file_name)}》）时，{period} 的报送已关闭。",
        "这份报表已存档，但没有审核，也没有入库，星级评定不受影响。",
        ask,
        "",
        "此邮件由五星支部数据系统自动发送，请勿直接回复。",
    ]
    md = [
        f"### {PREFIX}{md_escape(who)} {md_escape(period)} 第{int(version)}版",
        "",
        f"**{md_escape(period)} 的报送已关闭**，收到的报表《{md_escape(file_name)}》已存档，未审核、未入库。",
        "",
        md_escape(ask),
    ]
    return Message(
        subject=subject,
        text="\n".join(body) + "\n",
        markdown="\n".join(md) + "\n",
        status="late_closed",
        alert_key=late_closed_alert_key(county_code, period, version),
        meta={
            "county_code": county_code,
            "county_name": county_name,
            "period": period,
            "version": int(version),
        },
    )


def cycle_lines(rows: list[Mapping[str, Any]]) -> dict[str, list[str]]:
    """Digest sections of one period past its deadline, from its completeness rows:
    counties with no accepted version, and counties whose accepted version came late."""
    missing = [
        f"{r['county_code']} {r.get('county_name') or ''}".strip()
        + ("（有退回版本）" if r.get("status") == "rejected" else "（未收到报表）")
        for r in rows
        if r.get("status") in ("missing", "rejected")
    ]
    late = [
        f"{r['county_code']} {r.get('county_name') or ''}：逾期 {int(r['days_late'])} 天".strip()
        for r in rows
        if r.get("days_late") not in (None, 0) and r.get("days_late") == r.get("days_late")
    ]
    return {"截止时间已过、仍无通过版本的县": missing, "逾期报送的县": late}


def late_closed_lines(rows: list[Mapping[str, Any]]) -> list[str]:
    """The run's late_closed versions, one line each."""
    return [
        f"{r['county_code']} {r.get('county_name') or ''} 第{r.get('version', '?')}版".strip()
        + (f"（{r['file_name']}）" if r.get("file_name") else "")
        for r in rows
    ]


def late_closed_for(
    registry: Registry, engine: Engine, county_code: str, period: str, version: int
) -> Message:
    """late_closed_message with the county's city contacts (submitters.csv rows of the city code)."""
    regions = registry.regions
    parent = regions.loc[regions["code"] == county_code, "parent_code"]
    city = str(parent.iloc[0]) if len(parent) else ""
    people = registry.contacts_of(city) if city else registry.submitters.iloc[0:0]
    names = [
        " ".join(str(x).strip() for x in (r.get("name"), r.get("email")) if isinstance(x, str) and x.strip())
        for r in people.to_dict("records")
    ]
    return late_closed_message(
        county_code,
        registry.county_name(county_code) or county_code,
        period,
        version,
        closed_file_name(engine, county_code, period, version),
        [n for n in names if n],
    )


def cycle_sections(
    engine: Engine, deadlines: Deadlines, now: dt.datetime, periods: set[str], processed: list[dict[str, Any]]
) -> dict[str, dict[str, list[str]]]:
    """Per period: its missing and late counties once its deadline has passed
    (completeness, as this run computed it), and the files this run set aside as late_closed."""
    past = [p for p in periods if deadlines.deadline(p) < now]
    rows: dict[str, list[dict[str, Any]]] = {}
    for r in completeness_rows(engine, past):
        rows.setdefault(str(r["period"]), []).append(r)
    out: dict[str, dict[str, list[str]]] = {}
    for per in periods:
        sections = cycle_lines(rows.get(per, [])) if per in past else {}
        closed = [
            r for r in processed if str(r["period"]) == per and r["status"] == SubmissionStatus.LATE_CLOSED
        ]
        if closed:
            sections["本月已关闭后收到的报表（已存档，未入库；重新开放后自动处理）"] = late_closed_lines(
                closed
            )
        out[per] = {t: lines for t, lines in sections.items() if lines}
    return out


# A month's gaps are worth one digest a day, not one per run (watch-mode runs are frequent).
GAPS_DIGEST_EVERY = dt.timedelta(hours=20)


def _digest_tried_since(engine: Engine, period: str, since: dt.datetime) -> bool:
    sql = text(
        "SELECT 1 FROM alert_delivery WHERE alert_key LIKE 'digest:%' AND period = :p AND attempted_at >= :t"
    ).bindparams(bindparam("t", type_=DateTime()))
    with engine.connect() as conn:
        return (
            conn.execute(sql, {"p": period, "t": since.astimezone(dt.UTC).replace(tzinfo=None)}).first()
            is not None
        )


def latest_overdue_with_gaps(engine: Engine, deadlines: Deadlines, now: dt.datetime) -> str | None:
    """The latest period past its deadline (within the reminder horizon) that still has
    counties with no accepted version or late ones, as the latest run computed them; None
    also when a digest of that period was tried in the last GAPS_DIGEST_EVERY."""
    from fivestar.completeness import last_past_deadline

    per = last_past_deadline(deadlines, now)
    if now - deadlines.deadline(per) > dt.timedelta(days=deadlines.reminder_horizon_days):
        return None
    gaps = cycle_lines(completeness_rows(engine, [per]))
    if not any(gaps.values()) or _digest_tried_since(engine, per, now - GAPS_DIGEST_EVERY):
        return None
    return per
