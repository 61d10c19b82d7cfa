"""Where the pipeline's work runs: the one place that knows about processes and threads.

In: the settings `task_runner` (FIVESTAR_TASK_RUNNER: `local`, `inline`, `dask`, or a
Dask scheduler address) and `dask_workers`. Out: an `Executor`, which the pipeline
(fivestar.pipeline) hands its work to; stage code (ingest, validate, feedback,
warehouse, derive) never sees it. Three kinds:
- `InlineExecutor`: everything in this process, in order (tests, debugging);
- `LocalExecutor`: the two cores of one machine: reader processes for the files and one
  helper process beside the caller for feedback files and derivation ahead;
- `DaskExecutor`: feedback files on a Dask cluster's workers, the rest as local.
"""

from __future__ import annotations

from fivestar.runtime.base import Executor, InlineExecutor, done
from fivestar.runtime.choose import executor_for

__all__ = ["Executor", "InlineExecutor", "done", "executor_for"]
