"""The two cores of one machine: worker processes for the files, one helper beside the caller.

In: the work the pipeline hands an executor. Out: its results. Reading and the checks
right after it run on `workers` lane processes (fivestar.runtime.lanes), each file under
its time limit; `submit` runs on one spawned helper process beside the caller, in the
order submitted (the pipeline relies on that: feedback files first, then derivation
ahead); `warm_here` runs a slow start-up (the Great Expectations import, ~3-4 s) in a
background thread of this process, so that it overlaps the wait for the readers.

Why processes: the work is pandas and lxml under the GIL, so threads would not overlap.
Processes are spawned, never forked (the caller runs Prefect's threads).
"""

from __future__ import annotations

import importlib
import multiprocessing as mp
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from fivestar.lifetime import exit_with_parent
from fivestar.runtime.base import Executor
from fivestar.runtime.lanes import Lanes

R = TypeVar("R")


def _import(modules: Sequence[str]) -> None:
    for name in modules:
        importlib.import_module(name)


def default_workers() -> int:
    return max(1, min(2, os.cpu_count() or 1))


class LocalExecutor(Executor):
    name = "local"
    overlaps = True

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or default_workers()
        self._helper: ProcessPoolExecutor | None = None
        self._lanes: Lanes | None = None
        self._warming: list[threading.Thread] = []

    # ------------------------------------------------------------------ the helper
    def _pool(self) -> ProcessPoolExecutor:
        if self._helper is None:
            self._helper = ProcessPoolExecutor(
                max_workers=1,
                mp_context=mp.get_context("spawn"),
                initializer=exit_with_parent,
                initargs=(os.getpid(),),
            )
        return self._helper

    def prepare(self, modules: Sequence[str] = ()) -> None:
        self.submit(_import, tuple(modules))

    def submit(self, fn: Callable[..., R], *args: Any) -> Future[R]:
        """fn(*args) on the helper; a helper that died is replaced once."""
        try:
            return self._pool().submit(fn, *args)
        except BrokenProcessPool:
            self._drop_helper()
            return self._pool().submit(fn, *args)

    def _drop_helper(self) -> None:
        if self._helper is not None:
            self._helper.shutdown(wait=False, cancel_futures=True)
            self._helper = None

    # ------------------------------------------------------------------ this process
    def warm_here(self, fn: Callable[[], Any]) -> None:
        t = threading.Thread(target=fn, name="warm-up", daemon=True)
        t.start()
        self._warming.append(t)

    # ------------------------------------------------------------------ the files
    def start_files(self, setup: tuple[Any, ...], reader_setup: Callable[..., Any]) -> None:
        if self._lanes is not None:
            self._lanes.close()
        self._lanes = Lanes(reader_setup, setup, self.workers)

    def map_files(
        self,
        fn: Callable[..., R],
        items: Sequence[Any],
        *,
        setup: tuple[Any, ...],
        reader_setup: Callable[..., Any],
        timeout_s: float | None,
        on_failure: Callable[[Any, str, str], R],
    ) -> list[R]:
        lanes = self._lanes
        if lanes is None or not lanes.matches(reader_setup, setup):
            if lanes is not None:
                lanes.close()
            lanes = Lanes(reader_setup, setup, min(self.workers, max(1, len(items))))
        self._lanes = None  # each set of started workers serves one map
        try:
            return lanes.map(fn, items, timeout_s, on_failure) if items else []
        finally:
            lanes.close()

    def close(self) -> None:
        if self._lanes is not None:
            self._lanes.close()
            self._lanes = None
        if self._helper is not None:
            self._helper.shutdown(wait=True, cancel_futures=True)
            self._helper = None
