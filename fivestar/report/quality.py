"""Report section about data quality: who submitted for the period, with what result.

In: the registered counties (`rpt_region`), `rpt_submission` and `rpt_dq_issue` of the
period, and each county's rating month. Out: the `quality` part of the report's data
dict: a summary (registered, submitted, missing, accepted, rejected …), one row per
county with its state in Chinese, and the findings of each county's latest version by
rule (examples with resident IDs masked).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy.engine import Engine

from fivestar import cells
from fivestar.report.queries import as_codes, py_value, read
from fivestar.status import ACCEPTED_STATUSES, status_zh


def where_label(g: pd.DataFrame) -> str:
    """Where a kind of finding is, in plain Chinese: sheets and columns, or the whole file."""
    parts = []
    for sheet, cols in g.groupby(g["sheet"].fillna(""), sort=True)["column_name"]:
        names = sorted({str(c) for c in cols.fillna("") if str(c)})
        if not sheet:
            parts.append("整个文件")
        elif names:
            parts.append(f"“{sheet}”表：" + "、".join(names[:4]) + ("等列" if len(names) > 4 else "列"))
        else:
            parts.append(f"“{sheet}”表")
    return "；".join(parts)


def quality(engine: Engine, period: str, ratings: pd.DataFrame) -> dict[str, Any]:
    reg = as_codes(
        read(engine, "SELECT code, name, parent_code FROM rpt_region WHERE level = 'county'"),
        "code",
        "parent_code",
    )
    cities = read(engine, "SELECT code, name FROM rpt_region WHERE level = 'city'")
    city_names = dict(zip(cities["code"].astype(str), cities["name"], strict=True))
    sub = as_codes(read(engine, "SELECT * FROM rpt_submission WHERE period = :p", p=period), "county_code")
    rating_as_of = ratings.groupby("county_code")["as_of_period"].max().to_dict()
    rows = []
    for c in sorted(set(reg["code"]) | set(sub["county_code"])):
        g = sub[sub["county_code"] == c].sort_values("version")
        meta = reg[reg["code"] == c]
        name = (
            py_value(meta["name"].iloc[0])
            if len(meta)
            else py_value(g["county_name"].iloc[0])
            if len(g)
            else None
        )
        r: dict[str, Any] = {
            "county_code": c,
            "county_name": name,
            "city_name": city_names.get(str(meta["parent_code"].iloc[0])) if len(meta) else None,
            "registered": bool(len(meta)),
            "versions": len(g),
            "rating_as_of": rating_as_of.get(c),
        }
        if g.empty:
            r.update(state="未报送", latest_status=None, latest_status_label="", current_version=None,
                     errors=None, warnings=None, file_name="")  # fmt: skip
        else:
            last = g.iloc[-1]
            acc = g[g["status"].isin(ACCEPTED_STATUSES)]
            cur = acc.iloc[-1] if len(acc) else None
            status = str(last["status"])
            if status == "rejected":
                state = (
                    f"最新版本被退回，沿用v{int(cur['version'])}"
                    if cur is not None
                    else "被退回（无有效数据）"
                )
            else:
                state = status_zh(str(cur["status"]) if cur is not None else status)
            r.update(
                state=state,
                latest_status=status,
                latest_status_label=status_zh(status),
                current_version=int(cur["version"]) if cur is not None else None,
                current_status=str(cur["status"]) if cur is not None else None,
                errors=int(last["errors"]),
                warnings=int(last["warnings"]),
                file_name=py_value(last["file_name"]),
            )
        rows.append(r)
    registered = [r for r in rows if r["registered"]]
    summary = {
        "period": period,
        "registered": len(registered),
        "submitted": sum(1 for r in registered if r["versions"]),
        "missing": sum(1 for r in registered if not r["versions"]),
        "accepted": sum(1 for r in rows if r.get("current_version") is not None),
        "with_warnings": sum(1 for r in rows if r.get("current_status") == "accepted_with_warnings"),
        "rejected": sum(1 for r in rows if r.get("latest_status") == "rejected"),
        "unregistered": sum(1 for r in rows if not r["registered"]),
        "missing_names": [r["county_name"] or r["county_code"] for r in registered if not r["versions"]],
        "rejected_names": [
            r["county_name"] or r["county_code"] for r in rows if r.get("latest_status") == "rejected"
        ],
    }
    # Findings of each county's latest version of the period.
    iss = as_codes(
        read(
            engine,
            """
            SELECT county_code, version, severity, rule, sheet, column_name,
                   COUNT(*) AS n, MIN(message) AS example
            FROM rpt_dq_issue WHERE period = :p
            GROUP BY county_code, version, severity, rule, sheet, column_name
            """,
            p=period,
        ),
        "county_code",
    )
    latest_v = sub.groupby("county_code")["version"].max().astype(int).to_dict()
    iss = iss[[latest_v.get(c) == int(v) for c, v in zip(iss["county_code"], iss["version"], strict=True)]]
    rules = []
    for (sev, rule), g in iss.groupby(["severity", "rule"], sort=False):
        rules.append(
            {
                "severity": sev,
                "severity_label": "错误" if sev == "error" else "提示",
                "rule": rule,  # kept for IT; the page and workbook show `where` instead
                "where": where_label(g),
                "count": int(g["n"].sum()),
                "counties": int(g["county_code"].nunique()),
                "example": cells.mask_ids_in(str(g["example"].iloc[0] or "")),
            }
        )
    rules.sort(key=lambda r: (r["severity"] != "error", -r["count"], r["rule"]))
    return {"summary": summary, "rows": rows, "rules": rules}
