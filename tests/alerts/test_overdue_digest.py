"""A wrong or empty raw folder the night after a deadline is a warning in the IT digest.

In: an empty raw folder, a warehouse with no version of the month, the IT webhook at a
loopback receiver, and "now" as a parameter (before and after the month's deadline,
day 5 of the next month 23:59:59 Asia/Shanghai). Out: checks that the digest of the
month past its deadline says the folder is empty and lists every county as missing,
once; and that nothing is said before the deadline or when the folder holds workbooks.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
from servers import WebhookReceiver

from fivestar.alerts.digests import overdue_empty_period
from fivestar.alerts.stage import alert_stage
from fivestar.config import load_registry
from fivestar.settings import load_settings
from fivestar.warehouse.engine import make_engine
from fivestar.warehouse.schema import ensure_schema

ROOT = Path(__file__).resolve().parents[2]
SHANGHAI = dt.timezone(dt.timedelta(hours=8))
AFTER = dt.datetime(2026, 12, 6, 2, 0, tzinfo=SHANGHAI)  # 2026-11's deadline was 2026-12-05 23:59:59
BEFORE = dt.datetime(2026, 12, 5, 23, 0, tzinfo=SHANGHAI)


@pytest.fixture
def setup(tmp_path: Path, webhook: WebhookReceiver, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    shutil.copytree(ROOT / "config", tmp_path / "config")
    (tmp_path / "raw").mkdir()
    for k, v in {
        "FIVESTAR_CONFIG_DIR": tmp_path / "config",
        "FIVESTAR_RAW_DIR": tmp_path / "raw",
        "FIVESTAR_PROCESSED_DIR": tmp_path / "processed",
        "FIVESTAR_WAREHOUSE_URL": f"sqlite:///{tmp_path / 'wh.db'}",
        "FIVESTAR_IT_ALERT_WEBHOOK": f"{webhook.base}/it",
    }.items():
        monkeypatch.setenv(k, str(v))
    engine = make_engine(load_settings().warehouse_url)
    ensure_schema(engine)
    yield tmp_path, engine, webhook
    engine.dispose()


def _run(engine, now: dt.datetime) -> None:  # type: ignore[no-untyped-def]
    s = load_settings()
    alert_stage(engine, s, load_registry(s.config_dir), run_id="r1", items=[], processed=[], now=now)


def test_an_empty_raw_folder_past_the_deadline_is_in_the_digest_once(setup) -> None:  # type: ignore[no-untyped-def]
    root, engine, webhook = setup
    assert overdue_empty_period(engine, root / "raw", BEFORE) == "2026-10"  # its own deadline passed long ago
    assert overdue_empty_period(engine, root / "raw", AFTER) == "2026-11"
    _run(engine, AFTER)
    texts = [json.dumps(b["json"], ensure_ascii=False) for b in webhook.bodies]
    assert len(texts) == 1 and "2026-11" in texts[0]
    assert "原始数据目录中没有任何报表" in texts[0] and "410522" in texts[0]  # every county missing
    _run(engine, AFTER)  # the same digest is not sent twice
    assert len(webhook.bodies) == 1


def test_no_warning_when_the_folder_holds_workbooks(setup) -> None:  # type: ignore[no-untyped-def]
    root, engine, webhook = setup
    (root / "raw" / "2026-11").mkdir()
    shutil.copy(next((ROOT / "data" / "raw" / "2026-11").glob("*.xlsx")), root / "raw" / "2026-11")
    assert overdue_empty_period(engine, root / "raw", AFTER) is None
    _run(engine, AFTER)
    assert not any("原始数据目录" in json.dumps(b["json"], ensure_ascii=False) for b in webhook.bodies)
