"""Prefect tasks around validation: priors from the warehouse, then one bulk validation per period."""

from __future__ import annotations

import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy.engine import Engine

from fivestar.config import Registry, Rulebook
from fivestar.validate import gx_runner
from fivestar.validate.engine import validate_period
from fivestar.validate.inputs import Prior, Submission
from fivestar.validate.priors import load_priors


@task(name="load-priors", cache_policy=NO_CACHE)
def priors_task(engine: Engine, county_codes: list[str], period: str) -> dict[str, Prior]:
    return load_priors(engine, county_codes, period)


@task(name="validate-period", cache_policy=NO_CACHE)
def validate_task(
    subs: list[Submission], rb: Rulebook, registry: Registry, priors: dict[str, Prior]
) -> dict[str, pd.DataFrame]:
    return validate_period(subs, rb, registry, priors)


def warm_up_validation() -> None:
    """Start importing Great Expectations in the background (a plain call, not a task)."""
    gx_runner.warm_up()
