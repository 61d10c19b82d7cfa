"""Resident-ID sweep: every form of an ID in every text-bearing place, through the real run.

In: two county workbooks (built with wbfactory, then edited with openpyxl and at the
XML level) holding resident IDs half- and full-width, ending in X / x / Ｘ, with a
letter prefix, in groups with spaces or dashes, 15-digit old style, typed as numbers,
split across rich-text runs and written as XML character references; placed in the
cover, roster names, ledger notes, 对象编号 and 支部代码, veto notes, 情况说明, the
file name, cell comments (text and author), document properties, defined names,
data-validation lists and prompts, header/footer text and a sheet name. County 410522
is accepted (its facts reach the warehouse); 410523 is rejected (numbers in count
columns, IDs in 支部代码) and has an old 审核结果 sheet, so its feedback copy goes
the openpyxl way. Submitters and IT get e-mail (aiosmtpd on loopback) and webhooks
(a local HTTP receiver). The leaders' report and a branch card are written too.
Out: no raw ID, and no run of 15 or more of its digits, in any warehouse table or
view, any file under FIVESTAR_PROCESSED_DIR except archive/ (xlsx unzipped, every
part; HTML and XML character references decoded), any e-mail (headers, bodies,
attachments) or webhook payload, or any log line (caplog and the captured output).
"""

from __future__ import annotations

import datetime as dt
import email
import html
import io
import json
import logging
import re
import shutil
import unicodedata
import zipfile
from email import policy
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont
from openpyxl.comments import Comment
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from servers import SmtpSink, WebhookReceiver
from sqlalchemy import inspect, text

import wbfactory as W
from fivestar.config import load_rulebook
from fivestar.warehouse.engine import make_engine

ROOT = Path(__file__).resolve().parents[2]
PERIOD = "2026-11"
A, B = "410522", "410523"

# One ID per form, so a leak names its form.
FORMS = {
    "half": "410621197005051118",
    "lower_x": "41062119550505777x",
    "full_width_X": "４１０６２１１９８００２０２１２３Ｘ",
    "prefixed": "SFZ410621195505057779",
    "spaced": "410621 19700606 2228",
    "dashed": "410621-19710707-3338",
    "old15": "410621720808444",
}
NUMERIC = 410621200101014442  # typed as a number
RICH = ("410621", "199909091234")  # one ID over two rich-text runs
CHARREF = "410621198812125556"  # written as &#52;&#49;… in the XML
CHARREF_MARK = "CHARREFMARK"
SHEET_ID = "410621199203034321"  # a sheet's name
NAME_ID = "SFZ410621198001011111"  # a defined name's name
FILE_IDS = {A: "４１０６２１１９９３０６０６１２３Ｘ", B: "410621 19940707 1230"}  # in the file names
ALL_TEXT = "身份证：" + "；".join(FORMS.values())
SEP = re.compile(r"[\s\-‐-―−－_]")


def _canonical(s: str) -> str:
    t = SEP.sub("", unicodedata.normalize("NFKC", s)).upper()
    return re.sub(r"^[A-Z]+", "", t)


IDS = [_canonical(x) for x in [*FORMS.values(), str(NUMERIC), "".join(RICH), CHARREF, SHEET_ID, NAME_ID]]
IDS += [_canonical(x) for x in FILE_IDS.values()]
WINDOWS = {w: i for i in IDS for w in (i[k : k + 15] for k in range(len(i) - 14))}


def leaks(where: str, content: str) -> list[str]:
    """Every ID (or 15 of its digits in a row) found in `content`, however written."""
    t = SEP.sub("", unicodedata.normalize("NFKC", html.unescape(content))).upper()
    return [f"{where}: {WINDOWS[w]}" for w in WINDOWS if w in t]


# ------------------------------------------------------------------------ the workbooks


