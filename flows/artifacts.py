"""What the flow run shows in Prefect: its artifacts, its final state, its task-run names.

In: the run's `RunResult` and the county names; a stage's arguments. Out: the markdown
artifact `fivestar-run` (Chinese) and a table artifact `fivestar-<period>` per period;
the final state (`Completed`, or `Failed` when a county could not be processed, so
automations can notify) whose message reads "N accepted, M rejected, K failed alerts"
and whose data is the run's result; task-run names that list the counties a stage covered.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from prefect.states import Completed, Failed, State

from fivestar.pipeline import RunResult
from fivestar.pipeline.report_text import period_rows, run_markdown, state_message

log = logging.getLogger("fivestar.flow")
MAX_NAMED = 5  # counties named in a task-run name; the rest are counted


def publish_artifacts(result: RunResult, names: Mapping[str, str]) -> None:
    try:
        from prefect.artifacts import create_markdown_artifact, create_table_artifact

        create_markdown_artifact(
            run_markdown(result, names), key="fivestar-run", description=f"run {result.run_id}"
        )
        for period, rows in period_rows(result, names).items():
            create_table_artifact(
                rows, key=f"fivestar-{period}", description=f"{period} · run {result.run_id}"
            )
    except Exception as exc:  # an artifact is a convenience; never fail the run for it
        log.warning("could not publish the run artifacts: %s", exc)


def final_state(result: RunResult) -> State:
    """Failed when any county's file could not be processed (rejected files are not failures)."""
    state = Failed if result.failures() else Completed
    return state(message=state_message(result), data=result.as_dict())


def _county(item: Any) -> str | None:
    for obj in (item, getattr(item, "version", None)):
        code = getattr(obj, "county_code", None)
        if isinstance(code, str):
            return code
    return item if isinstance(item, str) and len(item) == 6 and item.isdigit() else None


def task_run_name(name: str, args: tuple[Any, ...]) -> str:
    """`load 410522 410523 +18` for a stage over counties; the stage name otherwise."""
    codes: list[str] = []
    for arg in args:
        if isinstance(arg, list):
            codes += [c for c in map(_county, arg) if c and c not in codes]
    if not codes:
        return name
    shown = " ".join(codes[:MAX_NAMED])
    return f"{name} {shown}" + (f" +{len(codes) - MAX_NAMED}" if len(codes) > MAX_NAMED else "")
