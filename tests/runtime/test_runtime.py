"""The executors (fivestar.runtime): the same results wherever the work runs.

In: a workbook built with tests/wbfactory.py, the repository rulebook, the reading job
of fivestar.ingest.files. Out: checks that the local executor's file workers started
ahead are taken by the next read with the same setup (and closed otherwise), that
inline and local reading give the same workbooks, that a worker killed mid-file fails
only that file, that `submit` runs in order on the helper beside the caller, and that
the setting chooses the executor.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pandas as pd
import pytest

import wbfactory as W
from fivestar.config import ConfigError, Limits, Rulebook
from fivestar.ingest.files import read_file, reader_state, unread_file
from fivestar.runtime import InlineExecutor, executor_for
from fivestar.runtime.local import LocalExecutor
from fivestar.settings import load_settings

COUNTY = "410522"


def _book(tmp_path: Path, rulebook: Rulebook) -> Path:
    brs = W.branches(COUNTY, 2, 1)
    return W.write_workbook(
        tmp_path / f"{COUNTY}_林州市_2026-11.xlsx", rulebook, COUNTY, "林州市", "2026-11", brs
    )


def _read(executor, setup, jobs):  # type: ignore[no-untyped-def]
    return executor.map_files(
        read_file, jobs, setup=setup, reader_setup=reader_state, timeout_s=60, on_failure=unread_file
    )


def _same(a, b) -> None:  # type: ignore[no-untyped-def]
    pd.testing.assert_frame_equal(a.findings, b.findings)
    assert a.frames.keys() == b.frames.keys()
    for key, frame in a.frames.items():
        pd.testing.assert_frame_equal(b.frames[key], frame)


def test_started_workers_are_taken_by_the_next_read_and_read_as_inline(
    tmp_path: Path, rulebook: Rulebook
) -> None:
    path = _book(tmp_path, rulebook)
    setup = (rulebook, Limits(), "id-key")
    jobs = [(path, "k", ())]
    (inline,) = _read(InlineExecutor(), setup, jobs)
    with LocalExecutor() as ex:
        ex.start_files(setup, reader_state)
        early = ex._lanes  # noqa: SLF001 - the test looks at which workers served the read
        assert early is not None
        pids = [lane.pid for lane in early.lanes]
        (taken,) = _read(ex, setup, jobs)
        assert early.lanes == [] and all(not _alive(pid) for pid in pids)  # used, then closed
        _same(inline, taken)
        # Workers started for another setup are closed, not used.
        ex.start_files((rulebook, Limits(), "other-key"), reader_state)
        other = ex._lanes  # noqa: SLF001
        (fresh,) = _read(ex, setup, jobs)
        assert other is not None and other.lanes == []
        _same(inline, fresh)


def _alive(pid: int | None) -> bool:
    if pid is None:
        return False
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        time.sleep(0.05)
    return True


def _sleep_or_die(state: object, item: tuple[str, float]) -> str:
    name, seconds = item
    if name == "die":
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(seconds)
    return name


def _state(*args: object) -> tuple[object, ...]:
    return args


def test_a_worker_that_dies_or_runs_too_long_fails_only_its_item() -> None:
    items = [("a", 0.0), ("die", 0.0), ("slow", 120.0), ("b", 0.0)]
    t0 = time.monotonic()
    with LocalExecutor() as ex:
        got = ex.map_files(
            _sleep_or_die,
            items,
            setup=(),
            reader_setup=_state,
            timeout_s=15,  # the clock starts as an item is handed over: worker start-up counts
            on_failure=lambda item, kind, detail: f"{item[0]}:{kind}",
        )
    assert got == ["a", "die:died", "slow:timeout", "b"]
    assert time.monotonic() - t0 < 100  # the slow item was cut at its limit, not waited for


def _pid_after(delay: float) -> int:
    time.sleep(delay)
    return os.getpid()


def test_submit_runs_beside_the_caller_in_order() -> None:
    with LocalExecutor() as ex:
        first = ex.submit(_pid_after, 0.5)
        second = ex.submit(_pid_after, 0.0)
        assert not first.done()  # the caller goes on while the helper works
        assert first.result() == second.result() != os.getpid()
    inline = InlineExecutor().submit(_pid_after, 0.0)
    assert inline.done() and inline.result() == os.getpid()


@pytest.mark.parametrize(("value", "kind"), [("local", "local"), ("inline", "inline"), ("", "local")])
def test_the_setting_chooses_the_executor(monkeypatch: pytest.MonkeyPatch, value: str, kind: str) -> None:
    monkeypatch.setenv("FIVESTAR_TASK_RUNNER", value)
    with executor_for(load_settings()) as ex:
        assert ex.name == kind


def test_an_unknown_executor_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIVESTAR_TASK_RUNNER", "threads")
    with pytest.raises(ConfigError, match="FIVESTAR_TASK_RUNNER"):
        executor_for(load_settings())
