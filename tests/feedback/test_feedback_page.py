"""The per-submission validation page as a county clerk reads it (issue 15, item 3).

In: fabricated findings (errors and warnings interleaved, a 10-digit value, rule ids),
written by `write_validation_html` with a fixed time; headless Chromium at 1280 px.
Out: assertions that the page is plain Chinese (no English labels, no hash, no rule
ids outside the collapsed IT section), lists errors before warnings in the validator's
order, shows the 处理意见 steps of the 审核结果 sheet and Beijing time, and, rendered
in a real browser 1280 px wide, shows a 10-digit value on one unclipped line.
"""

from __future__ import annotations

import html as htmllib
import json
import os
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fivestar.feedback import write_run_index, write_validation_html
from fivestar.feedback.summary_sheet import GUIDANCE_STEPS
from fivestar.findings import finding, make_findings
from testenv import require_tool

ROOT = Path(__file__).resolve().parents[2]
SHA = "ab" * 32
TEN_DIGITS = "4105221012"
NOW = datetime(2026, 12, 4, 2, 30, tzinfo=UTC)  # 10:30 in Beijing


def _findings():
    long_msg = (
        "党员人数为“45人”，本列应填写不小于3的整数（人），请去掉单位“人”，只填数字，如45；"
        "如该支部党员确实不足3人，请在情况说明中写明原因。"
    )
    return make_findings(
        [
            finding("warning", "village.rate.jump", "三会一课完成率比上月变化超过30个百分点，请核实",
                    sheet="村指标", row=3, column_name="三会一课完成率（%）", cell="F3", value="35"),
            finding("error", "roster.root.title_row", "表头在第2行，请删除表头上方的标题行",
                    sheet="支部名册", row=2),
            finding("error", "roster.members.type", long_msg, sheet="支部名册", row=5,
                    column_name="党员人数", cell="E5", value="45人"),
            finding("warning", "roster.households.plausible", "户数为4105221012，请核实",
                    sheet="支部名册", row=4, column_name="户数", cell="F4", value=TEN_DIGITS),
            finding("error", "village.rate.range", "三会一课完成率为120，超出0到100，请改为实际完成率（0–100）",
                    sheet="村指标", row=4, column_name="三会一课完成率（%）", cell="F4", value="120"),
            finding("warning", "file.name", "文件名应以县代码开头，请改名为410522_林州市_2026-11.xlsx"),
        ]
    )  # fmt: skip


def _write(tmp_path: Path, findings=None, status: str = "rejected") -> Path:
    return write_validation_html(
        tmp_path / "410522_2026-11_v2.html",
        _findings() if findings is None else findings,
        county_code="410522",
        county_name="林州市",
        period="2026-11",
        version=2,
        status=status,
        file_name="410522_林州市_2026-11.xlsx",
        file_sha256=SHA,
        feedback_workbook=tmp_path / "410522_2026-11_v2_审核结果.xlsx",
        now=NOW,
    )


def _main_part(page: str) -> str:
    """The page without the collapsed IT section, tags and entities removed: what a clerk reads."""
    body = page[page.index("<body>") : page.index('<details id="it">')]
    body += page[page.index("</details>") :]
    return htmllib.unescape(re.sub(r"<[^>]+>", " ", body))


def _rows(page: str) -> list[list[str]]:
    table = page[page.index('id="findings"') : page.index("</table>", page.index('id="findings"'))]
    out = []
    for tr in re.findall(r"<tr[^>]*>(.*?)</tr>", table, flags=re.S)[1:]:
        out.append(
            [
                htmllib.unescape(re.sub(r"<[^>]+>", "", td)).strip()
                for td in re.findall(r"<td[^>]*>(.*?)</td>", tr, flags=re.S)
            ]
        )
    return out


