"""The Prefect flow `fivestar-run`: the pipeline (fivestar.pipeline) as a flow run.

In: parameters period / county / force / now, as `fivestar run`, the nightly schedule or
a deployment run after a correction give them (`-p county=410522` arrives as a number;
`now`, Asia/Shanghai `YYYY-MM-DDTHH:MM[:SS]`, sets the run's clock for backfills).
Out: the run's result (run id, per-version summary rows, unrecognised and waiting
files, derived pairs, alert counts) as the data of the final state: `Completed`, or
`Failed` when a county's file could not be processed; the message reads "N accepted,
M rejected, K failed alerts". Artifacts, state and task-run names: flows/artifacts.py.
Each stage of the pipeline is a task run named after the counties it covered; where
the work runs is the executor FIVESTAR_TASK_RUNNER names.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from prefect.states import State

from fivestar.context import open_context
from fivestar.pipeline import run_pipeline
from fivestar.run_params import parse_run_params
from fivestar.runtime import executor_for
from flows.artifacts import final_state, publish_artifacts, task_run_name

T = TypeVar("T")
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
    return stage_task(name, fn).with_options(task_run_name=task_run_name(name, args))(*args, **kwargs)


@flow(name="fivestar-run", log_prints=False, validate_parameters=True)
def fivestar_run(
    period: str | int | None = None,
    county: str | int | None = None,
    force: bool = False,
    now: str | None = None,
) -> dict[str, Any] | State:
    params = parse_run_params(period, county, force, now)
    ctx = open_context(params=params)
    with executor_for(ctx.settings) as executor:
        result = run_pipeline(ctx, params, executor, stage=prefect_stage, now=params.clock())
    if FlowRunContext.get() is None:  # called as a plain function (`fivestar_run.fn`): plain data
        return result.as_dict()
    names = {c: ctx.registry.county_name(c) or c for c in {o.county_code for o in result.outcomes}}
    publish_artifacts(result, names)
    return final_state(result)
