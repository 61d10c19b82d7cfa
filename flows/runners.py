"""Where the pipeline's per-county work runs: one process (default) or a Dask cluster.

In: the settings `task_runner` (FIVESTAR_TASK_RUNNER: `local`, `dask`, or a Dask
scheduler address `tcp://host:port` / `tls://host:port` / `dask://host:port`) and
`dask_workers` (FIVESTAR_DASK_WORKERS, for `dask`), read from the environment when a
run starts. Out:
- `ConfiguredTaskRunner`: the task runner `flows.nightly.fivestar_run` carries; each run
  it becomes the configured runner (so the CLI, `fivestar serve` and deployments all
  follow the environment of the process that runs the flow);
- `task_runner_for(settings)`: that runner (Prefect's thread pool, or a `DaskTaskRunner`);
- `in_flow_run()`: whether tasks can be submitted (False under `fivestar_run.fn()`);
- `distributing()`: whether the current flow run sends per-county work to Dask workers;
- `api_for_workers()`: the Prefect API address the workers report their task runs to.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from fivestar.settings import Settings, load_settings

LOCAL = "local"
DASK = "dask"
SCHEDULER_SCHEMES = ("tcp://", "tls://", "dask://")


def local_cluster_kwargs(workers: int) -> dict[str, Any]:
    """`distributed.LocalCluster` options for `dask`: worker processes on this machine, loopback only."""
    return {
        "n_workers": workers,
        "threads_per_worker": 1,  # feedback writing is CPU-bound Python: processes, not threads
        "processes": True,
        "host": "127.0.0.1",
        # The scheduler's HTTP endpoint cannot be switched off; a free loopback port
        # keeps it private and lets several runs share a machine.
        "dashboard_address": "127.0.0.1:0",
    }


def task_runner_for(settings: Settings) -> TaskRunner[Any]:
    """The task runner the settings ask for; raises ValueError for an unknown kind."""
    kind = settings.task_runner.strip()
    if kind.lower() == LOCAL:
        # One thread beside the flow: it writes the counties' feedback files while the
        # flow loads the warehouse (the file work waits on lxml/zlib/disk, the load on
        # PostgreSQL); more threads would only fight over the GIL on two cores.
        return ThreadPoolTaskRunner(max_workers=1)
    # Imported only when asked for: distributed is a large import a local run does not need.
    from prefect_dask import DaskTaskRunner

    if kind.lower() == DASK:
        if settings.dask_workers < 1:
            raise ValueError(f"FIVESTAR_DASK_WORKERS must be at least 1, not {settings.dask_workers}")
        return DaskTaskRunner(
            cluster_class="distributed.LocalCluster",
            cluster_kwargs=local_cluster_kwargs(settings.dask_workers),
        )
    if kind.lower().startswith(SCHEDULER_SCHEMES):
        address = "tcp://" + kind[len("dask://") :] if kind.lower().startswith("dask://") else kind
        return DaskTaskRunner(address=address)
    raise ValueError(
        f"FIVESTAR_TASK_RUNNER={kind!r}: use 'local', 'dask' or a Dask scheduler address (tcp://host:port)"
    )


class ConfiguredTaskRunner(TaskRunner[Any]):
    """Stands for the runner FIVESTAR_TASK_RUNNER names, chosen when each flow run starts.

    Prefect starts a flow run with `flow.task_runner.duplicate()`; this returns the
    configured runner, so the environment is read per run like every other setting
    rather than once at import. It never runs tasks itself.
    """

    def duplicate(self) -> TaskRunner[Any]:  # type: ignore[override]  # another runner type, by design
        return task_runner_for(load_settings())

    def submit(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover - Prefect never calls it
        raise RuntimeError("ConfiguredTaskRunner only chooses the runner; it does not run tasks")


def distributes(runner: TaskRunner[Any] | None) -> bool:
    """Whether `runner` sends submitted tasks to Dask workers."""
    # A DaskTaskRunner can only exist once prefect_dask is imported: no import for local runs.
    module = sys.modules.get("prefect_dask.task_runners")
    return module is not None and isinstance(runner, module.DaskTaskRunner)


def in_flow_run() -> bool:
    """Whether a flow run is in progress (tasks can be submitted to its runner)."""
    from prefect.context import FlowRunContext

    return FlowRunContext.get() is not None


def distributing() -> bool:
    """Whether the flow run in progress sends per-county work to Dask workers (False outside a run)."""
    from prefect.context import FlowRunContext

    ctx = FlowRunContext.get()
    return ctx is not None and distributes(ctx.task_runner)


@contextmanager
def api_for_workers() -> Iterator[None]:
    """Around task submissions to Dask: tell the workers which Prefect API to report to.

    Workers take Prefect's settings from the submitting flow run. Without PREFECT_API_URL
    the flow uses a temporary server on loopback, and each worker would start a
    temporary server of its own (slow, and the task runs land beside the flow run, not
    in it); so its address is passed on. Workers on other machines cannot reach it:
    set PREFECT_API_URL to a real Prefect server there.
    """
    from prefect.context import FlowRunContext
    from prefect.settings import PREFECT_API_URL, temporary_settings

    ctx = FlowRunContext.get()
    url = str(ctx.client.api_url) if ctx is not None else ""
    if PREFECT_API_URL.value() or not url.startswith(("http://", "https://")):
        yield
        return
    with temporary_settings(updates={PREFECT_API_URL: url.rstrip("/")}):
        yield
