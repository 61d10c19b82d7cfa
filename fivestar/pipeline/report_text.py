"""What a run tells Prefect: the final state message (English, for IT), the markdown
artifact (Chinese, with county names, star counts and feedback file paths) and one table
per period.

In: a `RunResult` and the county names (code → name). Out: plain strings and rows;
publishing them is the flow's business (flows/artifacts.py), so this needs no Prefect.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fivestar.pipeline.results import RunResult
from fivestar.status import ACCEPTED_STATUSES, SubmissionStatus, status_zh

STARS = ("5★", "4★", "3★", "2★", "1★", "0★")
STARS_ZH = ("五星", "四星", "三星", "二星", "一星", "无星")


def _n(v: Any) -> int | None:
    return None if v is None or v != v else int(v)  # NaN-safe (a failed row has no counts)


def counts(result: RunResult) -> dict[str, int]:
    """Versions by outcome (statuses as the warehouse has them now) and failed alerts."""
    statuses = [str(r["status"]) for r in result.summary.to_dict("records")]
    alerts = result.alerts.get("summary", {})
    return {
        "accepted": sum(s in ACCEPTED_STATUSES for s in statuses),
        "rejected": statuses.count(SubmissionStatus.REJECTED),
        "superseded": statuses.count(SubmissionStatus.SUPERSEDED),
        "failed": statuses.count(SubmissionStatus.FAILED),
        "failed_alerts": int(alerts.get("failed", 0)),
        "given_up_alerts": int(alerts.get("given_up", 0)),
    }


def state_message(result: RunResult) -> str:
    """e.g. "5 accepted, 1 rejected, 0 failed alerts" (+ the counties that failed)."""
    c = counts(result)
    msg = f"{c['accepted']} accepted, {c['rejected']} rejected, {c['failed_alerts']} failed alerts"
    if c["given_up_alerts"]:
        msg += f", {c['given_up_alerts']} alerts given up"
    failed = result.failures()
    if failed:
        which = ", ".join(f"{f['county_code']} {f['period']} v{f['version']}" for f in failed[:10])
        more = f" and {len(failed) - 10} more" if len(failed) > 10 else ""
        msg += f"; {len(failed)} failed to process: {which}{more}"
    return msg


def period_rows(result: RunResult, names: Mapping[str, str]) -> dict[str, list[dict[str, Any]]]:
    """Per period, one row per processed version (Chinese column names: the table artifact)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for r in result.summary.to_dict("records"):
        code = str(r["county_code"])
        row: dict[str, Any] = {
            "县（市、区）": names.get(code) or code,
            "代码": code,
            "版本": int(r["version"]),
            "状态": status_zh(str(r["status"])),
            "错误": _n(r.get("errors")),
            "提示": _n(r.get("warnings")),
        }
        row.update({zh: _n(r.get(k)) for k, zh in zip(STARS, STARS_ZH, strict=True)})
        row["反馈文件"] = r["feedback"] if isinstance(r.get("feedback"), str) else ""
        out.setdefault(str(r["period"]), []).append(row)
    return out


def _cell(v: Any) -> str:
    text = "" if v is None else str(v)
    return text.replace("|", "\\|").replace("\n", " ")


def run_markdown(result: RunResult, names: Mapping[str, str]) -> str:
    """The run's markdown artifact, in Chinese."""
    c = counts(result)
    lines = [
        f"## 五星支部数据处理结果（运行 {result.run_id}）",
        "",
        f"本次处理 {len(result.summary)} 份报表：通过 {c['accepted']} 份，退回 {c['rejected']} 份，"
        f"被新版本替代 {c['superseded']} 份，处理失败 {c['failed']} 份；"
        f"预警发送失败 {c['failed_alerts']} 条，放弃发送 {c['given_up_alerts']} 条。",
    ]
    if not len(result.summary):
        lines += ["", "没有新的报表。"]
    for period, rows in sorted(period_rows(result, names).items()):
        head = list(rows[0])
        lines += ["", f"### {period}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for row in rows:
            row = {**row, "反馈文件": f"`{row['反馈文件']}`" if row["反馈文件"] else ""}
            lines.append("| " + " | ".join(_cell(row[k]) for k in head) + " |")
    failed = result.failures()
    if failed:  # for IT: the reason stays in English, as in the log
        lines += ["", "### 处理失败（请信息技术人员查看）", ""]
        lines += [
            f"- {f['county_code']} {f['period']} 第{f['version']}版：{_cell(f['error'])}" for f in failed
        ]
    if result.unrecognised:
        lines += ["", "### 无法识别的文件", ""] + [f"- `{_cell(n)}`" for n in result.unrecognised]
    return "\n".join(lines) + "\n"