def _edit(county: str, brs: list[dict[str, str]]) -> Any:
    def edit(wb: openpyxl.Workbook) -> None:
        cover = wb["封面"]
        for row in cover.iter_rows(min_col=1, max_col=2):
            if row[0].value == "填报人":
                row[1].value = ALL_TEXT
            if row[0].value == "联系电话":
                row[1].value = FORMS["full_width_X"]
        cover["A1"].comment = Comment(ALL_TEXT, FORMS["half"])  # a cell no finding marks
        cover["D1"] = f"='{SHEET_ID}'!A1"
        extra = wb.create_sheet(SHEET_ID)
        extra["A1"] = "备注"

        roster = wb["支部名册"]
        for r in range(2, roster.max_row + 1):
            roster.cell(r, 7).value = ALL_TEXT  # 书记姓名
        roster["G2"].comment = Comment(ALL_TEXT, FORMS["prefixed"])  # a marked cell
        dv = DataValidation(
            type="list",
            formula1=f'"{FORMS["half"]},{FORMS["dashed"]}"',
            prompt=ALL_TEXT,
            promptTitle=FORMS["old15"],
            error=FORMS["full_width_X"],
            errorTitle=FORMS["lower_x"],
            showInputMessage=True,
        )
        roster.add_data_validation(dv)
        dv.add("G2:G20")
        roster.oddHeader.center.text = ALL_TEXT
        roster.oddFooter.left.text = FORMS["full_width_X"]

        ledger = wb["积分台账"]
        day = dt.date(2026, 11, 5)
        ledger.append([day, brs[0]["code"], "党员", FORMS["half"], "DY01", 1, ALL_TEXT])
        ledger.append([day, brs[0]["code"], "党员", FORMS["full_width_X"], "DY01", 1, CHARREF_MARK])
        ledger.append([day, brs[1]["code"], "户", FORMS["spaced"], "HH01", 2, NUMERIC])
        ledger.append([day, brs[1]["code"], "党员", FORMS["prefixed"], "DY01", 1, None])
        n = ledger.max_row
        ledger.cell(n, 7).value = CellRichText(TextBlock(InlineFont(b=True), RICH[0]), RICH[1])
        wb["否决事项"].append([brs[0]["code"], day, "V03", ALL_TEXT])
        wb.properties.creator = FORMS["half"]
        wb.properties.title = FORMS["full_width_X"]
        wb.properties.subject = ALL_TEXT
        wb.properties.description = ALL_TEXT
        wb.properties.keywords = CHARREF_MARK
        wb.properties.lastModifiedBy = FORMS["prefixed"]
        wb.defined_names["SFZ_NOTE"] = DefinedName("SFZ_NOTE", attr_text=f'"{FORMS["half"]}"')
        wb.defined_names[NAME_ID] = DefinedName(NAME_ID, attr_text="封面!$A$1")

        if county == B:  # rejected: numbers of 18 digits in count columns, IDs as branch codes
            roster["F2"] = NUMERIC  # 户数
            wb["村指标"]["G2"] = NUMERIC  # 村集体经济收入（万元）
            ledger.append([day, FORMS["half"], "支部", "", "ZB01", 2, "代码填成身份证"])
            ledger.append([day, FORMS["full_width_X"], "支部", "", "ZB01", 2, ""])
            old = wb.create_sheet("审核结果", 0)  # an old feedback sheet: the openpyxl path
            old["A1"] = ALL_TEXT

    return edit


