"""`fivestar watch`'s look at the raw folder (fivestar.watch), with a fixed clock.

In: a raw folder with files whose modification times are set, a recording `run`
callable and "now" as a parameter (no sleeping). Out: a file still within the settle
time is not taken, then is; one changed file runs only its county-month; several
counties of one period run that period; files of unregistered counties and unchanged
files start nothing; a failed run leaves its files to the next look.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from fivestar.watch import FAILED, IDLE, RAN, Watcher, scope, watch

T = 1_800_000_000.0  # "now" of the looks (epoch seconds)


def _file(raw: Path, rel: str, mtime: float, content: bytes = b"x") -> Path:
    p = raw / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(content)
    os.utime(p, (mtime, mtime))
    return p


def test_settle_time_and_scope(tmp_path: Path) -> None:
    runs: list[tuple[str | None, str | None]] = []
    w = Watcher(tmp_path, settle_s=10, counties=frozenset({"410522", "410523"}))
    _file(tmp_path, "2026-11/410522_a.xlsx", T - 3)  # written 3 s ago: still settling
    _file(tmp_path, "2026-11/999999_x.xlsx", T - 100)  # not a registered county
    _file(tmp_path, "2026-11/~$410522_a.xlsx", T - 100)  # an Office lock file
    assert w.step(lambda p, c: runs.append((p, c)), T) == IDLE and runs == []
    assert w.step(lambda p, c: runs.append((p, c)), T + 10) == RAN
    assert runs == [("2026-11", "410522")]  # only the changed county-month
    assert w.step(lambda p, c: runs.append((p, c)), T + 20) == IDLE  # unchanged: nothing

    _file(tmp_path, "2026-11/410522_a.xlsx", T + 20, b"corrected")
    _file(tmp_path, "2026-11/410523_b.xlsx", T + 20)
    assert w.step(lambda p, c: runs.append((p, c)), T + 40) == RAN
    assert runs[-1] == ("2026-11", None)  # two counties of one period: that period


def test_a_failed_run_leaves_its_files_to_the_next_look(tmp_path: Path) -> None:
    _file(tmp_path, "2026-10/410522_a.xlsx", T - 100)

    def boom(p: str | None, c: str | None) -> None:
        raise RuntimeError("warehouse down")

    w = Watcher(tmp_path, settle_s=0)
    assert w.step(boom, T) == FAILED
    runs: list[tuple[str | None, str | None]] = []
    assert w.step(lambda p, c: runs.append((p, c)), T + 1) == RAN and runs == [("2026-10", "410522")]


def test_scope() -> None:
    assert scope({("2026-11", "410522")}) == ("2026-11", "410522")
    assert scope({("2026-10", "410522"), ("2026-11", "410522")}) == (None, "410522")
    assert scope({("2026-10", "410522"), ("2026-11", "410523")}) == (None, None)


def test_the_loop_stops_when_told(tmp_path: Path) -> None:
    _file(tmp_path, "2026-11/410522_a.xlsx", T - 100)
    stop = threading.Event()
    runs: list[tuple[str | None, str | None]] = []

    def run(p: str | None, c: str | None) -> None:
        runs.append((p, c))
        stop.set()  # e.g. SIGTERM during the run: the run ends, then the watch

    t = threading.Thread(
        target=watch, args=(tmp_path,), kwargs={"settle_s": 0, "interval_s": 0.05, "run": run, "stop": stop}
    )
    t.start()
    t.join(30)
    assert not t.is_alive() and runs == [("2026-11", "410522")]
