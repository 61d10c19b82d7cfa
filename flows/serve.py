"""Deployments of the pipeline flow: the nightly schedule and on-demand reruns.

In: a cron expression (default `FIVESTAR_SCHEDULE_CRON`, else "0 2 * * *"), read in
Asia/Shanghai time, and deployment names. Out: two Prefect deployments of
`flows.nightly.fivestar_run`, both limited to one concurrent run:
- `nightly`: scheduled, processes every new or changed submission;
- `rerun`: no schedule, started on demand after a correction, e.g.
  `prefect deployment run 'fivestar-run/rerun' -p county=410522 -p period=2026-11 -p force=true`.
Both take `now` (Asia/Shanghai `YYYY-MM-DDTHH:MM[:SS]`) to set a run's clock. Beside them
`close` and `reopen` (flows/closing.py: `fivestar close` / `fivestar reopen`).
`serve_nightly` registers all four with the Prefect API and serves them from this process
(`fivestar serve`); prefect.yaml at the repository root is the work-pool/worker route.
Nothing here decides anything about the data: the flow does the work.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fivestar.settings import schedule_cron
from flows.nightly import fivestar_run

if TYPE_CHECKING:
    from prefect.deployments.runner import RunnerDeployment

DEFAULT_CRON = "0 2 * * *"
TIMEZONE = "Asia/Shanghai"
DEFAULT_PARAMETERS: dict[str, Any] = {"period": None, "county": None, "force": False}


def default_cron() -> str:
    """The nightly cron: FIVESTAR_SCHEDULE_CRON when set, else 02:00 every day."""
    return schedule_cron(DEFAULT_CRON)


def nightly_deployment(cron: str | None = None, name: str = "nightly") -> RunnerDeployment:
    """The scheduled deployment: every new or changed submission, one run at a time."""
    from prefect.deployments.runner import EntrypointType
    from prefect.schedules import Cron

    cron = cron or default_cron()
    return fivestar_run.to_deployment(
        name=name,
        # The installed module, not a file path: serving works from any working directory.
        entrypoint_type=EntrypointType.MODULE_PATH,
        schedules=[Cron(cron, timezone=TIMEZONE)],
        concurrency_limit=1,
        parameters=dict(DEFAULT_PARAMETERS),
        description=(
            f"Nightly fivestar run ({cron}, {TIMEZONE}): validate, load and rate every new or "
            "changed county submission under FIVESTAR_RAW_DIR."
        ),
        tags=["fivestar", "nightly"],
    )


def rerun_deployment(name: str = "rerun") -> RunnerDeployment:
    """The on-demand deployment: parameters period / county / force chosen per run."""
    from prefect.deployments.runner import EntrypointType

    return fivestar_run.to_deployment(
        name=name,
        entrypoint_type=EntrypointType.MODULE_PATH,
        concurrency_limit=1,
        parameters=dict(DEFAULT_PARAMETERS),
        description=(
            "On-demand fivestar run, e.g. after a correction: "
            "-p county=410522 -p period=2026-11 -p force=true reprocesses that county-month."
        ),
        tags=["fivestar", "rerun"],
    )


def closing_deployments() -> list[RunnerDeployment]:
    """`fivestar-close/close` and `fivestar-reopen/reopen` (flows/closing.py), on demand."""
    from prefect.deployments.runner import EntrypointType

    from flows.closing import fivestar_close, fivestar_reopen

    return [
        fivestar_close.to_deployment(
            name="close",
            entrypoint_type=EntrypointType.MODULE_PATH,
            concurrency_limit=1,
            description="Close a period: -p period=2026-10 [-p reason=…] [-p by=…] (as `fivestar close`).",
            tags=["fivestar", "closing"],
        ),
        fivestar_reopen.to_deployment(
            name="reopen",
            entrypoint_type=EntrypointType.MODULE_PATH,
            concurrency_limit=1,
            description=(
                "Reopen one county-month: -p period=2026-10 -p county=410522 -p reason=… [-p by=…] "
                "(as `fivestar reopen`); the next run takes its waiting files."
            ),
            tags=["fivestar", "closing"],
        ),
    ]


def serve_nightly(cron: str | None = None, name: str = "nightly", rerun_name: str = "rerun") -> None:
    """Register the nightly, rerun, close and reopen deployments and serve them until stopped (Ctrl-C)."""
    from prefect import serve

    serve(nightly_deployment(cron=cron, name=name), rerun_deployment(name=rerun_name), *closing_deployments())
