"""The pipeline: one run of the mission as plain functions over typed stage results.

In: a RunContext, RunParams and an Executor. Out: a RunResult. `run_pipeline` is the
entry point (Prefect's flow wraps it: flows/nightly.py); `results` holds the records
the stages pass on.
"""

from fivestar.pipeline.results import Outcome, RunResult
from fivestar.pipeline.run import run_pipeline

__all__ = ["Outcome", "RunResult", "run_pipeline"]
