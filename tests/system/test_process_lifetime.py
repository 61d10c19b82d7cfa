"""`kill -9` of `fivestar run` leaves no process of it behind.

In: a small generated province (SQLite warehouse), one `fivestar run` started as a real
process with no PREFECT_API_URL, so that Prefect starts its temporary server (a uvicorn
subprocess) for it. Out: once the run has that server and its own reader or helper
processes, it is killed with SIGKILL; then, polling for a bounded time, every process
that descended from it (Prefect's server, multiprocessing's resource tracker, readers,
the helper, the watchdog itself) is gone.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

import wbfactory as W
from fivestar.config import load_rulebook

ROOT = Path(__file__).resolve().parents[2]
PERIOD = "2026-11"
COUNTIES = {"410522": "林州市", "410523": "安阳县", "410526": "滑县", "410527": "内黄县"}
START_S = 300  # for the run to have Prefect's server and its own workers, on a busy machine
GONE_S = 60  # for everything it started to end after it is killed


@pytest.fixture
def province(tmp_path: Path) -> Path:
    cfg = tmp_path / "config"
    shutil.copytree(ROOT / "config", cfg, ignore=shutil.ignore_patterns("registry.csv", "submitters.csv"))
    brs = {c: W.branches(c, 2, 1) for c in COUNTIES}
    W.registry_frame(COUNTIES, brs).to_csv(cfg / "registry.csv", index=False)
    (cfg / "submitters.csv").write_text(
        "county_code,name,email,webhook_url\n" + "".join(f"{c},联系人,c{c}@example.org,\n" for c in COUNTIES),
        encoding="utf-8",
    )
    rb = load_rulebook(cfg)
    t0 = dt.datetime(2026, 11, 20, 9).timestamp()
    for i, (c, name) in enumerate(COUNTIES.items()):
        p = W.write_workbook(tmp_path / "raw" / PERIOD / f"{c}_{name}.xlsx", rb, c, name, PERIOD, brs[c])
        os.utime(p, (t0 + i, t0 + i))
    return tmp_path


def _descendants(proc: psutil.Process) -> list[psutil.Process]:
    try:
        return proc.children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _cmdline(proc: psutil.Process) -> str:
    try:
        return " ".join(proc.cmdline())
    except psutil.Error:
        return "?"


def test_kill_9_of_a_run_leaves_no_child_behind(province: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "FIVESTAR_"))}
    env.update(
        {
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
            "FIVESTAR_RAW_DIR": str(province / "raw"),
            "FIVESTAR_CONFIG_DIR": str(province / "config"),
            "FIVESTAR_PROCESSED_DIR": str(province / "processed"),
            "FIVESTAR_WAREHOUSE_URL": f"sqlite:///{province / 'warehouse.db'}",
            "FIVESTAR_ID_HASH_KEY": "test-key-for-process-lifetime",
        }
    )
    with (province / "run.log").open("wb") as log:
        run = subprocess.Popen(
            [sys.executable, "-m", "fivestar.cli", "run"], env=env, cwd=province, stdout=log, stderr=log
        )
    parent = psutil.Process(run.pid)
    try:
        deadline = time.monotonic() + START_S
        while time.monotonic() < deadline and run.poll() is None:
            lines = [_cmdline(p) for p in _descendants(parent)]
            server = any("uvicorn" in c for c in lines)
            ours = any("multiprocessing" in c and "spawn_main" in c for c in lines)
            if server and ours:
                break
            time.sleep(0.2)  # polling the run's process tree, bounded by START_S
        assert run.poll() is None, "the run ended before it had its server and workers:\n" + (
            province / "run.log"
        ).read_text(errors="replace")
        children = _descendants(parent)
        assert any("uvicorn" in _cmdline(p) for p in children)
        run.send_signal(signal.SIGKILL)
        run.wait(timeout=30)
        deadline = time.monotonic() + GONE_S
        left = children
        while left and time.monotonic() < deadline:
            left = [p for p in left if _alive(p)]
            time.sleep(0.2)  # polling for the children to end, bounded by GONE_S
        assert not left, "still running after kill -9 of the run:\n" + "\n".join(
            f"{p.pid}: {_cmdline(p)}" for p in left
        )
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
