"""Read many workbooks on all cores, each under a time limit.

In: (path, file key) pairs, the Rulebook, Limits and the resident-ID hash key, and
optionally a check to run on each workbook in the worker right after reading it
(`then(workbook, rulebook, *then_shared, *then_args[i])`: a picklable function, the
arguments it shares across files, sent once per worker, and those of each file; its
result lands in `ParsedWorkbook.checked`), so that per-file work is spread over both cores too.
Out: one ParsedWorkbook per input, in input order. A file that takes longer than
`limits.per_file_timeout_s` becomes a whole-file error for that county only: its
worker is killed and the others go on. Workers are spawned (not forked) because
the calling process runs Prefect's threads.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fivestar.config import Limits, Rulebook
from fivestar.ingest.read import ParsedWorkbook, file_error, read_workbook

log = logging.getLogger(__name__)
_STATE: dict[str, object] = {}


def _init(rb: Rulebook, limits: Limits, id_key: str, shared: tuple[Any, ...]) -> None:
    _STATE.update(rb=rb, limits=limits, id_key=id_key, shared=shared)


def _read_one(
    path: Path, file_key: str, then: Callable[..., Any] | None, args: tuple[Any, ...]
) -> ParsedWorkbook:
    pw = read_workbook(path, _STATE["rb"], _STATE["limits"], file_key=file_key, id_key=_STATE["id_key"])  # type: ignore[arg-type]
    if then is not None:
        try:
            pw.checked = then(pw, _STATE["rb"], *_STATE["shared"], *args)  # type: ignore[misc]
        except Exception as exc:  # the caller runs the check again and sees the error itself
            log.warning("check after reading %s failed in a worker: %s", file_key, exc)
            pw.checked = None
    return pw


def default_workers() -> int:
    return max(1, min(2, os.cpu_count() or 1))


# Reader processes spawned ahead of time (prestart): the key of their arguments, the pool.
_EARLY: list[tuple[tuple[Any, ...], Any]] = []


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
    pool = mp.get_context("spawn").Pool(
        processes=workers, initializer=_init, initargs=(rb, limits, id_key, then_shared)
    )
    _EARLY.append((_key(rb, limits, id_key, workers, then_shared), pool))


def _take_early(key: tuple[Any, ...]) -> Any:
    """The prestarted pool for these arguments, if any; other prestarted pools are closed."""
    found = None
    while _EARLY:
        k, pool = _EARLY.pop()
        if k == key and found is None:
            found = pool
        else:
            pool.terminate()
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
    if not items:
        return []
    results: list[ParsedWorkbook | None] = [None] * len(items)
    pending = list(range(len(items)))
    ctx = mp.get_context("spawn")
    early = _take_early(_key(rb, limits, id_key, workers, then_shared))
    while pending:
        pool = early or ctx.Pool(
            processes=min(workers, len(pending)),
            initializer=_init,
            initargs=(rb, limits, id_key, then_shared),
        )
        early = None  # after a timeout, a new pool
        with pool:
            asyncs = {i: pool.apply_async(_read_one, (*items[i], then, args[i])) for i in pending}
            started = time.monotonic()
            restart_from: list[int] = []
            for n, i in enumerate(pending):
                # Files run at most `workers` at a time, so allow each its turn plus its own budget.
                budget = (
                    None if timeout is None else timeout * (1 + n // workers) - (time.monotonic() - started)
                )
                try:
                    results[i] = asyncs[i].get(timeout=None if budget is None else max(budget, 1.0))
                except mp.TimeoutError:
                    path, key = items[i]
                    log.error("reading %s exceeded %.0f s; rejected as a timeout", path.name, timeout)
                    results[i] = _timeout_result(path, key, timeout or 0)
                    # The stuck worker cannot be interrupted: drop the pool and go on with a new one.
                    restart_from = [j for j in pending[n + 1 :] if not asyncs[j].ready()]
                    for j in pending[n + 1 :]:
                        if asyncs[j].ready():
                            results[j] = _collect(asyncs[j], items[j])
                    pool.terminate()
                    break
                except Exception as exc:  # a worker crash is that file's problem only
                    path, key = items[i]
                    log.error("reading %s failed in a worker: %s", path.name, exc)
                    pw = file_error(key, "unreadable", f"{type(exc).__name__}: {exc}"[:300])
                    pw.path = path
                    results[i] = pw
            pending = restart_from
    return [r for r in results if r is not None]


def _collect(async_result: mp.pool.AsyncResult, item: tuple[Path, str]) -> ParsedWorkbook:
    try:
        return async_result.get(timeout=0)
    except Exception as exc:
        pw = file_error(item[1], "unreadable", f"{type(exc).__name__}: {exc}"[:300])
        pw.path = item[0]
        return pw


def _timeout_result(path: Path, key: str, timeout: float) -> ParsedWorkbook:
    pw = file_error(key, "timeout", f"reading took longer than {timeout:.0f} s")
    pw.path = path
    return pw
