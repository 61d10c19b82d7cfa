"""The executor the settings ask for (FIVESTAR_TASK_RUNNER, FIVESTAR_DASK_WORKERS).

In: Settings. Out: an Executor: `local` (default) the two-core LocalExecutor, `inline`
everything in order in this process, `dask` a temporary local Dask cluster, an address
`tcp://host:port` / `tls://…` / `dask://…` that scheduler's workers.
"""

from __future__ import annotations

from fivestar.config import ConfigError
from fivestar.runtime.base import Executor, InlineExecutor
from fivestar.settings import Settings

SCHEDULER_SCHEMES = ("tcp://", "tls://", "dask://")


def executor_for(settings: Settings) -> Executor:
    kind = settings.task_runner.strip()
    low = kind.lower()
    if low == "local":
        from fivestar.runtime.local import LocalExecutor

        return LocalExecutor()
    if low == "inline":
        return InlineExecutor()
    if low == "dask" or low.startswith(SCHEDULER_SCHEMES):
        from fivestar.runtime.dask import DaskExecutor

        if low == "dask":
            if settings.dask_workers < 1:
                raise ConfigError(f"FIVESTAR_DASK_WORKERS must be at least 1, not {settings.dask_workers}")
            return DaskExecutor(workers=settings.dask_workers)
        return DaskExecutor(address="tcp://" + kind[len("dask://") :] if low.startswith("dask://") else kind)
    raise ConfigError(
        f"FIVESTAR_TASK_RUNNER={kind!r}: use 'local', 'inline', 'dask' or a Dask scheduler address (tcp://host:port)"
    )
