"""E-mailing a county's template to its contacts (`fivestar template --email`).

In: Settings (SMTP), the Registry (contacts in submitters.csv), the county, period and the
written file. Out: one e-mail per county with the template attached (`template_message`
builds its Chinese text); a county whose mail fails is logged and skipped.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from fivestar import cells
from fivestar.config import Registry

if TYPE_CHECKING:
    from fivestar.alerts.compose import Message
    from fivestar.settings import Settings

log = logging.getLogger(__name__)


def recipients(registry: Registry, county: str) -> list[str]:
    contacts = registry.contacts_of(county)
    if "email" not in contacts.columns:
        return []
    seen: dict[str, None] = {}
    for e in contacts["email"].fillna("").astype(str):
        e = e.strip()
        if cells.is_email(e):
            seen.setdefault(e, None)
    return list(seen)


def template_message(county: str, county_name: str, period: str, file_name: str, carried: bool) -> Message:
    """The e-mail that distributes a template (fivestar.alerts.compose.Message)."""
    from fivestar.alerts.compose import PREFIX, Message

    extra = "，并在浅蓝色单元格中预填了上月期末数据（请逐项核实更新）" if carried else ""
    text = (
        f"{county_name}（{county}）：\n\n"
        f"附件《{file_name}》是 {period} 五星支部创建数据报送模板，已预填本县登记的支部名单{extra}。\n"
        "请按“填报说明”工作表的要求填写，表头和工作表名称请勿修改；"
        "填好后保存为.xlsx文件（文件名以县代码开头）按时上报。\n\n"
        "本邮件由系统自动发送。"
    )
    return Message(
        subject=f"{PREFIX}{county} {county_name} {period} 报送模板",
        text=text,
        markdown=text,
        status="template",
        alert_key=f"template:{county}:{period}",
        meta={"county_code": county, "period": period},
    )


def email_template(
    settings: Settings, registry: Registry, county: str, period: str, path: Path, carried: bool
) -> bool:
    """E-mail one county's template to its contacts; False (logged) when it could not be sent."""
    from fivestar.alerts.email import send_email

    to = recipients(registry, county)
    if not to:
        log.warning("no e-mail contact for county %s in submitters.csv; template not sent", county)
        return False
    msg = template_message(county, registry.county_name(county) or "", period, path.name, carried)
    try:
        send_email(settings, to, msg, [path])
    except Exception as exc:  # one county's mail problem must not stop the others
        log.warning("e-mailing the template of %s to %s failed: %s", county, ", ".join(to), exc)
        return False
    log.info("template of %s e-mailed to %s", county, ", ".join(to))
    return True
