"""`fivestar watch` as a process: a correction dropped into the raw folder is processed
and its feedback e-mail arrives, without anyone starting a run.

In: a small province from `fivestar sample` (3 counties, one month), loaded once
in-process; a loopback SMTP sink; the module's Prefect server; `fivestar watch` started
as a child process (settle time 1 s, a look every 0.5 s). Out: checks that the watch
reports itself ready, that a corrected copy of one county's file becomes that county's
version 2 (only that county-month is run) and its feedback mail arrives at the sink,
and that SIGTERM between runs stops the watch cleanly (exit 0, "stopped" in its log).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from servers import SmtpSink
from sqlalchemy import create_engine, text

from bench.data import corrected_copy
from testenv import clean_env

pytestmark = pytest.mark.prefect_server
ROOT = Path(__file__).resolve().parents[2]
PERIOD = "2026-11"


def _wait_for(what: str, check, timeout_s: float, log: Path) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if check():
            return
        time.sleep(0.2)  # polling a child process's effects, not waiting for a deadline
    pytest.fail(
        f"{what} not seen within {timeout_s:g} s; watch log:\n{log.read_text(errors='replace')[-4000:]}"
    )


def test_watch_takes_a_correction_and_mails_its_feedback(
    tmp_path: Path, smtp_sink: SmtpSink, prefect_api: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fivestar.sample import generate

    generate(tmp_path, PERIOD, counties=3, seed=1, months=1, rulebook_dir=ROOT / "config")
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    county = next(f["county_code"] for f in manifest["files"] if f["expected_status"].startswith("accepted"))
    url = f"sqlite:///{tmp_path / 'wh.db'}"
    settings = {
        "FIVESTAR_RAW_DIR": str(tmp_path / "raw"),
        "FIVESTAR_CONFIG_DIR": str(tmp_path / "config"),
        "FIVESTAR_PROCESSED_DIR": str(tmp_path / "processed"),
        "FIVESTAR_WAREHOUSE_URL": url,
        "FIVESTAR_SMTP_HOST": "127.0.0.1",
        "FIVESTAR_SMTP_PORT": str(smtp_sink.port),
        "FIVESTAR_TASK_RUNNER": "local",
    }
    for k, v in settings.items():
        monkeypatch.setenv(k, v)
    from flows.nightly import fivestar_run

    fivestar_run.fn()  # the loaded province
    loaded = len(smtp_sink.messages)
    assert loaded >= 3

    env = clean_env()
    env.update(settings, PREFECT_API_URL=prefect_api, PREFECT_HOME=str(tmp_path / ".prefect"))
    env.update(FIVESTAR_SETTLE_SECONDS="1", FIVESTAR_WATCH_INTERVAL_SECONDS="0.5", PYTHONUNBUFFERED="1")
    log = tmp_path / "watch.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "fivestar.cli", "watch"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for(
            "the watch's first look",
            lambda: "watch: waiting for new files" in log.read_text(errors="replace"),
            300,
            log,
        )
        assert len(smtp_sink.messages) == loaded  # nothing new: nothing run, nothing sent

        target = next((tmp_path / "raw" / PERIOD).glob(f"{county}*.xlsx"))
        corrected = target.with_name(target.stem + "_更正.xlsx")
        corrected_copy(target, corrected)

        def mailed() -> bool:
            return any(county in m["Subject"] and "第2版" in m["Subject"] for _, m in smtp_sink.messages)

        _wait_for("the correction's feedback mail", mailed, 300, log)
        engine = create_engine(url)
        with engine.connect() as conn:
            versions = conn.execute(
                text("SELECT county_code, MAX(version) FROM submission GROUP BY county_code")
            ).all()
        engine.dispose()
        assert {c: v for c, v in versions if v > 1} == {county: 2}
        assert f"county={county}" in log.read_text(errors="replace")  # only that county-month was run
        _wait_for(
            "the end of the run",
            lambda: log.read_text(errors="replace").count("watch: waiting for new files") >= 2,
            120,
            log,
        )
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
        try:
            code = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert code == 0, log.read_text(errors="replace")[-3000:]
    assert "watch: stopped" in log.read_text(errors="replace")
