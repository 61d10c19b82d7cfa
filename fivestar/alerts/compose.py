"""Alert texts in Chinese: one county's submission version, and the IT digest.

In: a county's identity, period, version, status and its findings frame
(fivestar.findings columns), or the lists a run collects for the digest.
Out: a `Message` (subject, plain text for e-mail, markdown for chat robots,
plus a stable `alert_key` the caller stores to know what was already sent).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from fivestar.cells import mask_ids_in
from fivestar.findings import ERROR, WARNING
from fivestar.status import SubmissionStatus

PREFIX = "【五星支部数据审核】"
SEVERITY_ZH = {ERROR: "错误", WARNING: "提示"}


@dataclass(frozen=True)
class Message:
    subject: str
    text: str  # plain text (e-mail body)
    markdown: str  # chat robots (DingTalk / WeCom)
    # Machine status for generic webhooks: accepted | accepted_with_warnings | rejected | digest.
    status: str = ""
    alert_key: str = ""  # e.g. "submission:410522:2026-11:v2" — one alert per key and recipient
    meta: Mapping[str, Any] = field(default_factory=dict)  # extra fields for generic JSON webhooks


def submission_alert_key(county_code: str, period: str, version: int) -> str:
    """The key under which deliveries for one county's file version are recorded."""
    return f"submission:{county_code}:{period}:v{int(version)}"


def digest_alert_key(period: str, content: str = "") -> str:
    """The key of one IT digest: its period and a hash of its content (not the run id),
    so an undelivered digest stays one queued message that later runs retry."""
    digest = hashlib.sha256(content.encode("utf-8")).hexdigest()[:16] if content else ""
    return f"digest:{period}" + (f":{digest}" if digest else "")


