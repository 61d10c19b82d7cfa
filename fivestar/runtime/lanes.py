"""Worker processes for per-file work, one file per process at a time ("lanes").

In: a setup function and its arguments (run once in each worker, giving the worker's
state), a job function `fn(state, item)`, the items, a per-item time limit and what
stands for an item whose worker died or ran out of time. Out: one result per item, in
input order.

Why lanes and not a pool: whatever happens to a process is then the problem of exactly
one item. The caller waits on every lane's pipe and process at once, so a worker that
dies (killed, out of memory, aborted by a native library) is noticed the moment it
dies; an item that runs longer than the limit from its own start has its worker killed.
Either way that item gets `on_failure(item, kind, detail)` ("died", "timeout" or
"error"), a new worker takes the lane's place and the other items go on. Workers are
spawned (not forked: the calling process runs Prefect's threads) and end themselves if
the calling process dies.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import signal
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, TypeVar

from fivestar.lifetime import exit_with_parent

R = TypeVar("R")


def _serve(conn: Connection, setup: Callable[..., Any], setup_args: tuple[Any, ...], parent: int) -> None:
    """A worker: run the jobs sent on `conn`, one at a time, until told to stop."""
    exit_with_parent(parent)
    state = setup(*setup_args)
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        fn, item = job
        try:
            reply: tuple[str, Any] = ("ok", fn(state, item))
        except Exception as exc:  # noqa: BLE001 - reported as that item's problem
            reply = ("error", f"{type(exc).__name__}: {exc}"[:300])
        try:
            conn.send(reply)
        except Exception as exc:  # noqa: BLE001 - a result that cannot be pickled
            conn.send(("error", f"{type(exc).__name__}: {exc}"[:300]))


@dataclass
class Lane:
    """One worker process and the pipe to it; `job` is the index of the item it works on."""

    process: Any  # multiprocessing SpawnProcess
    conn: Connection
    job: int | None = None
    started: float = 0.0

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def stop(self) -> None:
        """Ask the worker to finish, kill it if it does not at once, and reap it."""
        with contextlib.suppress(OSError, ValueError):
            self.conn.send(None)
        self.process.join(timeout=2)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=5)
        self.conn.close()


def start_lane(setup: Callable[..., Any], setup_args: tuple[Any, ...], name: str = "fivestar-worker") -> Lane:
    ctx = mp.get_context("spawn")
    ours, theirs = ctx.Pipe()
    process = ctx.Process(
        target=_serve, args=(theirs, setup, setup_args, os.getpid()), name=name, daemon=True
    )
    process.start()
    theirs.close()
    return Lane(process, ours)


class Lanes:
    """A set of lanes sharing one setup; `map` runs items on them. Close when done."""

    def __init__(self, setup: Callable[..., Any], setup_args: tuple[Any, ...], workers: int) -> None:
        self.setup, self.setup_args, self.workers = setup, setup_args, max(1, workers)
        self.lanes = [start_lane(setup, setup_args) for _ in range(self.workers)]

    def matches(self, setup: Callable[..., Any], setup_args: tuple[Any, ...]) -> bool:
        return self.setup is setup and self.setup_args is setup_args

    def close(self) -> None:
        for lane in self.lanes:
            lane.stop()
        self.lanes = []

    def map(
        self,
        fn: Callable[[Any, Any], R],
        items: Sequence[Any],
        timeout_s: float | None,
        on_failure: Callable[[Any, str, str], R],
    ) -> list[R]:
        results: list[Any] = [None] * len(items)
        queue = deque(range(len(items)))
        lanes = self.lanes

        def give(lane: Lane) -> None:
            i = queue.popleft()
            lane.job, lane.started = i, time.monotonic()
            # A worker that died before it got the item: its sentinel is ready, and the
            # loop below reports the item and replaces the worker.
            with contextlib.suppress(OSError, ValueError):
                lane.conn.send((fn, items[i]))

        for lane in lanes[: len(items)]:
            give(lane)
        while any(lane.job is not None for lane in lanes):
            busy = [lane for lane in lanes if lane.job is not None]
            wait_s = None
            if timeout_s is not None:
                wait_s = max(0.0, min(lane.started + timeout_s for lane in busy) - time.monotonic())
            wait([x for lane in busy for x in (lane.conn, lane.process.sentinel)], timeout=wait_s)
            for n, lane in enumerate(lanes):
                if lane.job is None:
                    continue
                outcome = _outcome(lane, timeout_s)
                if outcome is None:
                    continue  # still working, within its time
                i, lane.job = lane.job, None
                if outcome[0] == "ok":
                    results[i] = outcome[1]
                else:
                    results[i] = on_failure(items[i], *outcome)
                    if outcome[0] != "error":  # the worker is dead or was killed
                        lane.stop()
                        lane = lanes[n] = start_lane(self.setup, self.setup_args)
                if queue:
                    give(lane)
        return results


def _outcome(lane: Lane, timeout_s: float | None) -> tuple[str, Any] | None:
    """What became of the lane's item: ("ok", result), ("error"|"died"|"timeout", detail),
    or None while it is still being worked on within its time."""
    try:
        if lane.conn.poll():
            status, value = lane.conn.recv()
            return ("ok", value) if status == "ok" else ("error", value)
    except (EOFError, OSError):
        pass  # the pipe broke: the worker is gone
    if not lane.process.is_alive():
        lane.process.join(timeout=1)
        return ("died", _exit_text(lane.process.exitcode))
    if timeout_s is not None and time.monotonic() - lane.started >= timeout_s:
        lane.process.kill()
        return ("timeout", f"took longer than {timeout_s:.0f} s")
    return None


def _exit_text(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"the worker process died of signal {signal.Signals(-code).name}"
        except ValueError:
            return f"the worker process died of signal {-code}"
    return f"the worker process exited with code {code}"