def _charrefs(path: Path) -> None:
    """Write CHARREF as numeric character references wherever the marker is."""
    refs = "".join(f"&#{ord(c)};" for c in CHARREF).encode()
    with zipfile.ZipFile(path) as zin:
        parts = [(i, zin.read(i)) for i in zin.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for info, data in parts:
            zout.writestr(info, data.replace(CHARREF_MARK.encode(), refs))


def _province(root: Path, webhook: str) -> Path:
    cfg = root / "config"
    shutil.copytree(ROOT / "config", cfg, ignore=shutil.ignore_patterns("registry.csv", "submitters.csv"))
    rb = load_rulebook(cfg)
    brs = {A: W.branches(A, 3, 1), B: W.branches(B, 2, 1)}
    W.registry_frame({A: "林州市", B: "安阳县"}, brs).to_csv(cfg / "registry.csv", index=False)
    (cfg / "submitters.csv").write_text(
        "county_code,name,email,webhook_url\n"
        f"{A},王五,linzhou@example.org,{webhook}/a?kind=dingtalk\n"
        f"{B},赵六,anyang@example.org,{webhook}/b?kind=wecom\n",
        encoding="utf-8",
    )
    for county, name in ((A, "林州市"), (B, "安阳县")):
        path = root / "raw" / PERIOD / f"{county}_{name}_{PERIOD}_{FILE_IDS[county]}.xlsx"
        W.write_workbook(path, rb, county, name, PERIOD, brs[county], edit=_edit(county, brs[county]))
        _charrefs(path)
    return cfg


# ------------------------------------------------------------------------ the sinks


@pytest.fixture
def smtp(smtp_sink: SmtpSink) -> tuple[SmtpSink, SmtpSink]:
    return smtp_sink, smtp_sink  # (the server, with .port; what it received, .raw)


@pytest.fixture
def hook(webhook: WebhookReceiver) -> tuple[str, WebhookReceiver]:
    return webhook.base, webhook


# ------------------------------------------------------------------------ scanning


def scan_bytes(where: str, data: bytes) -> list[str]:
    if data[:2] == b"PK":
        out = []
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            for name in zf.namelist():
                out += leaks(f"{where}!{name}", name)
                out += scan_bytes(f"{where}!{name}", zf.read(name))
        return out
    return leaks(where, data.decode("utf-8", "replace"))


def scan_email(i: int, raw: bytes) -> list[str]:
    msg = email.message_from_bytes(raw, policy=policy.default)
    out = []
    for k, v in msg.items():
        out += leaks(f"mail{i} header {k}", str(v))
    for part in msg.walk():
        if part.is_multipart():
            continue
        name = part.get_filename() or ""
        out += leaks(f"mail{i} attachment name", name)
        payload = part.get_payload(decode=True) or b""
        out += scan_bytes(f"mail{i} {part.get_content_type()} {name}", payload)
    return out


def scan_warehouse(url: str) -> tuple[list[str], str]:
    engine = make_engine(url)
    out, seen = [], []
    try:
        insp = inspect(engine)
        names = insp.get_table_names() + insp.get_view_names()
        with engine.connect() as conn:
            for name in names:
                df = pd.read_sql(text(f'SELECT * FROM "{name}"'), conn)
                dump = df.to_csv(index=False)
                seen.append(dump)
                out += leaks(f"warehouse {name}", dump)
    finally:
        engine.dispose()
    return out, "\n".join(seen)


# ------------------------------------------------------------------------ the test


def test_no_resident_id_leaves_the_archive(
    warehouse_url: str,
    tmp_path: Path,
    smtp: Any,
    hook: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    from flows.nightly import fivestar_run

    ctl, sink = smtp
    base, receiver = hook
    cfg = _province(tmp_path, base)
    processed = tmp_path / "processed"
    for k, v in {
        "FIVESTAR_RAW_DIR": tmp_path / "raw",
        "FIVESTAR_CONFIG_DIR": cfg,
        "FIVESTAR_PROCESSED_DIR": processed,
        "FIVESTAR_WAREHOUSE_URL": warehouse_url,
        "FIVESTAR_SMTP_HOST": "127.0.0.1",
        "FIVESTAR_SMTP_PORT": ctl.port,
        "FIVESTAR_SMTP_FROM": "fivestar@example.org",
        "FIVESTAR_IT_ALERT_EMAIL": "it@example.org",
        "FIVESTAR_IT_ALERT_WEBHOOK": f"{base}/it?kind=dingtalk",
        "FIVESTAR_ID_HASH_KEY": "sweep-test-key-not-the-default",
    }.items():
        monkeypatch.setenv(k, str(v))
    for k in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY"):
        monkeypatch.delenv(k, raising=False)
    caplog.set_level(logging.DEBUG)

    result = fivestar_run.fn()
    # The leaders' report and a branch card, from the warehouse, under the processed folder too.
    from fivestar.report import run_report_command

    reports = processed / "reports"
    written = run_report_command(year=2026, out=reports)
    written += run_report_command(year=2026, out=reports, branch=W.branches(A)[0]["code"])
    assert written

    statuses = {r["county_code"]: r["status"] for r in result["summary"]}
    assert statuses[B] == "rejected"
    assert statuses[A] in ("accepted", "accepted_with_warnings"), result["summary"]
    found: list[str] = []

    # The warehouse: every table and view.
    wh, dump = scan_warehouse(warehouse_url)
    found += wh
    assert "410621********1118" in dump  # masked, not dropped: the test is not vacuous
    assert "IDH-" in dump  # 对象编号 hashed

    # Every file we wrote, except the archive of received files.
    files = [
        p for p in processed.rglob("*") if p.is_file() and "archive" not in p.relative_to(processed).parts
    ]
    assert any(p.suffix == ".xlsx" for p in files) and any(p.suffix == ".html" for p in files)
    for p in files:
        rel = str(p.relative_to(processed))
        found += leaks(f"file name {rel}", rel)
        found += scan_bytes(rel, p.read_bytes())
    for p in files:  # the copies still open; no sheet name Excel would refuse
        if p.suffix == ".xlsx":
            wb = openpyxl.load_workbook(p)
            assert all("*" not in n for n in wb.sheetnames), wb.sheetnames

    # E-mail and webhooks: the counties' and IT's.
    assert len(sink.raw) >= 3, "two counties and the IT digest"
    for i, raw in enumerate(sink.raw):
        found += scan_email(i, raw)
    assert len(receiver.bodies) >= 3
    for path, body in ((b["path"], b["body"]) for b in receiver.bodies):
        found += leaks(f"webhook {path}", path)
        found += leaks(f"webhook {path}", json.dumps(json.loads(body), ensure_ascii=False))

    # Logs: records of every logger, and whatever reached stdout/stderr (reader processes too).
    for rec in caplog.records:
        found += leaks(f"log {rec.name}", rec.getMessage() + (rec.exc_text or ""))
    found += leaks("caplog text", caplog.text)
    out, err = capfd.readouterr()
    found += leaks("stdout", out) + leaks("stderr", err)

    assert not found, "\n".join(sorted(set(found)))


def test_cli_run_output_and_logs_hold_no_id(tmp_path: Path) -> None:
    """`fivestar run -v` as a child process (its own Prefect server, its own log handlers)."""
    import os
    import subprocess
    import sys

    cfg = _province(tmp_path, "http://127.0.0.1:9")
    (cfg / "submitters.csv").write_text("county_code,name,email,webhook_url\n", encoding="utf-8")
    env = dict(os.environ)
    env.update(
        FIVESTAR_RAW_DIR=str(tmp_path / "raw"),
        FIVESTAR_CONFIG_DIR=str(cfg),
        FIVESTAR_PROCESSED_DIR=str(tmp_path / "processed"),
        FIVESTAR_WAREHOUSE_URL=f"sqlite:///{tmp_path / 'wh.db'}",
        FIVESTAR_ID_HASH_KEY="sweep-test-key-not-the-default",
    )
    cmd = [sys.executable, "-m", "fivestar.cli", "run", "-v"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "rejected" in proc.stdout  # it did run
    found = leaks("stdout", proc.stdout) + leaks("stderr", proc.stderr)
    found += scan_warehouse(env["FIVESTAR_WAREHOUSE_URL"])[0]
    assert not found, "\n".join(sorted(set(found)))