def test_plain_chinese_errors_first_steps_and_beijing_time(tmp_path: Path) -> None:
    page = _write(tmp_path).read_text(encoding="utf-8")
    main = _main_part(page)
    # No English labels, no hash, no rule ids where the clerk reads.
    words = set(re.findall(r"[A-Za-z]{2,}", main))
    assert words <= {"xlsx"}, words  # only the file names' extension
    assert SHA not in main and "SHA" not in main
    for rule in _findings()["rule"]:
        assert rule not in main
    # ... kept for IT in a collapsed section (closed: no `open` attribute).
    it = page[page.index('<details id="it">') : page.index("</details>")]
    assert SHA in it and "roster.members.type" in it and "<details open" not in page

    rows = _rows(page)
    assert [r[1] for r in rows] == ["错误"] * 3 + ["提示"] * 3
    # Stable within a severity: the validator's order (a root cause it puts first stays first);
    # whole-file findings, then sheets in workbook order.
    assert [r[2] for r in rows] == [
        "支部名册",
        "支部名册!E5",
        "村指标!F4",
        "（整个文件）",
        "支部名册!F4",
        "村指标!F3",
    ]
    assert rows[0][5] == "表头在第2行，请删除表头上方的标题行"

    steps = GUIDANCE_STEPS["rejected"]
    assert steps[0] in main and all(s in main for s in steps[1:])
    assert page.index(steps[0]) < page.index('id="findings"')  # what to do, before the list
    assert "2026-12-04 10:30（北京时间）" in main and "+0000" not in page


def test_clean_file_is_not_told_to_fix_anything(tmp_path: Path) -> None:
    page = _write(tmp_path, make_findings([]), status="accepted").read_text(encoding="utf-8")
    main = _main_part(page)
    assert "通过" in main and "无需修改" in main
    assert "请修改" not in main and "重新上报" not in main.replace("无需重新上报", "")


def test_run_index_has_no_english_labels(tmp_path: Path) -> None:
    out = write_run_index(
        tmp_path / "index.html",
        [
            {
                "county_code": "410522",
                "county_name": "林州市",
                "status": "rejected",
                "errors": 1,
                "warnings": 0,
            }
        ],
        now=NOW,
    )
    text = htmllib.unescape(re.sub(r"<[^>]+>", " ", out.read_text(encoding="utf-8").split("<body>")[1]))
    assert not re.findall(r"[A-Za-z]{2,}", text) and "2026-12-04 10:30" in text


# ---- a real browser ---------------------------------------------------------------------

_MEASURE = """<script>
addEventListener("load", () => {
  const out = [];
  for (const td of document.querySelectorAll("#findings td.value")) {
    const range = document.createRange();
    range.selectNodeContents(td);
    const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top))).size;
    out.push({text: td.textContent, lines: lines, clipped: td.scrollWidth > td.clientWidth,
              width: td.getBoundingClientRect().width,
              table: document.getElementById("findings").getBoundingClientRect().right});
  }
  document.body.setAttribute("data-measure", JSON.stringify(out));
});
</script>"""


@pytest.mark.system  # drives a real browser or office suite
def test_page_at_1280_px_in_chromium(tmp_path: Path) -> None:
    exe = require_tool("chromium", "chromium-browser", "google-chrome", package="chromium")
    page = _write(tmp_path)
    base = [
        exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage", "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,1400",
    ]  # fmt: skip
    png = tmp_path / "feedback-page-1280.png"
    shot = subprocess.run(
        [*base, f"--screenshot={png}", page.as_uri()], capture_output=True, text=True, timeout=180
    )
    assert png.exists() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", shot.stderr[-2000:]
    if os.environ.get("FIVESTAR_SAVE_SCREENSHOTS") == "1":  # refresh docs/feedback-page-1280.png
        shutil.copyfile(png, ROOT / "docs" / "feedback-page-1280.png")

    # The same page with a measuring script (the page itself has none), laid out at 1280 px.
    probe = tmp_path / "probe.html"
    probe.write_text(
        page.read_text(encoding="utf-8").replace("</body>", _MEASURE + "</body>"), encoding="utf-8"
    )
    dom = subprocess.run(
        [*base, "--virtual-time-budget=2000", "--dump-dom", probe.as_uri()],
        capture_output=True,
        text=True,
        timeout=180,
    ).stdout
    m = re.search(r'data-measure="([^"]*)"', dom)
    assert m, dom[-2000:]
    cells = json.loads(htmllib.unescape(m.group(1)))
    assert len(cells) == len(_findings())
    ten = next(c for c in cells if c["text"] == TEN_DIGITS)
    assert ten["lines"] == 1 and not ten["clipped"], ten  # a 10-digit number on one whole line
    assert all(not c["clipped"] for c in cells), cells
    assert ten["table"] <= 1280, "the findings table is wider than the window"
