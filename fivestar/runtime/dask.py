"""Feedback files on a Dask cluster; everything else as on one machine.

In: `dask` (a temporary `distributed.LocalCluster` of `workers` processes, loopback only)
or the address of a running scheduler (`tcp://host:8786`, `tls://…`, `dask://…`).
Out: an executor whose `submit_each` sends one job per county to the cluster's workers;
reading runs on this machine's lanes, and loads and derivation stay in the caller,
so the warehouse gets the same rows as a local run.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from fivestar.runtime.local import LocalExecutor

R = TypeVar("R")


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


class DaskExecutor(LocalExecutor):
    name = "dask"
    overlaps = False  # derivation stays in the caller: remote workers may not reach the warehouse

    def __init__(self, address: str | None = None, workers: int = 2) -> None:
        super().__init__()
        from distributed import Client, LocalCluster

        self._cluster = None if address else LocalCluster(**local_cluster_kwargs(workers))
        self.client = Client(address or self._cluster)

    def prepare(self, modules: Any = ()) -> None:
        """Nothing to warm up beside the caller: its work runs here."""

    def submit(self, fn: Callable[..., R], *args: Any) -> Future[R]:
        return super(LocalExecutor, self).submit(fn, *args)  # inline, in the caller

    def submit_each(self, fn: Callable[[list[Any]], list[R]], jobs: list[Any]) -> list[Any]:
        # One task per county: the cluster spreads them; pure=False, every run writes anew.
        return [self.client.submit(fn, [job], pure=False) for job in jobs]

    def close(self) -> None:
        super().close()
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()
