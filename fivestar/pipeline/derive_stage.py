"""The derive stage: every queued (county, year) recomputed, on this process and, where
the executor runs work beside it, on its helper too.

In: the run context, the executor and the run id; during the last period's loads, the
counties loaded so far (`DeriveAhead.add`). Out: the (county_code, year) pairs derived
this run. On PostgreSQL with a LocalExecutor the helper derives each loaded chunk
while later chunks load (it is idle once the feedback files are written: it runs its
work in the order handed, feedback first), and in the final pass this process and the
helper share the batches. SQLite has one writer: everything runs here.
Only counties whose loads are over for the run may be handed ahead: a later load of the
same county could otherwise be dropped from derive_queue by a derivation that did not
see it.
"""

from __future__ import annotations

import logging
from collections import deque
from concurrent.futures import Future

from fivestar.context import RunContext
from fivestar.derive import (
    BATCH_COUNTIES,
    DeriveBatch,
    derive_batch,
    derive_batch_at,
    derive_counties_at,
    derive_pending,
    plan_batches,
)
from fivestar.runtime import Executor

log = logging.getLogger("fivestar.pipeline")


def shares_derivation(ctx: RunContext, executor: Executor) -> bool:
    return executor.overlaps and ctx.engine.dialect.name == "postgresql"


class DeriveAhead:
    """Counties handed to the executor for derivation as their loads finish."""

    def __init__(self, ctx: RunContext, executor: Executor, run_id: str) -> None:
        self.ctx, self.executor, self.run_id = ctx, executor, run_id
        self.url = ctx.engine.url.render_as_string(hide_password=False)
        self.handed: list[tuple[list[str], Future[list[tuple[str, int]]]]] = []

    def add(self, counties: list[str]) -> None:
        """Hand these counties out in batches: at `stop` the final pass waits for at most
        the batches already started."""
        for i in range(0, len(counties), BATCH_COUNTIES):
            part = counties[i : i + BATCH_COUNTIES]
            self.handed.append(
                (
                    part,
                    self.executor.submit(derive_counties_at, self.url, self.ctx.rulebook, part, self.run_id),
                )
            )

    def stop(self) -> set[str]:
        """Take back what has not started; the counties of what has (still the helper's)."""
        busy: set[str] = set()
        for counties, future in self.handed:
            if not future.cancel():
                busy.update(counties)
        return busy

    def collect(self) -> tuple[list[tuple[str, int]], bool]:
        """The pairs derived ahead, and whether any batch failed (its work stays queued)."""
        pairs: list[tuple[str, int]] = []
        failed = False
        for counties, future in self.handed:
            if future.cancelled():
                continue
            try:
                pairs += future.result()
            except Exception as exc:  # the final pass derives them instead
                log.warning("deriving counties %s ahead failed (%s); left to the final pass", counties, exc)
                failed = True
        return pairs, failed


def _share(
    ctx: RunContext, executor: Executor, run_id: str, batches: list[DeriveBatch]
) -> list[tuple[str, int]]:
    """This process and the helper take batches from one queue until it is empty. Each
    batch is its own transaction over its own counties: who computes which changes nothing."""
    url = ctx.engine.url.render_as_string(hide_password=False)
    todo = deque(batches)
    pairs: list[tuple[str, int]] = []
    helper: Future[list[tuple[str, int]]] | None = None
    try:
        while todo:
            if helper is None or helper.done():
                if helper is not None:
                    pairs += helper.result()
                helper = executor.submit(derive_batch_at, url, ctx.rulebook, todo.popleft(), run_id)
                continue
            pairs += derive_batch(ctx.engine, ctx.rulebook, todo.popleft(), run_id)
    finally:
        if helper is not None:
            pairs += helper.result()
    return pairs


def derive_all(
    ctx: RunContext, executor: Executor, run_id: str, ahead: DeriveAhead | None = None
) -> list[tuple[str, int]]:
    """Everything still queued (sharing the work with the helper where that pays); the
    pairs derived this run, ahead included."""
    busy = ahead.stop() if ahead else set()
    batches = plan_batches(ctx.engine, ctx.rulebook, skip=busy)
    if shares_derivation(ctx, executor) and len(batches) > 1:
        pairs = _share(ctx, executor, run_id, batches)
    else:
        pairs = [p for b in batches for p in derive_batch(ctx.engine, ctx.rulebook, b, run_id)]
    if ahead is not None:
        done, failed = ahead.collect()
        pairs += done
        if failed:  # whatever a failed batch left queued
            pairs += derive_pending(ctx.engine, ctx.rulebook, run_id)
    return sorted(set(pairs))
