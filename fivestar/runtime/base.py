"""The executor interface and its inline implementation.

In: picklable functions and their arguments. Out: their results, now (`map`) or as
futures (`submit`, `submit_each`). An executor is used by one run at a time and closed
at its end (`with executor_for(settings) as ex: ...`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def done(value: T) -> Future[T]:
    """A future that already holds `value`."""
    f: Future[T] = Future()
    f.set_result(value)
    return f


def _failed(exc: BaseException) -> Future[Any]:
    f: Future[Any] = Future()
    f.set_exception(exc)
    return f


class Executor:
    """Inline by default: every call runs here, now. Subclasses run work elsewhere."""

    name = "inline"
    #: whether `submit` runs beside the caller (then handing it work ahead pays)
    overlaps = False

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop every process and thread this executor started."""

    def prepare(self, modules: Sequence[str] = ()) -> None:
        """Start what the run will need early (imports of `modules` where work will run)."""

    def warm_here(self, fn: Callable[[], Any]) -> None:
        """Call `fn` (a slow, idempotent start-up such as an import) in this process, in
        the background where the executor can; inline: nothing (the work calls it itself)."""

    def start_files(self, setup: tuple[Any, ...], reader_setup: Callable[..., Any]) -> None:
        """Start the file workers now (their start-up overlaps the caller's work)."""

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
        """fn(state, item) for every item, each under `timeout_s`, in input order, where
        `state = reader_setup(*setup)` is made once per worker. An item that failed, whose
        worker died or ran out of time gives on_failure(item, kind, English detail)
        instead; the others go on. (Inline: no time limit, no process to die.)"""
        state = reader_setup(*setup)
        out: list[R] = []
        for item in items:
            try:
                out.append(fn(state, item))
            except Exception as exc:
                out.append(on_failure(item, "error", f"{type(exc).__name__}: {exc}"[:300]))
        return out

    def submit(self, fn: Callable[..., R], *args: Any) -> Future[R]:
        """fn(*args) beside the caller (inline: now)."""
        try:
            return done(fn(*args))
        except Exception as exc:
            return _failed(exc)

    def submit_each(self, fn: Callable[[list[Any]], list[R]], jobs: list[Any]) -> list[Future[list[R]]]:
        """fn over the jobs, as widely as the executor spreads work (a future per group)."""
        return [self.submit(fn, jobs)]


class InlineExecutor(Executor):
    """Everything in this process, in order."""
