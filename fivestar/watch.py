"""`fivestar watch`: take a correction soon after it lands, without IT.

In: the raw folder (FIVESTAR_RAW_DIR), the settle time (FIVESTAR_SETTLE_SECONDS), the
poll interval (FIVESTAR_WATCH_INTERVAL_SECONDS) and a `run(period, county)` callable
(by default the Prefect flow `fivestar-run`, as `fivestar run` starts it). Out: runs of
the pipeline, each limited to what changed: one county-month when a single file
landed, else its county or its period, else a run over the folder, which, like the
nightly run, processes only new or changed files. The first look takes whatever landed
while the watch was not running.

A look at the folder only lists it and reads file sizes and times (no hashing), so a
short interval costs little. A file is taken once unmodified for the settle time (one
still being written is left for a later look); the run itself applies the same rule.
Runs take the warehouse's run lock like every run: while the nightly run holds it, the
watch waits (its log says for whom) and then runs. A run that fails is logged and its
files are looked at again after RETRY_AFTER_FAILURE_S. SIGTERM or Ctrl-C between runs
stops the watch at once; during a run, Prefect ends that flow run (the run is recorded
failed, the lock released, and the next start of the watch takes its files again).
"""

from __future__ import annotations

import logging
import os
import re
import signal
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from fivestar.ingest.discover import settled

log = logging.getLogger("fivestar.watch")
_PERIOD_DIR = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_COUNTY_PREFIX = re.compile(r"^(\d{6})")
READY = "watch: waiting for new files"  # logged once the first look, and each run, is done
RETRY_AFTER_FAILURE_S = 30.0  # a failed run (e.g. the warehouse is down) is tried again after this
IDLE, RAN, FAILED = "idle", "ran", "failed"

Signature = tuple[int, int]  # size, mtime_ns
Run = Callable[[str | None, str | None], object]


def scan(raw_dir: Path) -> dict[str, os.stat_result]:
    """`<period>/<file>` → its stat, for every workbook-like file under the raw folder."""
    out: dict[str, os.stat_result] = {}
    try:
        periods = [p for p in raw_dir.iterdir() if p.is_dir() and _PERIOD_DIR.match(p.name)]
    except OSError as exc:
        log.warning("watch: cannot list %s: %s", raw_dir, exc)
        return out
    for d in periods:
        try:
            files = list(d.iterdir())
        except OSError:
            continue
        for f in files:
            if f.name.startswith((".", "~$")) or not _COUNTY_PREFIX.match(f.name):
                continue
            try:
                st = f.lstat()
            except OSError:
                continue
            out[f"{d.name}/{f.name}"] = st
    return out


def _sig(st: os.stat_result) -> Signature:
    return (st.st_size, st.st_mtime_ns)


def _county(rel: str) -> str:
    m = _COUNTY_PREFIX.match(rel.split("/", 1)[1])
    return m.group(1) if m else ""


def scope(keys: Iterable[tuple[str, str]]) -> tuple[str | None, str | None]:
    """(period, county) filters of one run covering these county-months."""
    keys = set(keys)
    periods = {p for p, _ in keys}
    counties = {c for _, c in keys}
    return (
        next(iter(periods)) if len(periods) == 1 else None,
        next(iter(counties)) if len(counties) == 1 else None,
    )


@dataclass
class Watcher:
    """What was handed to a run, and what is ready to be (see the module docstring)."""

    raw_dir: Path
    settle_s: float
    counties: frozenset[str] | None = None  # registered counties (others are the nightly's to report)
    seen: dict[str, Signature] = field(default_factory=dict)

    def ready(self, now: float) -> tuple[dict[str, Signature], int]:
        """Changed files settled at `now` (path → signature), and how many still settle."""
        ready: dict[str, Signature] = {}
        settling = 0
        for rel, st in scan(self.raw_dir).items():
            if self.seen.get(rel) == _sig(st):
                continue
            if self.counties is not None and _county(rel) not in self.counties:
                self.seen[rel] = _sig(st)  # not a registered county: the nightly run lists it
                continue
            if settled(st, now, self.settle_s):
                ready[rel] = _sig(st)
            else:
                settling += 1
        return ready, settling

    def step(self, run: Run, now: float) -> str:
        """One look and, when something changed and settled, one run: IDLE, RAN or FAILED."""
        ready, settling = self.ready(now)
        if not ready:
            return IDLE
        keys = {(rel.split("/", 1)[0], _county(rel)) for rel in ready}
        period, county = scope(keys)
        what = (
            ", ".join(f"{c} {p}" for p, c in sorted(keys)) if len(keys) <= 5 else f"{len(keys)} county-months"
        )
        log.info("watch: %s changed; running (period=%s county=%s)", what, period or "all", county or "all")
        try:
            run(period, county)
        except Exception as exc:  # the next look tries again; the watch keeps going
            log.error("watch: the run failed: %s: %s", type(exc).__name__, exc)
            return FAILED
        self.seen.update(ready)
        if settling:
            log.info("watch: %d file(s) still being written; a later look takes them", settling)
        return RAN


def flow_run(period: str | None, county: str | None) -> object:
    """One run of the Prefect flow `fivestar-run` (the same as `fivestar run --period --county`)."""
    from flows.nightly import fivestar_run

    state = fivestar_run(period=period, county=county, force=False, return_state=True)
    data = state.result(raise_on_failure=False)  # a county's failure is the run's result, not an error
    if isinstance(data, BaseException):
        raise data
    return data


def watch(
    raw_dir: Path,
    *,
    settle_s: float,
    interval_s: float,
    run: Run = flow_run,
    counties: frozenset[str] | None = None,
    stop: threading.Event | None = None,
    clock: Callable[[], float] = time.time,
) -> None:
    """Look at the raw folder every `interval_s` until `stop` is set (SIGTERM / SIGINT set it)."""
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    watcher = Watcher(raw_dir, settle_s, counties)
    log.info("watch: watching %s every %g s (settle time %g s)", raw_dir, interval_s, settle_s)
    first = True
    while not stop.is_set():
        try:
            outcome = watcher.step(run, clock())
        except (KeyboardInterrupt, SystemExit):
            log.warning("watch: stopped during a run (recorded as failed; the next start takes its files)")
            return
        except BaseException as exc:
            if type(exc).__name__ != "TerminationSignal":  # Prefect's SIGTERM inside a flow run
                raise
            log.warning("watch: stopped during a run (recorded as failed; the next start takes its files)")
            return
        if outcome == RAN or (first and outcome == IDLE):
            log.info(READY)
        first = first and outcome == FAILED
        stop.wait(max(interval_s, RETRY_AFTER_FAILURE_S) if outcome == FAILED else interval_s)
    log.info("watch: stopped")
