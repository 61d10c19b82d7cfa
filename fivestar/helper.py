"""One spawned helper process for CPU-bound work beside the calling process.

In: a picklable function and its arguments. Out: its result (its exception is raised
in the caller). The pipeline has two cores: while the flow's process loads the
warehouse, the helper writes the feedback files, then derives the counties already
loaded (fivestar.warehouse.ahead); in the final derivation it takes batches from the
same queue as the caller. Python threads would not help (the work is pandas and lxml under
the GIL). The process is spawned, never forked (the caller runs Prefect's threads),
once per process and on first use; `warm_up` starts it early so that its imports
happen while the caller is busy elsewhere. A helper that died (killed, out of
memory) fails the calls that were running on it, and the next call starts a new one.
The helper ends itself when the calling process dies (fivestar.lifetime).
"""

from __future__ import annotations

import importlib
import multiprocessing as mp
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from fivestar.lifetime import exit_with_parent

T = TypeVar("T")

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None

# What the helper's work needs: imported by warm_up, so the first real call is not slowed.
WARM_MODULES = ("fivestar.feedback.stage", "fivestar.warehouse.derive", "fivestar.score", "fivestar.tally")


def _executor() -> ProcessPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            # The helper ends itself when the calling process is gone (kill -9 of a run).
            _pool = ProcessPoolExecutor(
                max_workers=1,
                mp_context=mp.get_context("spawn"),
                initializer=exit_with_parent,
                initargs=(os.getpid(),),
            )
        return _pool


def _discard(pool: ProcessPoolExecutor) -> None:
    global _pool
    with _lock:
        if _pool is pool:
            _pool = None
    pool.shutdown(wait=False, cancel_futures=True)


def submit(fn: Callable[..., T], *args: Any) -> Future[T]:
    """Start fn(*args) in the helper; a broken helper is replaced once."""
    pool = _executor()
    try:
        return pool.submit(fn, *args)
    except BrokenProcessPool:
        _discard(pool)
        return _executor().submit(fn, *args)


def call(fn: Callable[..., T], *args: Any) -> T:
    """fn(*args) in the helper, waiting for its result."""
    pool = _executor()
    try:
        return pool.submit(fn, *args).result()
    except BrokenProcessPool:
        _discard(pool)  # the next call starts a new helper
        raise


def _import(modules: tuple[str, ...]) -> None:
    for name in modules:
        importlib.import_module(name)


def warm_up(modules: tuple[str, ...] = WARM_MODULES) -> Future[None]:
    """Start the helper now and import what its work will need."""
    return submit(_import, modules)
