"""Read many workbooks on all cores, each under a time limit, surviving readers that die.

In: (path, file key) pairs, the Rulebook, Limits and the resident-ID hash key, and
optionally a check to run on each workbook in the worker right after reading it
(`then(workbook, rulebook, *then_shared, *then_args[i])`: a picklable function, the
arguments it shares across files, sent once per worker, and those of each file; its
result lands in `ParsedWorkbook.checked`), so that per-file work is spread over both cores too.
Out: one ParsedWorkbook per input, in input order.

Each reader process (a "lane") reads one file at a time, so whatever happens to a
process is the problem of exactly one file: the caller waits on every lane's pipe and
process at once, so a reader that dies (killed, out of memory, aborted by the native
reader) is noticed the moment it dies; a file that runs longer than
`limits.per_file_timeout_s` from its own start has its reader killed. Either way that
file becomes a whole-file error for its county only, a new reader takes the lane's
place, and the other files go on. Readers are spawned (not forked: the calling process
runs Prefect's threads) and end themselves if the calling process dies.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import os
import signal
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from fivestar import cells
from fivestar.config import Limits, Rulebook
from fivestar.ingest.read import ParsedWorkbook, file_error, read_workbook
from fivestar.lifetime import exit_with_parent

log = logging.getLogger(__name__)
_STATE: dict[str, Any] = {}


def _serve(
    conn: Connection, rb: Rulebook, limits: Limits, id_key: str, shared: tuple[Any, ...], parent: int
) -> None:
    """A reader process: read the files sent on `conn`, one at a time, until told to stop."""
    exit_with_parent(parent)
    _STATE.update(rb=rb, limits=limits, id_key=id_key, shared=shared)
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        path, file_key, then, args = job
        try:
            reply: tuple[str, Any] = ("ok", _read_one(path, file_key, then, args))
        except Exception as exc:  # noqa: BLE001 — reported as that file's problem
            reply = ("error", f"{type(exc).__name__}: {exc}"[:300])
        try:
            conn.send(reply)
        except Exception as exc:  # noqa: BLE001 — a result that cannot be pickled
            conn.send(("error", f"{type(exc).__name__}: {exc}"[:300]))


def _read_one(
    path: Path, file_key: str, then: Callable[..., Any] | None, args: tuple[Any, ...]
) -> ParsedWorkbook:
    pw = read_workbook(path, _STATE["rb"], _STATE["limits"], file_key=file_key, id_key=_STATE["id_key"])
    if then is not None:
        try:
            pw.checked = then(pw, _STATE["rb"], *_STATE["shared"], *args)
        except Exception as exc:  # the caller runs the check again and sees the error itself
            log.warning("check after reading %s failed in a worker: %s", file_key, exc)
            pw.checked = None
    return pw


@dataclass
class Lane:
    """One reader process and the pipe to it; `job` is the index of the file it reads."""

    process: Any  # multiprocessing SpawnProcess
    conn: Connection
    job: int | None = None
    started: float = 0.0

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def stop(self) -> None:
        """Ask the reader to finish, kill it if it does not at once, and reap it."""
        with contextlib.suppress(OSError, ValueError):
            self.conn.send(None)
        self.process.join(timeout=2)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=5)
        self.conn.close()


def _lane(rb: Rulebook, limits: Limits, id_key: str, shared: tuple[Any, ...]) -> Lane:
    ctx = mp.get_context("spawn")
    ours, theirs = ctx.Pipe()
    process = ctx.Process(
        target=_serve,
        args=(theirs, rb, limits, id_key, shared, os.getpid()),
        name="fivestar-reader",
        daemon=True,
    )
    process.start()
    theirs.close()
    return Lane(process, ours)


def default_workers() -> int:
    return max(1, min(2, os.cpu_count() or 1))


# Reader processes spawned ahead of time (prestart): the key of their arguments, the lanes.
_EARLY: list[tuple[tuple[Any, ...], list[Lane]]] = []
# The lanes of the read in progress, for tests that must reach a reader's pid.
ACTIVE: list[Lane] = []


def _key(rb: Rulebook, limits: Limits, id_key: str, workers: int, shared: tuple[Any, ...]) -> tuple[Any, ...]:
    return (id(rb), id(limits), id_key, workers, tuple(map(id, shared)))


def prestart(
    rb: Rulebook,
    limits: Limits,
    id_key: str,
    *,
    workers: int | None = None,
    then_shared: tuple[Any, ...] = (),
) -> None:
    """Spawn the reader processes now, so that their imports (~1 s) overlap the caller's
    own work before reading; the next read_many with the same arguments takes them."""
    workers = workers or default_workers()
    lanes = [_lane(rb, limits, id_key, then_shared) for _ in range(workers)]
    _EARLY.append((_key(rb, limits, id_key, workers, then_shared), lanes))


def _take_early(key: tuple[Any, ...]) -> list[Lane]:
    """The prestarted lanes for these arguments, if any; other prestarted lanes are stopped."""
    found: list[Lane] = []
    while _EARLY:
        k, lanes = _EARLY.pop()
        if k == key and not found:
            found = lanes
        else:
            for lane in lanes:
                lane.stop()
    return found


def read_many(
    items: list[tuple[Path, str]],
    rb: Rulebook,
    limits: Limits,
    id_key: str,
    *,
    workers: int | None = None,
    then: Callable[..., Any] | None = None,
    then_shared: tuple[Any, ...] = (),
    then_args: list[tuple[Any, ...]] | None = None,
) -> list[ParsedWorkbook]:
    workers = workers or default_workers()
    args = then_args or [()] * len(items)
    timeout = float(limits.per_file_timeout_s or 0) or None
    early = _take_early(_key(rb, limits, id_key, workers, then_shared))
    if not items:
        for lane in early:
            lane.stop()
        return []
    results: list[ParsedWorkbook | None] = [None] * len(items)
    queue = deque(range(len(items)))
    lanes = early[: min(workers, len(items))]
    for lane in early[len(lanes) :]:
        lane.stop()
    while len(lanes) < min(workers, len(items)):
        lanes.append(_lane(rb, limits, id_key, then_shared))
    ACTIVE[:] = lanes

    def give(lane: Lane) -> None:
        i = queue.popleft()
        lane.job, lane.started = i, time.monotonic()
        # A reader that died before it got the file: its sentinel is ready, and the loop
        # below reports the file and replaces the reader.
        with contextlib.suppress(OSError, ValueError):
            lane.conn.send((*items[i], then, args[i]))

    try:
        for lane in lanes:
            give(lane)
        while any(lane.job is not None for lane in lanes):
            busy = [lane for lane in lanes if lane.job is not None]
            wait_s = None
            if timeout is not None:
                wait_s = max(0.0, min(lane.started + timeout for lane in busy) - time.monotonic())
            wait([x for lane in busy for x in (lane.conn, lane.process.sentinel)], timeout=wait_s)
            for n, lane in enumerate(lanes):
                if lane.job is None:
                    continue
                outcome = _outcome(lane, timeout)
                if outcome is None:
                    continue  # still reading, within its time
                i, lane.job = lane.job, None
                if isinstance(outcome, ParsedWorkbook):
                    results[i] = outcome
                else:
                    results[i] = _failed(items[i], *outcome)
                    if outcome[0] != "error":  # the reader is dead or was killed
                        lane.stop()
                        if not queue:
                            continue
                        lane = lanes[n] = _lane(rb, limits, id_key, then_shared)
                        ACTIVE[:] = lanes
                if queue:
                    give(lane)
    finally:
        for lane in lanes:
            lane.stop()
        ACTIVE.clear()
    return [r for r in results if r is not None]


def _outcome(lane: Lane, timeout: float | None) -> ParsedWorkbook | tuple[str, str] | None:
    """What became of the lane's file: its result, ("error"|"died"|"timeout", detail),
    or None while it is still being read within its time."""
    try:
        if lane.conn.poll():
            status, value = lane.conn.recv()
            return value if status == "ok" else ("error", value)
    except (EOFError, OSError):
        pass  # the pipe broke: the reader is gone
    if not lane.process.is_alive():
        lane.process.join(timeout=1)
        return ("died", _exit_text(lane.process.exitcode))
    if timeout is not None and time.monotonic() - lane.started >= timeout:
        lane.process.kill()
        return ("timeout", f"reading took longer than {timeout:.0f} s")
    return None


def _exit_text(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"the reader process died of signal {signal.Signals(-code).name}"
        except ValueError:
            return f"the reader process died of signal {-code}"
    return f"the reader process exited with code {code}"


def _failed(item: tuple[Path, str], kind: str, detail: str) -> ParsedWorkbook:
    path, key = item
    name = cells.mask_ids_in(path.name)
    if kind == "timeout":
        log.error("reading %s: %s; rejected as a timeout", name, detail)
        pw = file_error(key, "timeout", detail)
    else:
        # A reader that dies (the native reader aborts on some hostile files) or fails
        # outside read_workbook's own guard: that file is unreadable, nothing more.
        log.error("reading %s failed in a reader process: %s; the file is rejected", name, detail)
        pw = file_error(key, "unreadable", detail)
    pw.path = path
    return pw
