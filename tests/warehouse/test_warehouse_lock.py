"""The run lock and the transient-error retry, on SQLite and PostgreSQL.

In: a warehouse engine (conftest.py). Out: checks that a second holder of run_lock is
refused (wait=False), times out (timeout_s) or waits until the first one releases, and
that with_retry retries only transient OperationalErrors, three times at most.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time

import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine

from fivestar.warehouse import RunLocked, make_engine, run_lock, with_retry
from fivestar.warehouse import retry as retry_mod


def test_lock_blocks_a_second_holder(warehouse_engine: Engine, warehouse_url: str) -> None:
    other = make_engine(warehouse_url)  # another "process": its own connections
    try:
        with run_lock(warehouse_engine):
            with pytest.raises(RunLocked) as info, run_lock(other, wait=False):
                pass
            assert "Another fivestar run" in str(info.value)
            t0 = time.monotonic()
            with pytest.raises(RunLocked), run_lock(other, timeout_s=0.5):
                pass
            assert time.monotonic() - t0 >= 0.45
        # Released: the other one gets it now, and then the first is refused.
        with run_lock(other, wait=False), pytest.raises(RunLocked), run_lock(warehouse_engine, wait=False):
            pass
    finally:
        other.dispose()


def test_waiting_holder_gets_the_lock_after_release(warehouse_engine: Engine, warehouse_url: str) -> None:
    other = make_engine(warehouse_url)
    events: list[str] = []
    got_it = threading.Event()

    def second() -> None:
        with run_lock(other, wait=True, timeout_s=10):
            events.append("second")
            got_it.set()

    try:
        with run_lock(warehouse_engine):
            t = threading.Thread(target=second)
            t.start()
            time.sleep(0.5)
            assert not got_it.is_set()  # still blocked
            events.append("first done")
        t.join(10)
        assert got_it.is_set() and events == ["first done", "second"]
    finally:
        other.dispose()


def test_lock_is_released_when_the_block_fails(warehouse_engine: Engine) -> None:
    with pytest.raises(ZeroDivisionError), run_lock(warehouse_engine):
        1 / 0  # noqa: B018
    with run_lock(warehouse_engine, wait=False):
        pass


def _operational() -> sa_exc.OperationalError:
    return sa_exc.OperationalError("INSERT ...", {}, Exception("database is locked"))


def test_retry_transient_errors(monkeypatch) -> None:
    sleeps: list[float] = []
    monkeypatch.setattr(retry_mod.time, "sleep", sleeps.append)
    calls = {"n": 0}

    def flaky() -> str:
        calls["n"] += 1
        if calls["n"] < 3:
            raise _operational()
        return "ok"

    assert with_retry(flaky) == "ok"
    assert calls["n"] == 3 and sleeps == [0.5, 1.0]

    def always() -> None:
        raise _operational()

    with pytest.raises(sa_exc.OperationalError):
        with_retry(always)

    def broken_sql() -> None:
        calls["n"] += 1
        raise sa_exc.ProgrammingError("SELEC", {}, Exception("syntax error"))

    calls["n"] = 0
    with pytest.raises(sa_exc.ProgrammingError):
        with_retry(broken_sql)
    assert calls["n"] == 1  # not transient: no retry


def test_a_waiting_run_says_who_holds_the_lock(
    warehouse_engine: Engine, warehouse_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The waiting run logs "waiting for the run lock held by pid … since …" every
    log_every_s (30 s by default; a fraction of a second here), then gets the lock."""
    other = make_engine(warehouse_url)
    caplog.set_level(logging.WARNING, logger="fivestar.warehouse.lock")
    got_it = threading.Event()

    def second() -> None:
        with run_lock(other, wait=True, log_every_s=0.1):
            got_it.set()

    def waiting_lines() -> list[str]:
        return [r.getMessage() for r in caplog.records if "waiting for the run lock" in r.getMessage()]

    try:
        with run_lock(warehouse_engine):
            t = threading.Thread(target=second)
            t.start()
            until = time.monotonic() + 30
            while len(waiting_lines()) < 2 and time.monotonic() < until:
                time.sleep(0.05)
            assert not got_it.is_set()
        t.join(30)
        assert got_it.is_set()
    finally:
        other.dispose()
    lines = waiting_lines()
    assert len(lines) >= 2, caplog.text
    pattern = (
        rf"waiting for the run lock held by pid {os.getpid()} on \S+ since \d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d"
    )
    assert all(re.match(pattern, line) for line in lines), lines


def test_refused_lock_names_the_holder(warehouse_engine: Engine, warehouse_url: str) -> None:
    other = make_engine(warehouse_url)
    try:
        with run_lock(warehouse_engine), pytest.raises(RunLocked) as info, run_lock(other, wait=False):
            pass
    finally:
        other.dispose()
    assert f"pid {os.getpid()} on " in str(info.value) and " since " in str(info.value)
