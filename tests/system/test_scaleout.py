"""Scale-out: the pipeline with its per-county work on Dask workers gives the same results.

In: the bundled quickstart sample (config/ and data/raw/ of the repository: 3 counties ×
2 months, one submission rejected, some with warnings), two fresh SQLite warehouses and
processed folders, and a two-worker `distributed.LocalCluster` (worker processes,
loopback only, the options FIVESTAR_TASK_RUNNER=dask uses) started by the test.
Out: checks that
- FIVESTAR_TASK_RUNNER / FIVESTAR_DASK_WORKERS choose the executor when a run starts:
  `local` (also without the setting) the two-core executor, `dask` a local cluster on
  loopback, an address connects to that scheduler, anything else is a config error;
- one run with `local` and one with the cluster's address produce identical rpt_* views
  (ordered dumps, run id and processing time left out), identical per-version statuses,
  error / warning counts and star levels, and the same feedback files and pages;
- the Dask run's feedback jobs ran on the cluster's workers (the scheduler's task
  stream records them, one per submission), as plain Dask tasks (no worker starts a
  Prefect server of its own).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine

import flows  # noqa: F401  (Prefect and Dask defaults: no telemetry, quiet logs)
from fivestar.settings import load_settings
from fivestar.warehouse.views import view_contracts

ROOT = Path(__file__).resolve().parents[2]
VIEWS = tuple(view_contracts())
VOLATILE = ("processed_at", "run_id", "as_of")  # differ between two runs over the same files, by design
SUBMISSIONS = 6  # data/raw: 3 counties × 2 months


# ----------------------------------------------------------------------------- choosing the runner
def test_the_setting_chooses_the_executor(monkeypatch: pytest.MonkeyPatch) -> None:
    from fivestar.config import ConfigError
    from fivestar.runtime import executor_for
    from fivestar.runtime.dask import DaskExecutor, local_cluster_kwargs
    from fivestar.runtime.local import LocalExecutor

    def chosen(**env: str) -> Any:
        for k in ("FIVESTAR_TASK_RUNNER", "FIVESTAR_DASK_WORKERS"):
            monkeypatch.delenv(k, raising=False)
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        return executor_for(load_settings())

    for ex in (chosen(), chosen(FIVESTAR_TASK_RUNNER="local")):
        assert type(ex) is LocalExecutor
        ex.close()
    assert local_cluster_kwargs(2) == {
        "n_workers": 2,
        "threads_per_worker": 1,
        "processes": True,
        "host": "127.0.0.1",
        "dashboard_address": "127.0.0.1:0",
    }
    with chosen(FIVESTAR_TASK_RUNNER=" Dask ", FIVESTAR_DASK_WORKERS="1") as dask:  # case and spaces forgiven
        assert isinstance(dask, DaskExecutor) and dask._cluster is not None  # noqa: SLF001
        assert len(dask._cluster.workers) == 1  # noqa: SLF001
    for bad in ("threads", "dask:10.0.0.5:8786"):
        with pytest.raises(ConfigError, match="FIVESTAR_TASK_RUNNER"):
            chosen(FIVESTAR_TASK_RUNNER=bad)
    with pytest.raises(ConfigError, match="FIVESTAR_DASK_WORKERS"):
        chosen(FIVESTAR_TASK_RUNNER="dask", FIVESTAR_DASK_WORKERS="0")
    assert load_settings().task_runner == "dask" and load_settings().dask_workers == 0


# ----------------------------------------------------------------------------- one run each way
@pytest.fixture
def cluster() -> Iterator[Any]:
    """A two-worker LocalCluster on loopback (as FIVESTAR_TASK_RUNNER=dask starts) and a client to watch it."""
    from distributed import Client, LocalCluster

    from fivestar.runtime.dask import local_cluster_kwargs

    with (
        LocalCluster(**local_cluster_kwargs(2)) as lc,
        Client(lc, set_as_default=False) as client,  # not the default: the runner must connect by address
    ):
        client.wait_for_workers(2, timeout=120)
        yield client


def _run(monkeypatch: pytest.MonkeyPatch, out: Path, task_runner: str) -> dict[str, Any]:
    """One pipeline run of the sample into `out` (its own warehouse and processed folder)."""
    from flows.nightly import fivestar_run

    monkeypatch.setenv("FIVESTAR_RAW_DIR", str(ROOT / "data" / "raw"))
    monkeypatch.setenv("FIVESTAR_CONFIG_DIR", str(ROOT / "config"))
    monkeypatch.setenv("FIVESTAR_PROCESSED_DIR", str(out / "processed"))
    monkeypatch.setenv("FIVESTAR_WAREHOUSE_URL", f"sqlite:///{out / 'warehouse.db'}")
    monkeypatch.setenv("FIVESTAR_TASK_RUNNER", task_runner)
    # The flow itself (not .fn): the executor is chosen as the run starts.
    return fivestar_run()


def _dump(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every rpt_* view without the volatile columns, ordered by all remaining columns."""
    engine = create_engine(url)
    out = {}
    try:
        with engine.connect() as conn:
            for view in VIEWS:
                names = list(conn.exec_driver_sql(f"SELECT * FROM {view} WHERE 1 = 0").keys())
                cols = [c for c in names if c not in VOLATILE]
                order = ", ".join(str(i) for i in range(1, len(cols) + 1))
                rows = conn.exec_driver_sql(f"SELECT {', '.join(cols)} FROM {view} ORDER BY {order}").all()
                out[view] = [tuple(cols), *(tuple(r) for r in rows)]
    finally:
        engine.dispose()
    return out