# ---- submitter-controlled text --------------------------------------------------
# Sheet names, column headers, cell values and file names come from the submitter. In
# robot markdown, brackets, parentheses, angle brackets and emphasis marks would become
# live syntax (a "[点此重新上报](http://…)" header rendered as a clickable link), and the
# robots do not reliably honour backslash escapes: swap them for full-width look-alikes.
_MD_SWAP = str.maketrans(
    {
        "[": "［",
        "]": "］",
        "(": "（",
        ")": "）",
        "<": "＜",
        ">": "＞",
        "*": "＊",
        "_": "＿",
        "`": "｀",
        "|": "｜",
        "~": "～",
        "\\": "＼",
        "\r": " ",
        "\n": " ",
    }
)
# Bare URLs are auto-linked by robots and mail clients: break the scheme separator and "www.".
_URL_SCHEME = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*):(?=//)")
_WWW = re.compile(r"(?i)\bwww\.")


def _defang(value: Any) -> str:
    text = mask_ids_in(str(value))  # nobody is ever sent a resident ID
    text = _URL_SCHEME.sub(lambda m: m.group(1) + "：", text)
    return _WWW.sub(lambda m: m.group(0)[:-1] + "．", text)


def plain_text(value: Any) -> str:
    """A submitter-controlled string for a plain-text message: URLs not auto-linkable."""
    return _defang(value).replace("\r", " ").replace("\n", " ")


def md_escape(value: Any) -> str:
    """A submitter-controlled string for robot markdown: no markup, no link, one line."""
    return _defang(value).translate(_MD_SWAP)


def _location(row: Mapping[str, Any]) -> str:
    sheet = str(row.get("sheet") or "")
    cell = str(row.get("cell") or "")
    if sheet and cell:
        return f"{sheet}!{cell}"
    if sheet:
        return sheet
    return "整个文件"


def _finding_line(row: Mapping[str, Any], esc: Any = plain_text) -> str:
    # Locations and messages quote sheet names, headers and values: submitter text.
    line = f"{esc(_location(row))}：{esc(row.get('message', ''))}"
    if row.get("severity") == WARNING and bool(row.get("explained")):
        line += "（已在说明表中说明）"
    return line


def _check_one_county(findings: pd.DataFrame, county_code: str) -> None:
    # A county must never see another county's findings: refuse mixed frames loudly.
    if "county_code" in findings.columns:
        others = set(findings["county_code"].astype(str)) - {county_code}
        if others:
            raise ValueError(
                f"findings for other counties passed to the {county_code} alert: {sorted(others)}"
            )
    if "file_key" in findings.columns:
        keys = {str(k) for k in findings["file_key"] if str(k)}
        if len(keys) > 1:
            raise ValueError(f"findings of {len(keys)} different files passed to one submission alert")


def submission_message(
    county_code: str,
    county_name: str,
    period: str,
    version: int,
    status: str,
    findings: pd.DataFrame,
    max_items: int = 20,
    *,
    workbook_name: str | None = None,
    workbook_location: str | None = None,
) -> Message:
    """Message for one processed file version of one county.

    `findings` must hold only this submission's rows (checked). `workbook_name` is the
    annotated workbook's file name (attached to the e-mail); `workbook_location` an
    optional place (share path / URL) where it can also be fetched.
    """
    status = SubmissionStatus(status)  # ValueError on a word that is no status
    _check_one_county(findings, county_code)
    status_zh = status.zh
    sev = findings["severity"] if len(findings) else pd.Series([], dtype=object)
    n_err = int((sev == ERROR).sum())
    n_warn = int((sev == WARNING).sum())
    n_explained = int(((sev == WARNING) & findings["explained"].astype(bool)).sum()) if n_warn else 0

    who = f"{county_code} {county_name}".strip()
    md_who = md_escape(who)
    subject = f"{PREFIX}{who} {period} 第{int(version)}版：{status_zh}（错误{n_err}条，提示{n_warn}条）"

    # Errors first (they block acceptance), otherwise keep the caller's order (sheet, row, column).
    rank = {ERROR: 0, WARNING: 1}
    ordered = (
        findings.assign(_rank=findings["severity"].map(lambda s: rank.get(s, 2)))
        .sort_values("_rank", kind="stable")
        .drop(columns="_rank")
        if len(findings)
        else findings
    )
    shown = ordered.head(max(0, int(max_items))).to_dict("records")
    rest = len(ordered) - len(shown)

    if status == SubmissionStatus.REJECTED:
        verdict = "本次报送未通过审核，已退回。请按下列问题修改后重新报送。"
    elif status == SubmissionStatus.SUPERSEDED:
        verdict = "本版本已被之后通过审核的新版本替代，以新版本数据为准，无需处理。"
    elif status == SubmissionStatus.ACCEPTED_WITH_WARNINGS:
        verdict = "本次报送已通过审核，但有需要核实的提示；如数据无误，可在“说明”表中说明原因。"
    else:
        verdict = "本次报送已通过审核，数据已入库。"
    counts = f"错误 {n_err} 条，提示 {n_warn} 条" + (
        f"（其中 {n_explained} 条已说明）" if n_explained else ""
    )

    # E-mail carries the workbook as an attachment; chat robots cannot, so they only name it.
    text_note = md_note = ""
    where = f"也可在 {workbook_location} 获取。" if workbook_location else ""
    if workbook_name:
        text_note = (
            f"批注版工作簿《{plain_text(workbook_name)}》见本邮件附件，问题单元格已标色并附批注。{where}"
        )
        md_note = f"批注版工作簿：《{md_escape(workbook_name)}》（问题单元格已标色并附批注）。{where}"
    elif workbook_location:
        text_note = md_note = f"批注版工作簿可在 {workbook_location} 获取。"

    # ---- plain text (e-mail) ----------------------------------------------------
    lines = [
        f"{who}：",
        "",
        f"{period} 五星支部数据（第{int(version)}版）审核结果：{status_zh}",
        verdict,
        f"共发现：{counts}",
    ]
    md = [
        f"### {PREFIX}{md_who} {md_escape(period)} 第{int(version)}版",
        "",
        f"**审核结果：{status_zh}**（{counts}）",
        "",
        verdict,
    ]
    for sev_code in (ERROR, WARNING):
        items = [r for r in shown if r.get("severity") == sev_code]
        if not items:
            continue
        total = n_err if sev_code == ERROR else n_warn
        title = f"{SEVERITY_ZH[sev_code]}（共{total}条）："
        lines += ["", title] + [f"{i}. {_finding_line(r)}" for i, r in enumerate(items, 1)]
        md += ["", f"**{title}**", ""] + [f"- {_finding_line(r, md_escape)}" for r in items]
    if rest > 0:
        lines += ["", f"……另有 {rest} 条未列出，请查看批注版工作簿。"]
        md += ["", f"……另有 {rest} 条未列出，请查看批注版工作簿。"]
    if text_note:
        lines += ["", text_note]
        md += ["", md_note]
    lines += ["", "此邮件由五星支部数据系统自动发送，请勿直接回复。"]

    return Message(
        subject=subject,
        text="\n".join(lines) + "\n",
        markdown="\n".join(md) + "\n",
        status=status,
        alert_key=submission_alert_key(county_code, period, version),
        meta={
            "county_code": county_code,
            "county_name": county_name,
            "period": period,
            "version": int(version),
            "errors": n_err,
            "warnings": n_warn,
        },
    )


def digest_message(
    period: str,
    rejected: list[dict],
    missing_counties: list[dict] | None,
    failed_deliveries: list[dict],
    *,
    run_id: str = "",
    given_up: list[dict] | None = None,
    deferred: int = 0,
    notice: str = "",
    sections: Mapping[str, list[str]] | None = None,
    unnamed: list[dict] | None = None,
) -> Message:
    """Run summary for IT staff.

    rejected: dicts with county_code, county_name, version, errors, warnings (file_name optional);
    missing_counties: dicts with county_code, county_name (None: not known in this run, not shown);
    failed_deliveries: delivery records (channel, recipient, error; county_code / alert_key optional);
    given_up: deliveries the retry policy gave up in this run (same keys; error = the reason);
    deferred: deliveries left for the next run because the run's alert time budget ran out;
    notice: a warning line shown first (e.g. the raw folder is empty past the deadline);
    sections: more titled lists shown after the rejected versions (fivestar.alerts.closed:
    missing and late counties, files that arrived for a closed month);
    unnamed: versions whose file name had no county code (county_code, county_name,
    file_name), taken for the county their cover or name showed.
    """
    given_up = list(given_up or [])
    missing = list(missing_counties or [])
    subject = (
        f"{PREFIX}{period} 运行汇总：退回{len(rejected)}份，未报送{len(missing)}个县，"
        f"通知失败{len(failed_deliveries)}次" + (f"，放弃通知{len(given_up)}条" if given_up else "")
    )
    lines = [f"{period} 五星支部数据处理汇总" + (f"（运行 {run_id}）" if run_id else ""), ""]
    md = [f"### {PREFIX}{md_escape(period)} 运行汇总", ""]
    if notice:
        lines.extend([f"注意：{notice}", ""])
        md.extend([f"**注意：{md_escape(notice)}**", ""])

    def section(title: str, rows: list[str]) -> None:
        # Rows quote file names, county names and server replies: escaped as submitter text.
        shown = [plain_text(r) for r in rows] or ["无"]
        lines.extend([f"{title}（{len(rows)}）：", *(f"  - {r}" for r in shown), ""])
        shown = [md_escape(r) for r in rows] or ["无"]
        md.extend([f"**{title}（{len(rows)}）**", "", *(f"- {r}" for r in shown), ""])

    def delivery(d: Mapping[str, Any]) -> str:
        return (
            f"{d.get('alert_key') or d.get('county_code') or ''} {d.get('channel', '')} → "
            f"{d.get('recipient', '')}：{d.get('error', '')}".strip()
        )

    section(
        "退回的报送",
        [
            f"{d.get('county_code', '')} {d.get('county_name', '')} 第{d.get('version', '?')}版："
            f"错误{d.get('errors', 0)}条，提示{d.get('warnings', 0)}条"
            + (f"（{d['file_name']}）" if d.get("file_name") else "")
            for d in rejected
        ],
    )
    for title, rows in (sections or {}).items():
        section(title, list(rows))
    if missing_counties is not None:
        section(
            "未报送的县", [f"{d.get('county_code', '')} {d.get('county_name', '')}".strip() for d in missing]
        )
    if unnamed:
        section(
            "文件名缺少县代码（已按文件内容识别并审核）",
            [
                f"{d.get('county_code', '')} {d.get('county_name', '')}：{d.get('file_name', '')}，"
                f"应命名为{d.get('county_code', '')}_{d.get('file_name', '')}"
                for d in unnamed
            ],
        )
    section("通知发送失败", [delivery(d) for d in failed_deliveries])
    if given_up:
        section("已放弃的通知（多次发送失败或超时，不再重试）", [delivery(d) for d in given_up])
    if deferred:
        note = f"本次运行的通知时限已用完，{deferred} 条通知留待下次运行发送。"
        lines.extend([note, ""])
        md.extend([note, ""])
    text, markdown = "\n".join(lines), "\n".join(md)
    return Message(
        subject=subject,
        text=text,
        markdown=markdown,
        status="digest",
        alert_key=digest_alert_key(period, subject + text),
        meta={
            "period": period,
            "rejected": len(rejected),
            "missing_counties": len(missing),
            "failed_deliveries": len(failed_deliveries),
            "given_up": len(given_up),
            "deferred": int(deferred),
        },
    )
