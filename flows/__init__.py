"""Prefect flows: sequence the tasks, pass parameters, hold schedules.

Importing this package sets Prefect (and Dask) defaults for these machines (no internet,
no telemetry, a patient temporary server, quiet logs) before either is imported.
"""

import logging
import os

_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_LOGGING_TO_API_ENABLED": "false",
    # A busy 2-core machine can take longer than Prefect's default 20 s to start its temporary server.
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    # The temporary server logs a harmless CancelledError traceback when it stops
    # (PrefectHQ/prefect #15033); keep IT staff's terminal to what matters.
    "PREFECT_SERVER_LOGGING_LEVEL": "CRITICAL",
    # With FIVESTAR_TASK_RUNNER=dask, Dask's scheduler and workers log every start and stop
    # at INFO; warnings and errors are what an operator needs (workers inherit this too).
    "DASK_LOGGING__DISTRIBUTED": "warning",
}
for _k, _v in _DEFAULTS.items():
    os.environ.setdefault(_k, _v)

# GX announces "Created temporary directory … for ephemeral docs site" at INFO on every run,
# and sets that logger's level to INFO when imported (so a level set here would not hold):
# a filter on the logger drops just that line, whatever the logging setup.
logging.getLogger("great_expectations.data_context.types.base").addFilter(
    lambda record: "ephemeral docs site" not in str(record.msg)
)
