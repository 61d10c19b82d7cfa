"""How the pipeline calls its stages: through a `Stage` runner, plain by default.

In: a stage name, a plain function and its arguments. Out: the function's result. The
pipeline names each step of the mission with it; Prefect's flow passes a runner that
makes each call a task run (flows/nightly.py), tests and scripts use `call`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

T = TypeVar("T")
log = logging.getLogger("fivestar.pipeline")


class Stage(Protocol):
    def __call__(self, name: str, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T: ...


def call(name: str, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Run the stage here, now, timing it in the log."""
    t0 = time.perf_counter()
    try:
        return fn(*args, **kwargs)
    finally:
        log.info("%s took %.2f s", name, time.perf_counter() - t0)