def _summary(result: dict[str, Any], out: Path) -> list[dict[str, Any]]:
    """The run's per-version summary rows; feedback paths relative to the run's processed folder."""

    def plain(k: str, v: Any) -> Any:
        if isinstance(v, float) and math.isnan(v):
            return None
        return str(Path(v).relative_to(out / "processed")) if k == "feedback" and v else v

    return [{k: plain(k, v) for k, v in row.items()} for row in result["summary"]]


def _feedback(out: Path) -> dict[str, str]:
    """Feedback files by relative path: a validation page's text (its generation time left out), else ''."""
    root = out / "processed" / "feedback"
    return {
        str(p.relative_to(root)): re.sub(
            r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}（北京时间）", "（北京时间）", p.read_text()
        )
        if p.suffix == ".html"
        else ""
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_a_dask_run_equals_a_local_run(cluster: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from distributed import get_task_stream

    local = _run(monkeypatch, tmp_path / "local", "local")
    with get_task_stream(client=cluster) as stream:
        dask = _run(monkeypatch, tmp_path / "dask", cluster.scheduler.address)

    # Work ran on the cluster: one feedback task per submission, each on one of its workers.
    workers = set(cluster.scheduler_info()["workers"])
    ran = [t for t in stream.data if str(t["key"]).startswith("write_feedback_many")]
    assert len(ran) == SUBMISSIONS, [t["key"] for t in stream.data]
    assert {t["worker"] for t in ran} <= workers
    assert all(pid != os.getpid() for pid in cluster.run(os.getpid).values())
    # Plain Dask tasks: no worker starts a Prefect server of its own.
    servers = cluster.run(_uvicorn_children)
    assert not any(servers.values()), servers

    # Same results.
    assert _summary(dask, tmp_path / "dask") == _summary(local, tmp_path / "local")
    statuses = {r["status"] for r in local["summary"]}
    assert len(local["summary"]) == SUBMISSIONS and {"accepted", "rejected"} <= statuses
    assert dask["unrecognised"] == local["unrecognised"] and dask["derived"] == local["derived"]
    local_views = _dump(f"sqlite:///{tmp_path / 'local' / 'warehouse.db'}")
    assert _dump(f"sqlite:///{tmp_path / 'dask' / 'warehouse.db'}") == local_views
    # rpt_period_event holds rows only once a period was closed (fivestar close).
    assert all(len(local_views[v]) > 1 for v in VIEWS if v != "rpt_period_event"), (
        "a view is unexpectedly empty"
    )
    local_feedback = _feedback(tmp_path / "local")
    assert len(local_feedback) == 2 * SUBMISSIONS  # workbook + page per submission
    assert _feedback(tmp_path / "dask") == local_feedback


def _uvicorn_children() -> list[str]:
    """Runs on each worker: command lines of its child processes that serve Prefect (uvicorn)."""
    import psutil

    out = []
    for child in psutil.Process().children(recursive=True):
        try:
            cmd = " ".join(child.cmdline())
        except psutil.Error:
            continue
        if "uvicorn" in cmd:
            out.append(cmd)
    return out
