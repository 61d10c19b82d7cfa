"""The Prefect flow `fivestar-run`: the pipeline (fivestar.pipeline) as a flow run.

In: parameters period / county / force, as `fivestar run`, the nightly schedule or a
deployment run after a correction give them (`-p county=410522` arrives as a number).
Out: the run's result (run id, per-version summary rows, unrecognised and waiting
files, derived pairs, alert counts) and a markdown artifact. Each stage of the pipeline
is a task run; where the work runs is the executor FIVESTAR_TASK_RUNNER names.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext

from fivestar.context import open_context
from fivestar.pipeline import RunResult, run_pipeline
from fivestar.run_params import parse_run_params
from fivestar.runtime import executor_for

T = TypeVar("T")
log = logging.getLogger("fivestar.flow")
RETRIES = {"derive": 2}  # derivation is idempotent: a lost connection is retried whole
RETRY_DELAY_S = 2


@functools.cache
def stage_task(name: str, fn: Callable[..., Any]) -> Any:
    """The Prefect task of a stage (made once per stage and function)."""
    retries = RETRIES.get(name, 0)
    return task(fn, name=name, cache_policy=NO_CACHE, retries=retries, retry_delay_seconds=RETRY_DELAY_S)


def prefect_stage(name: str, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """A pipeline stage as a task run of the current flow run (a plain call outside one)."""
    if FlowRunContext.get() is None:
        return fn(*args, **kwargs)
    return stage_task(name, fn)(*args, **kwargs)


@flow(name="fivestar-run", log_prints=False, validate_parameters=True)
def fivestar_run(
    period: str | int | None = None, county: str | int | None = None, force: bool = False
) -> dict[str, Any]:
    params = parse_run_params(period, county, force)
    ctx = open_context(params=params)
    with executor_for(ctx.settings) as executor:
        result = run_pipeline(ctx, params, executor, stage=prefect_stage)
    publish_artifact(result)
    return result.as_dict()


def publish_artifact(result: RunResult) -> None:
    try:
        from prefect.artifacts import create_markdown_artifact

        lines = ["| 县 | 期间 | 版本 | 状态 | 错误 | 提示 |", "|---|---|---|---|---|---|"]
        for r in result.summary.to_dict("records"):
            lines.append(
                f"| {r['county_code']} | {r['period']} | {r['version']} | {r['status']} | {r['errors']} | {r['warnings']} |"
            )
        create_markdown_artifact("\n".join(lines), key="fivestar-run", description=f"run {result.run_id}")
    except Exception as exc:  # an artifact is a convenience; never fail the run for it
        log.warning("could not publish the run artifact: %s", exc)
