"""Derivation ahead of the final pass, on the helper process while the flow still loads.

In: the warehouse Engine, the Rulebook and the run id; `start(after)` with the futures
of the helper's feedback work; then, as each chunk's loads commit, its county codes
(`add`). Out: those counties derived on the helper process (fivestar.helper), a batch
at a time, once the feedback files are written; `stop` names the counties being derived
at that moment, so that the final pass (`derive_all`) leaves them to the helper, then
waits for them.

Why: the loads are bound by this process, and the helper is idle once the feedback
files are written. Deriving a county reads only the warehouse, so nothing large
crosses between the processes. Only counties whose loads are over for the run may be
added: a later load of the same county could otherwise be dropped from derive_queue
by a derivation that did not see it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from concurrent import futures
from typing import Any

from sqlalchemy.engine import Engine

from fivestar.config import Rulebook
from fivestar.warehouse import derive
from fivestar.warehouse.derive import derive_loaded, derive_pending

log = logging.getLogger(__name__)


class DeriveAhead:
    """Counties handed to the helper for derivation, batch after batch in the order added."""

    def __init__(self, engine: Engine, rb: Rulebook, run_id: str) -> None:
        self.url = engine.url.render_as_string(hide_password=False)
        self.rb, self.run_id = rb, run_id
        self._cv = threading.Condition()
        self._todo: list[list[str]] = []
        self._running: list[str] = []
        self._stopped = False
        self._derived: list[tuple[str, int]] = []
        self._thread: threading.Thread | None = None

    def start(self, after: Iterable[Any] = ()) -> None:
        """Begin once every future in `after` is done: the helper's feedback work goes first."""
        waits = list(after)
        self._thread = threading.Thread(target=self._run, args=(waits,), name="derive-ahead", daemon=True)
        self._thread.start()

    def add(self, counties: list[str]) -> None:
        """Queue these counties, in batches of derive.BATCH_COUNTIES: at `stop` the final
        pass waits for at most one batch."""
        size = derive.BATCH_COUNTIES
        with self._cv:
            if counties and not self._stopped:
                self._todo += [list(counties[i : i + size]) for i in range(0, len(counties), size)]
                self._cv.notify_all()

    def _run(self, waits: list[Any]) -> None:
        from fivestar import helper

        for f in waits:  # a failed feedback task is the flow's business, not ours
            futures.wait([f]) if isinstance(f, futures.Future) else f.wait()  # Prefect's futures
        while True:
            with self._cv:
                while not self._todo and not self._stopped:
                    self._cv.wait()
                if self._stopped:
                    return
                counties = self._running = self._todo.pop(0)
            try:
                self._derived += helper.submit(
                    derive_loaded, self.url, self.rb, counties, self.run_id
                ).result()
            except Exception as exc:  # the final pass derives them instead
                log.warning("deriving counties %s ahead failed (%s); left to the final pass", counties, exc)
            finally:
                with self._cv:
                    self._running = []

    def stop(self) -> set[str]:
        """No new batches; the counties of the one being derived now (if any)."""
        with self._cv:
            self._stopped = True
            self._cv.notify_all()
            return set(self._running)

    def collect(self) -> list[tuple[str, int]]:
        """Wait for the batch being derived; the pairs derived ahead."""
        if self._thread is not None:
            self._thread.join()
        return list(self._derived)


def derive_all(
    engine: Engine, rb: Rulebook, run_id: str | None, ahead: DeriveAhead | None = None
) -> list[tuple[str, int]]:
    """Everything still queued, sharing the work with the helper; the pairs derived this run."""
    busy = ahead.stop() if ahead else set()
    touched = derive_pending(engine, rb, run_id, skip=busy)
    if ahead:
        touched += ahead.collect()
        if busy:  # whatever a failed ahead batch left queued
            touched += derive_pending(engine, rb, run_id)
    return sorted(set(touched))
